#!/bin/bash
# tests/kmod/agent_vserial_test.sh - the fence agent's end-to-end scenario
# (tests/vm/agent_ours_test.sh: fence_vserial in the guest, vserial-fenced on
# the host) with our vserial.ko as the guest's virtio-serial driver.
exec bash "$(dirname "$0")/with_vserial.sh" "$(dirname "$0")/../vm/agent_ours_test.sh"
