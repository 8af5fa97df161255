#!/bin/bash
# tests/vm/realvirt_ours_test.sh - realvirt_stock_test.sh with our
# vserial-fenced: real libvirtd, guest A fences guest B over the named port.
VM_DAEMON=ours exec bash "$(dirname "$0")/realvirt_stock_test.sh"
