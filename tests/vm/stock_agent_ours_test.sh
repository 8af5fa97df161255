#!/bin/bash
# tests/vm/stock_agent_ours_test.sh - stock_agent_test.sh against our
# vserial-fenced: stock fence_virt over hvc0 and ttyS1 to our daemon.
VM_DAEMON=ours exec bash "$(dirname "$0")/stock_agent_test.sh"
