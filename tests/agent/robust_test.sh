#!/bin/sh
# robust_test.sh - fence_vserial when the port misbehaves, end to end with
# the real binary: a host side that is not there yet, one that hangs up,
# one that never answers, a tty held by another opener (fence_virt's fcntl
# lock), and stale bytes plus garbage in the port.  The host side is
# tests/agent/fake_host.py (a v1 host, as a stock fence_virtd would be).
set -u
. "${srcdir:-.}/tests/agent/lib.sh"

command -v python3 >/dev/null || skip "python3 missing: install python3"
FAKE="python3 $HERE/fake_host.py"
setup_tmp

# --- host side not connected: wait for it within the timeout --------------
# A socket file nobody listens on, as a host daemon that is not up yet.
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/late.sock"
"$AGENT" -D "$T/late.sock" -R 1 -t 8 -o status -n g >"$T/late.out" 2>"$T/late.err" &
APID=$!
track $APID
wait_for 5 'grep -q "not connected; waiting" "$T/late.err"'
check "agent says the host side is not connected" 'grep -q "not connected; waiting" "$T/late.err"'
$FAKE unix "$T/late.sock" v1 "$T/late.log" &
track $!
wait "$APID"; rc=$?
check "agent waited for the host and got its answer, OFF (exit $rc)" '[ $rc -eq 2 ]'

# A socket whose host is gone for good: the message says not connected.
$FAKE unix "$T/gone.sock" v1 "$T/gone.log" &
GPID=$!
wait_for 5 '[ -S "$T/gone.sock" ]'
kill $GPID; wait $GPID 2>/dev/null
t0=$(now_ms); run_agent "$T/gone" -D "$T/gone.sock" -R 1 -t 1 -o off -n g; t1=$(now_ms)
check "dead host socket: exit 6" '[ $rc -eq 6 ]'
check "dead host socket: says not connected" 'grep -q "not connected" "$T/gone.err"'
check "dead host socket: bounded by the timeout ($((t1 - t0)) ms)" '[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 2000 ]'

# --- host hangs up mid-request: retry with the same request id ------------
$FAKE unix "$T/hup.sock" hup-first "$T/hup.log" &
track $!
wait_for 5 '[ -S "$T/hup.sock" ]'
run_agent "$T/hup" -D "$T/hup.sock" -R 1 -t 5 -o off -n guest2
check "after a hang-up the retry succeeds (exit $rc)" '[ $rc -eq 0 ]'
check "the host saw two requests" '[ "$(grep -c "^op=1 " "$T/hup.log")" -eq 2 ]'
check "both carried the same request id" \
	'[ "$(grep "^op=1 " "$T/hup.log" | sort -u | wc -l)" -eq 1 ]'
check "the agent said the host was not connected" 'grep -q "not connected" "$T/hup.err"'

# --- silence: the timeout bounds the whole call ---------------------------
$FAKE unix "$T/mute.sock" silent "$T/mute.log" &
track $!
wait_for 5 '[ -S "$T/mute.sock" ]'
t0=$(now_ms); run_agent "$T/mute" -D "$T/mute.sock" -R 1 -t 1 -o reboot -n g; t1=$(now_ms)
check "silent host: exit 6" '[ $rc -eq 6 ]'
check "silent host: timed out message" 'grep -q "timed out" "$T/mute.err"'
check "silent host: took about 1 s ($((t1 - t0)) ms)" '[ $((t1 - t0)) -ge 950 ] && [ $((t1 - t0)) -lt 1800 ]'
t0=$(now_ms); run_agent "$T/mute2" -D "$T/mute.sock" -t 1 -k /nonexistent -o status -n g; t1=$(now_ms)
check "silent host, auto protocol: still about 1 s ($((t1 - t0)) ms)" '[ $rc -eq 6 ] && [ $((t1 - t0)) -lt 1800 ]'

# --- a tty held by another opener (fence_virt's lock) ---------------------
$FAKE pty "$T/tty" v1 "$T/tty.log" &
track $!
wait_for 5 '[ -e "$T/tty" ] && grep -qs listening "$T/tty.log"'
$FAKE lock "$T/tty" 1 >"$T/lock.out" &
LPID=$!
track $LPID
wait_for 5 'grep -qs locked "$T/lock.out"'
t0=$(now_ms); run_agent "$T/held" -d -D "$T/tty" -R 1 -t 5 -o status -n g; t1=$(now_ms)
check "held tty: answered after the holder let go (exit $rc)" '[ $rc -eq 2 ]'
check "held tty: waited for it ($((t1 - t0)) ms)" '[ $((t1 - t0)) -ge 500 ]'
check "held tty: busy retries shown with -d" 'grep -Eq "after [1-9][0-9]* busy retries" "$T/held.err"'
wait $LPID 2>/dev/null
$FAKE lock "$T/tty" 5 >"$T/lock2.out" &
LPID=$!
track $LPID
wait_for 5 'grep -qs locked "$T/lock2.out"'
run_agent "$T/held2" -D "$T/tty" -R 1 -t 1 -o status -n g
check "tty held past the timeout: exit 6" '[ $rc -eq 6 ]'
check "... says another process holds it" 'grep -q "held by another process" "$T/held2.err"'
kill $LPID 2>/dev/null; wait $LPID 2>/dev/null

# --- stale reply waiting in the port, garbage before the answer -----------
$FAKE pty "$T/stty" stale "$T/stty.log" &
track $!
wait_for 5 '[ -e "$T/stty" ] && grep -qs listening "$T/stty.log"'
run_agent "$T/stale" -d -D "$T/stty" -R 1 -t 3 -o status -n g
check "stale reply and garbage skipped: the real answer (OFF) (exit $rc)" '[ $rc -eq 2 ]'

finish
