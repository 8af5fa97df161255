#!/bin/sh
# tcp_ours_test.sh - tcp_test.sh against our vserial-fenced.
AGENT_TEST_DAEMON=ours exec sh "${srcdir:-.}/tests/agent/tcp_test.sh" "$@"
