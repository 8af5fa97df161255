#!/bin/sh
# vmchannel_test.sh - fence_vserial against a host daemon's serial listener
# in vmchannel mode, with libvirt's test:/// driver and socat standing in
# for QEMU: socat listens on the domain's <channel> unix socket (the daemon
# connects to it) and relays it to a pty that the agent opens as its port.
#
# AGENT_TEST_DAEMON selects the daemon: "stock" (default: fence_virtd) or
# "ours" (vserial-fenced, once fenced-host/ builds it; skipped until then).
# The test driver keeps its state per connection, so every state check
# goes through the daemon itself (status after off/on).
set -u
. "${srcdir:-.}/tests/agent/lib.sh"

DAEMON=${AGENT_TEST_DAEMON:-stock}
command -v socat >/dev/null || skip "socat missing: install socat"
setup_tmp
mkdir -p "$T/sock"
write_node_xml
make_key "$T/key"
URI="test://$T/node.xml"

# One fence_virt.conf for both daemons (ours reads the stock format).
# $GROUPS (may be empty) is appended: the daemons' access groups.
write_conf() {
	cat >"$T/fv.conf" <<EOF
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; mode = "vmchannel"; key_file = "$T/key"; } }
backends { libvirt { uri = "$URI"; } }
${GROUPS:-}
EOF
}

# QEMU's stand-in: the pty appears first, then socat listens for the daemon.
# socat serves one connection: a daemon restart needs a new socat.
start_rig() {
	rm -f "$T/sock/guest1.sock" "$T/port" "$T/socat.log"
	socat -d -d PTY,link="$T/port",raw,echo=0 \
		UNIX-LISTEN:"$T/sock/guest1.sock" >"$T/socat.log" 2>&1 &
	track $!
	wait_for 5 '[ -S "$T/sock/guest1.sock" ] && [ -e "$T/port" ]' ||
		{ bad "socat did not come up"; finish; }
	# Each daemon connects to the running domain's socket once at
	# start; socat -d -d reports that connection.
	start_daemon 5 'grep -q "accepting connection" "$T/socat.log"' ||
		{ bad "$DAEMON daemon did not register the channel"
		cat "$T/daemon.log" >&2; finish; }
}
GROUPS=
start_rig

A="-D $T/port -k $T/key"

run_agent "$T/s1" $A -d -o status -n guest2
check "status guest2: exit 0" '[ $rc -eq 0 ]'
check "status guest2 prints Status: ON" 'grep -qx "Status: ON" "$T/s1.out"'
if [ "$DAEMON" = stock ]; then
	check "v2 -> v1 fallback is visible in -d output" \
		'grep -q "falling back to protocol v1" "$T/s1.err"'
else
	check "v2 end to end: challenged, result in v2, no fallback" \
		'grep -q "v2: result 0" "$T/s1.err" && ! grep -q "falling back" "$T/s1.err"'
fi

run_agent "$T/off" $A -o off -n guest2
check "off guest2: exit 0" '[ $rc -eq 0 ]'
run_agent "$T/s2" $A -o status -n guest2
check "status after off: exit 2" '[ $rc -eq 2 ]'
check "status after off prints Status: OFF" 'grep -qx "Status: OFF" "$T/s2.out"'

# A stock fence_virt list leaves its trailing reply unread in the port.
# Our next call must not take that stale "success" as its answer.
if command -v fence_virt >/dev/null; then
	fence_virt -D "$T/port" -o list >"$T/stocklist.out" 2>/dev/null
	run_agent "$T/s3" $A -o status -n guest2
	check "stale reply left by stock fence_virt is not taken (exit $rc)" '[ $rc -eq 2 ]'
fi

run_agent "$T/on" $A -o on -n guest2
check "on guest2: exit 0" '[ $rc -eq 0 ]'
run_agent "$T/s4" $A -o status -n guest2
check "status after on: exit 0" '[ $rc -eq 0 ]'

run_agent "$T/rb" $A -o reboot -n guest2
check "reboot guest2: exit 0" '[ $rc -eq 0 ]'
run_agent "$T/s5" $A -o status -n guest2
check "status after reboot: on" '[ $rc -eq 0 ]'

run_agent "$T/list" $A -o list
check "list: exit 0" '[ $rc -eq 0 ]'
check "list names guest1 with its uuid" \
	'grep -Eq "^guest1 +6695eb01-f6a4-8304-79aa-97f2502e193f on$" "$T/list.out"'
check "list names guest2" 'grep -Eq "^guest2 +8d8a5bb4-7ae8-4f4f-9d7a-4f1f1b8e2b02 on$" "$T/list.out"'
run_agent "$T/ls" $A -o list-status
check "list-status: exit 0, two lines" '[ $rc -eq 0 ] && [ "$(wc -l <"$T/ls.out")" -eq 2 ]'

run_agent "$T/mon" $A -o monitor
check "monitor: exit 0" '[ $rc -eq 0 ]'

run_agent "$T/bad" $A -o reboot -n nosuchvm
if [ "$DAEMON" = stock ]; then
	check "reboot of an unknown domain: exit 1 (v1 cannot say more)" '[ $rc -eq 1 ]'
else
	check "reboot of an unknown domain: exit 4 (not found)" '[ $rc -eq 4 ]'
	check "... says so" 'grep -q "no such domain" "$T/bad.err"'
	make_key "$T/other.key"
	run_agent "$T/wk" -D "$T/port" -k "$T/other.key" -t 5 -o status -n guest2
	check "wrong key: exit 5" '[ $rc -eq 5 ]'
	check "wrong key: says so" 'grep -q "does not match our key" "$T/wk.err"'
fi
check "failure names the action and target" 'grep -q "reboot .nosuchvm." "$T/bad.err"'

# pacemaker's way: stdin, with an unknown key reported and ignored
printf 'action=status\nplug=guest2\nserial_device=%s\nkey_file=%s\nbogus_key=1\nnodename=n1\n' \
	"$T/port" "$T/key" | "$AGENT" >"$T/in.out" 2>"$T/in.err"
rc=$?
check "stdin status: exit 0" '[ $rc -eq 0 ] && grep -qx "Status: ON" "$T/in.out"'
check "stdin unknown key reported" 'grep -q "bogus_key.*ignoring" "$T/in.err"'
check "stdin nodename not reported" '! grep -q nodename "$T/in.err"'

run_agent "$T/v1" $A -d -R 1 -o status -n guest2
check "protocol=1: exit 0 without a HELLO" '[ $rc -eq 0 ] && ! grep -q HELLO "$T/v1.err"'

# delay applies to power actions only
t0=$(now_ms); run_agent "$T/dst" $A -w 2 -o status -n guest2; t1=$(now_ms)
check "delay is not applied to status ($((t1 - t0)) ms)" '[ $((t1 - t0)) -lt 1500 ]'
t0=$(now_ms); run_agent "$T/don" $A -w 1 -o on -n guest2; t1=$(now_ms)
check "delay is applied to on ($((t1 - t0)) ms, exit $rc)" '[ $((t1 - t0)) -ge 1000 ] && [ $rc -eq 0 ]'

if [ "$DAEMON" = ours ]; then
	run_agent "$T/v2" $A -R 2 -o status -n guest2
	check "protocol=2 against ours: exit 0" '[ $rc -eq 0 ]'
fi
if [ "$DAEMON" = stock ]; then
	run_agent "$T/v2" $A -R 2 -t 3 -o status -n guest2
	check "protocol=2 against stock: exit 6" '[ $rc -eq 6 ]'
	check "protocol=2 against stock says v1 only" 'grep -q "only protocol v1" "$T/v2.err"'
	# fence_virt and fence_vserial take turns on the same port
	fence_virt -D "$T/port" -o status -n guest2 >"$T/fv.out" 2>/dev/null
	check "stock fence_virt still works on the port" 'grep -qx "Status: ON" "$T/fv.out"'
	run_agent "$T/after" $A -o status -n guest2
	check "and ours after it" '[ $rc -eq 0 ]'
fi

# --- access groups: guest1 may fence only itself -------------------------
stop_all
GROUPS='groups { group { name = "self"; uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f"; uuid = "guest1"; } }'
start_rig
run_agent "$T/deny" $A -o off -n guest2
check "off of a domain outside our group: exit 3 (denied)" '[ $rc -eq 3 ]'
check "... says permission denied" 'grep -q "permission denied" "$T/deny.err"'
run_agent "$T/self" $A -o status -n guest1
check "status of ourselves, in our group: exit 0" '[ $rc -eq 0 ]'
run_agent "$T/glist" $A -o list
check "list shows only our group (exit $rc)" \
	'[ $rc -eq 0 ] && grep -q "^guest1 " "$T/glist.out" && ! grep -q "^guest2 " "$T/glist.out"'

finish
