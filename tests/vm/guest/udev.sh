# tests/vm/guest/udev.sh - rig.test=udev (with rig.udev=1): systemd-udevd with
# Debian's default rules and the project's fence-port rule; a member of the
# port's group fences as an unprivileged user, a non-member gets a clear
# permission error.  Users: hauser (in haclient), other (not).
p=/dev/virtio-ports/org.clusterlabs.fence.0
if [ -c "$p" ] && [ -L "$p" ]; then
	ok udev_made_port_link
else
	fail udev_made_port_link "$(ls -l /dev/virtio-ports 2>&1)"
fi
d=$(port_dev org.clusterlabs.fence.0)
perm=$(stat -c '%U %G %a' "$d" 2>&1)
info port_owner_group_mode "$d $perm"
case $perm in
"root haclient 660") ok port_group_haclient_mode_0660 ;;
*) fail port_group_haclient_mode_0660 "$d: $perm" ;;
esac
# The other ports keep the kernel's root-only default.
perm=$(stat -c '%G %a' "$(port_dev org.example.other)" 2>&1)
[ "$perm" = "root 600" ] && ok other_port_untouched || fail other_port_untouched "$perm"

as() { # as USER CMD: run CMD (sh -c) as USER
	u=$1; shift
	su -s /bin/sh "$u" -c "$*" 2>&1
}
out=$(as hauser 'id -un; fence_vserial -t 20 -o status -n target')
rc=$?
info member_output "$out"
if [ $rc -eq 0 ] && echo "$out" | grep -q 'Status: ON' && echo "$out" | grep -qx hauser; then
	ok member_fences_unprivileged
else
	fail member_fences_unprivileged "rc=$rc: $out"
fi
out=$(as other 'fence_vserial -t 20 -o status -n target')
rc=$?
info non_member_output "$out"
if [ $rc -ne 0 ] && echo "$out" | grep -qiE '^fence_vserial: .*permission denied'; then
	ok non_member_gets_permission_error
else
	fail non_member_gets_permission_error "rc=$rc: $out"
fi
if echo "$out" | grep -q "belongs to group 'haclient': add this user to it"; then
	ok non_member_told_which_group
else
	fail non_member_told_which_group "$out"
fi
