# tests/daemon/lvd.sh - helpers for daemon tests that need a REAL libvirtd
# (sourced after tests/interop/lib.sh and vsf_setup).  libvirtd runs as an
# unprivileged session daemon (user nobody, no systemd) with the shared
# test:///default driver, so domains defined and started with virsh send
# real lifecycle events to every connection.
#
#   lvd_start NAME           start libvirtd as vsf_bg NAME; sets T, URI, LVD
#   lvd_define_guest NAME UUID   define a domain whose <serial> is a unix
#                            socket $T/sock/NAME.sock in bind mode (QEMU's)
#   lvd_wait_sock NAME       wait (5 s) until a peer has bound NAME's socket
#   lvd_hold                 keep one virsh connected (test:///default's
#                            domains live only while someone is connected)
#   lvd_drop_clients PID     disconnect PID's connections to libvirtd
#                            (virt-admin), as a libvirtd restart would, but
#                            keeping its domains
#   lvd_stop                 stop libvirtd

T=$VSF_TMP
chmod 755 "$T"
mkdir -p "$T/sock" "$T/lv/run" "$T/lv/cfg" "$T/lv/cache" "$T/lv/home"
chown -R nobody:nogroup "$T/lv"
URI="test+unix:///default?socket=$T/lv/run/libvirt/libvirt-sock"

lvd_start() {
	vsf_bg "$1" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PATH=/usr/sbin:/usr/bin HOME="$T/lv/home" \
		XDG_RUNTIME_DIR="$T/lv/run" XDG_CONFIG_HOME="$T/lv/cfg" \
		XDG_CACHE_HOME="$T/lv/cache" /usr/sbin/libvirtd
	LVD=$VSF_PID
	local i
	for i in $(seq 600); do	# up to 30 s on a loaded CI machine
		virsh -q -c "$URI" list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	vsf_fail "$1: libvirtd did not answer"
	return 1
}

lvd_define_guest() {
	cat >"$T/$1.xml" <<EOX
<domain type='test'>
  <name>$1</name><uuid>$2</uuid><memory>65536</memory>
  <os><type>hvm</type></os>
  <devices><serial type='unix'><source mode='bind' path='$T/sock/$1.sock'/><target port='1'/></serial></devices>
</domain>
EOX
	virsh -q -c "$URI" define "$T/$1.xml" >/dev/null
}

lvd_wait_sock() {
	local i
	for i in $(seq 100); do [ -S "$T/sock/$1.sock" ] && return 0; sleep 0.05; done
	vsf_fail "nobody bound $1's socket"
	return 1
}

lvd_hold() {
	vsf_bg lvd_hold virsh -q -c "$URI" event --all --loop
}

lvd_drop_clients() {
	local id
	adm() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			env -i PATH=/usr/sbin:/usr/bin HOME="$T/lv/home" \
			XDG_RUNTIME_DIR="$T/lv/run" virt-admin -c \
			"libvirtd:///session?socket=$T/lv/run/libvirt/libvirt-admin-sock" "$@"
	}
	for id in $(adm client-list libvirtd | awk '$1 ~ /^[0-9]+$/ {print $1}'); do
		adm client-info libvirtd "$id" |
			grep -qE "unix_process_id *: *$1\$" &&
			adm client-disconnect libvirtd "$id" >/dev/null
	done
}

lvd_stop() {
	kill -CONT "$LVD" 2>/dev/null
	vsf_stop "$LVD"
}
