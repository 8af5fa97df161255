#!/bin/bash
# tests/vm/agent_ours_test.sh - agent_stock_test.sh against our vserial-fenced.
VM_DAEMON=ours exec bash "$(dirname "$0")/agent_stock_test.sh"
