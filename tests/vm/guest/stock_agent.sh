# tests/vm/guest/stock_agent.sh - rig.test=stock_agent: the STOCK fence_virt
# (Debian 4.12.1) in the guest, serial mode, against the stock fence_virtd
# serial listener on the host.  Once over the virtio console /dev/hvc0 and
# once over the emulated UART /dev/ttyS1.  Domain "target" lives in the
# host's libvirt test driver.

# fv NAME WANT_RC ERE DEV ARGS...: run fence_virt, check rc and output
fv() {
	n=$1 want=$2 ere=$3 fdev=$4
	shift 4
	expect_rc "$n" "$want" "$ere" fence_virt -D "$fdev" -t 20 "$@"
	last_out=$out
}

for dev in hvc0 ttyS1; do
	D=/dev/$dev
	t0=$(cut -d' ' -f1 /proc/uptime)
	fv "${dev}_status_on" 0 'Status: ON' $D -o status -n target
	info "${dev}_status_output" "$last_out"
	fv "${dev}_off" 0 '' $D -o off -n target
	fv "${dev}_status_off" 2 'Status: OFF' $D -o status -n target
	fv "${dev}_on" 0 '' $D -o on -n target
	fv "${dev}_status_on_again" 0 'Status: ON' $D -o status -n target
	fv "${dev}_reboot" 0 '' $D -o reboot -n target
	fv "${dev}_status_after_reboot" 0 'Status: ON' $D -o status -n target
	fv "${dev}_list" 0 'target' $D -o list
	fv "${dev}_unknown_domain_fails" 1 '' $D -o off -n nosuchdomain
	info "${dev}_seconds" "$(echo "$t0 $(cut -d' ' -f1 /proc/uptime)" | awk '{ print $2 - $1 }')"
done
