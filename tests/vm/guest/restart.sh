# tests/vm/guest/restart.sh - rig.test=restart: fence_vserial while the host
# daemon is frozen and replaced, then while it is gone for good.  The host
# cues each step over the port org.example.ctl.
ctl=/dev/virtio-ports/org.example.ctl
up() { cut -d' ' -f1 /proc/uptime; }
secs() { echo "$1 $(up)" | awk '{ printf "%.1f", $2 - $1 }'; }

# fa NAME WANT_RC ERE ARGS...: run fence_vserial, check rc and output
fa() {
	n=$1 want=$2 ere=$3
	shift 3
	expect_rc "$n" "$want" "$ere" fence_vserial "$@"
}

fa first_status_on 0 'Status: ON' -t 45 -o status -n target
check cue_stopped vmprobe -t 60000 expect $ctl stopped
info step calling_while_stopped
t0=$(up)
fa off_answered_after_restart 0 '' -t 60 -o off -n target
info off_seconds "$(secs "$t0")"
fa status_off_after_restart 2 'Status: OFF' -t 20 -o status -n target
info step waiting_for_gone
check cue_gone vmprobe -t 60000 expect $ctl gone

# No daemon at all: a clear failure within the timeout, never a hang.
t0=$(up)
out=$(fence_vserial -t 5 -o status -n target 2>&1)
rc=$?
s=$(secs "$t0")
info no_daemon_seconds "$s"
info no_daemon_output "$out"
if [ $rc -eq 0 ]; then
	fail no_daemon_fails "rc=0: $out"
elif ! echo "$out" | grep -q 'not connected'; then
	fail no_daemon_fails "rc=$rc, no 'not connected' in: $out"
elif ! echo "$s" | awk '{ exit !($1 < 8) }'; then
	fail no_daemon_fails "took ${s}s with -t 5"
else
	ok no_daemon_fails_clearly_within_timeout
fi
