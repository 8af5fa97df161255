# /lib/rig.sh - helpers for guest test scripts (busybox sh), sourced by /init.
#
#   ok NAME                 report a passed check
#   fail NAME REASON...     report a failed check
#   info KEY VALUE...       report a measurement (not counted)
#   check NAME CMD ARGS...  run CMD; ok if it exits 0, else fail with its output
#   port_dev NAME           print /dev/vportNpM of the port called NAME
#   expect_rc NAME RC ERE CMD ARGS...
#                           run CMD; ok if it exits RC and its output matches
#                           ERE (empty: any); leaves its output in $out

ok() { echo "VMTEST ok $1"; }
fail() {
	n=$1; shift
	echo "VMTEST fail $n $(echo "$*" | tr '\n' ' ')"
}
info() {
	k=$1; shift
	echo "VMTEST info $k $(echo "$*" | tr '\n' ' ')"
}
check() {
	n=$1; shift
	if out=$("$@" 2>&1); then
		ok "$n"
	else
		fail "$n" "rc=$?: $out"
	fi
}

expect_rc() {
	n=$1 want=$2 ere=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$n" "rc=$rc, want $want: $out"
	elif [ -n "$ere" ] && ! echo "$out" | grep -qE "$ere"; then
		fail "$n" "output lacks /$ere/: $out"
	else
		ok "$n"
	fi
}

port_dev() {
	for f in /sys/class/virtio-ports/*/name; do
		[ -f "$f" ] || continue
		if [ "$(cat "$f")" = "$1" ]; then
			d=${f%/name}
			echo "/dev/${d##*/}"
			return 0
		fi
	done
	return 1
}

# rig_wait_ports SECONDS NAME...: wait until every NAME is in sysfs and the
# device node exists.  The names come over the control queue after probe.
rig_wait_ports() {
	left=$(($1 * 10)); shift
	while [ $left -gt 0 ]; do
		missing=0
		for n in "$@"; do
			d=$(port_dev "$n") && [ -c "$d" ] || missing=1
		done
		[ $missing -eq 0 ] && return 0
		usleep 100000
		left=$((left - 1))
	done
	return 1
}

# rig_link_ports: what the udev rule does, /dev/virtio-ports/NAME -> ../vportNpM.
rig_link_ports() {
	mkdir -p /dev/virtio-ports
	for f in /sys/class/virtio-ports/*/name; do
		[ -f "$f" ] || continue
		n=$(cat "$f")
		[ -n "$n" ] || continue
		d=${f%/name}
		ln -sf "../${d##*/}" "/dev/virtio-ports/$n"
	done
}
