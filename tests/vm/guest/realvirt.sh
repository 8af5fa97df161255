# tests/vm/guest/realvirt.sh - rig.test=realvirt: guest A fences guest B
# through a real libvirtd with fence_vserial on the named port.  Kernel args:
# rig.b=NAME (same group as A), rig.c=NAME (outside A's group).
b="" c=""
for a in $(cat /proc/cmdline); do
	case $a in
	rig.b=*) b=${a#*=} ;;
	rig.c=*) c=${a#*=} ;;
	esac
done

# fa NAME WANT_RC ERE ARGS...: run fence_vserial, check rc and output
fa() {
	n=$1 want=$2 ere=$3
	shift 3
	expect_rc "$n" "$want" "$ere" fence_vserial -t 60 "$@"
	info "${n}_at" "$(cut -d' ' -f1 /proc/uptime)"
}

fa status_b_on 0 'Status: ON' -o status -n "$b"
fa off_b 0 '' -o off -n "$b"
fa status_b_off 2 'Status: OFF' -o status -n "$b"
fa on_b 0 '' -o on -n "$b"
fa status_b_on_again 0 'Status: ON' -o status -n "$b"
fa reboot_b 0 '' -o reboot -n "$b"
fa status_b_after_reboot 0 'Status: ON' -o status -n "$b"
fa on_c_outside_group_denied 3 'permission denied' -o on -n "$c"
