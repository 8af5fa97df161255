# tests/daemon/fenced.sh - helpers for the daemon's end-to-end tests
# (sourced after tests/interop/lib.sh and vsf_setup).
#
# The same scripts run against a sanitizer build (FENCED=<asan build>/
# fenced-host/vserial-fenced, or make check in an --enable-sanitizers
# build): the daemon runs under stdbuf, whose preload would make ASan
# refuse to start, hence verify_asan_link_order=0; LeakSanitizer reports at
# exit, so every test stops its daemon with fenced_stop, which fails on any
# sanitizer report.
#
#   fenced_stop PID LOG      SIGTERM the daemon, wait for it, and count one
#                            check: exit status 0 and no sanitizer report
#                            in LOG (its stderr)
#   wait_file FILE [SEC]     wait (default 10 s) until FILE exists

export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

wait_file() {
	local i
	for i in $(seq $(( ${2:-10} * 20 ))); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

fenced_stop() {
	local pid=$1 log=$2 rc
	kill -TERM "$pid" 2>/dev/null
	vsf_wait_exit "$pid" 30 || { vsf_fail "daemon did not stop"; return; }
	rc=$VSF_RC
	if grep -qE "Sanitizer|runtime error:" "$log"; then
		vsf_fail "sanitizer report in $(basename "$log") at shutdown"
		grep -E -A12 "ERROR: |runtime error:" "$log" | head -40
	else
		vsf_check "daemon stopped cleanly (exit 0, no sanitizer report)" \
			0 "$rc"
	fi
}
