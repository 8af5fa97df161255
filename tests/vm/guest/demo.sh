# tests/vm/guest/demo.sh - rig.test=demo: the main-job demo inside a guest.
# Runs fence_vserial on the named port against target rig.b=NAME and prints
# a transcript ("DEMO ..." lines) next to the usual VMTEST results.
b=""
for a in $(cat /proc/cmdline); do
	case $a in rig.b=*) b=${a#*=} ;; esac
done

# step NAME WANT_RC ARGS...: run fence_vserial, show it, check the exit code
step() {
	n=$1 want=$2
	shift 2
	echo "DEMO guest# fence_vserial $*"
	out=$(fence_vserial -t 60 "$@" 2>&1)
	rc=$?
	echo "$out" | sed '/^$/d; s/^/DEMO     /'
	echo "DEMO     (exit $rc)"
	if [ $rc -eq "$want" ]; then ok "$n"; else fail "$n" "exit $rc, want $want: $out"; fi
}

echo "DEMO guest# ls -l /dev/virtio-ports/"
ls -l /dev/virtio-ports/ | sed -n 's/^.* \([^ ]* -> .*\)$/DEMO     \1/p'
step list 0 -o list
step status_on 0 -o status -n "$b"
step off 0 -o off -n "$b"
step status_off 2 -o status -n "$b"
step on 0 -o on -n "$b"
step reboot 0 -o reboot -n "$b"
step status_after_reboot 0 -o status -n "$b"
