#!/bin/bash
# tests/kmod/channel_vserial_test.sh - the VM rig's own channel checks
# (tests/vm/channel_test.sh, written against stock virtio_console: names,
# links, echo, EBUSY, POLLHUP, hvc0) with our vserial.ko instead.
exec bash "$(dirname "$0")/with_vserial.sh" "$(dirname "$0")/../vm/channel_test.sh"
