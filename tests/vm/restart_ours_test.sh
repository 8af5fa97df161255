#!/bin/bash
# tests/vm/restart_ours_test.sh - restart_test.sh with our vserial-fenced.
VM_DAEMON=ours exec bash "$(dirname "$0")/restart_test.sh"
