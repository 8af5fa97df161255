#!/bin/sh
# vmchannel_ours_test.sh - vmchannel_test.sh against our vserial-fenced.
AGENT_TEST_DAEMON=ours exec sh "${srcdir:-.}/tests/agent/vmchannel_test.sh" "$@"
