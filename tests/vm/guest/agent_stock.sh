# tests/vm/guest/agent_stock.sh - rig.test=agent_stock: our fence_vserial in
# the guest, on the named virtio-serial port org.clusterlabs.fence.0 (found by
# name, as pacemaker would run it: no device option), against the host
# daemon (rig.daemon=stock|ours) in mode "vmchannel".  Domain "target" lives in the
# host's libvirt test driver.

daemon=stock
for a in $(cat /proc/cmdline); do
	case $a in rig.daemon=*) daemon=${a#*=} ;; esac
done

# fa NAME WANT_RC ERE ARGS...: run fence_vserial, check rc and output
fa() {
	n=$1 want=$2 ere=$3
	shift 3
	expect_rc "$n" "$want" "$ere" fence_vserial -t 20 "$@"
	last_out=$out
}

if [ -c /dev/virtio-ports/org.clusterlabs.fence.0 ]; then
	ok port_present
else
	fail port_present "$(ls -l /dev/virtio-ports 2>&1)"
fi
t0=$(cut -d' ' -f1 /proc/uptime)
# Protocol v1 (the stock daemon's) spelled out, then the default (auto).
fa v1_status_on 0 'Status: ON' -R 1 -o status -n target
info v1_status_output "$last_out"
fa v1_off 0 '' -R 1 -o off -n target
fa v1_status_off 2 'Status: OFF' -R 1 -o status -n target
fa v1_on 0 '' -R 1 -o on -n target
fa v1_status_on_again 0 'Status: ON' -R 1 -o status -n target
fa v1_reboot 0 '' -R 1 -o reboot -n target
fa v1_status_after_reboot 0 'Status: ON' -R 1 -o status -n target
fa v1_list 0 'target' -R 1 -o list
info v1_list_output "$last_out"
fa v1_unknown_domain_fails 1 '' -R 1 -o off -n nosuchdomain
t1=$(cut -d' ' -f1 /proc/uptime)
fa auto_status_on 0 'Status: ON' -o status -n target
info auto_status_output "$last_out"
fa auto_off 0 '' -o off -n target
fa auto_status_off 2 'Status: OFF' -o status -n target
fa auto_on 0 '' -o on -n target
fa auto_list 0 'target' -o list
# v1 cannot say why; v2 (ours) says "no such domain" with exit 4.
if [ "$daemon" = ours ]; then
	fa auto_unknown_domain_not_found 4 'no such domain' -o off -n nosuchdomain
else
	fa auto_unknown_domain_fails 1 '' -o off -n nosuchdomain
fi
# Pacemaker's way: key=value lines on stdin, no arguments.
out=$(printf 'action=status\nplug=target\ntimeout=20\n' | fence_vserial 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q 'Status: ON'; then
	ok stdin_status_on
else
	fail stdin_status_on "rc=$rc: $out"
fi
t2=$(cut -d' ' -f1 /proc/uptime)
info v1_seconds "$(echo "$t0 $t1" | awk '{ print $2 - $1 }')"
info auto_seconds "$(echo "$t1 $t2" | awk '{ print $2 - $1 }')"
