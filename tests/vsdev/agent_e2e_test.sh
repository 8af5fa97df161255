#!/bin/bash
# tests/vsdev/agent_e2e_test.sh - the fence agent's end-to-end scenario
# (tests/vm/agent_ours_test.sh: fence_vserial in a TCG guest on the named
# port, our vserial-fenced on the host, v1 and v2) with the guest's
# virtio-serial device being OURS (hw-virtio-serial in our QEMU build).
# One boot.  Output and exit status are the scenario's own.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/on-our-qemu.sh" "$here/../vm/agent_ours_test.sh"
