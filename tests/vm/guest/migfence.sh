# tests/vm/guest/migfence.sh - rig.test=migfence: guest A fences domain V
# while the host live-migrates A to another host.  Kernel args: rig.v=NAME.
# The host keeps V's destroy pending (its QEMU stopped) so that A's "off" is
# still in flight when A moves.  That call must complete or fail cleanly
# (within its -t); a new call after the move must be answered (by the new
# host's daemon) and V must then be off.  Status before the off: ON only.
v=""
for a in $(cat /proc/cmdline); do
	case $a in rig.v=*) v=${a#*=} ;; esac
done
up() { cut -d' ' -f1 /proc/uptime; }

for i in 1 2 3; do
	expect_rc status_v_on_$i 0 'Status: ON' fence_vserial -t 20 -o status -n "$v"
done

t=$(up)
out=$(fence_vserial -d -t 30 -o off -n "$v" 2>&1)
rc=$?
secs=$(echo "$t $(up)" | awk '{ printf "%.1f", $2 - $1 }')
info off_in_flight "rc=$rc after ${secs}s"
echo "$out" | grep -E "request [0-9]+|result|not connected|timed out|time" |
	while read -r l; do info off_in_flight_agent "$l"; done
# clean: success, or a failure within the 30 s bound (never a hang)
if [ $rc -eq 0 ] || awk -v s="$secs" 'BEGIN { exit !(s < 35) }'; then
	ok off_in_flight_clean
else
	fail off_in_flight_clean "rc=$rc after ${secs}s: $out"
fi

# the agent's retry after the move: a fresh call, answered by the new host
n=0
while :; do
	n=$((n + 1))
	out=$(fence_vserial -t 30 -o off -n "$v" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && break
	info off_retry_$n "rc=$rc: $out"
	[ $n -ge 3 ] && break
done
[ $rc -eq 0 ] && ok off_v_after_move || fail off_v_after_move "rc=$rc after $n tries: $out"
info off_retries "$n"
expect_rc status_v_off 2 'Status: OFF' fence_vserial -t 20 -o status -n "$v"
