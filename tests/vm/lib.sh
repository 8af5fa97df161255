# tests/vm/lib.sh - the VM test harness, sourced by tests/vm/*_test.sh (bash).
#
#   . "$(dirname "$0")/lib.sh"
#   vm_setup channel                    # temp dir, cleanup trap, skip if no QEMU
#   vm_initramfs "$vm_build/tests/vm/vmprobe:/bin/vmprobe" \
#	"$vm_here/guest/channel.sh:/tests/channel.sh"
#   vm_add_port org.example.test        # virtserialport; socket in $VM_SOCK
#   vm_spawn python3 "$vm_here/peer.py" "$VM_SOCK" "$VM_DIR/peer.log"
#   vm_boot channel                     # boot, run /tests/channel.sh, wait
#   vm_ok host_saw_data / vm_fail NAME REASON
#   vm_report                           # "N passed, N failed", exit status
#
# Each boot is `qemu-system-x86_64 -M pc -nodefaults -accel tcg` (KVM cannot
# run a stock kernel on these machines, see research/vm-rig.md) under
# timeout(1), so it is killed by PID at $VSF_VM_TIMEOUT seconds (default 120).
# The guest's console (ttyS0) goes to $VM_DIR/console-TEST.log; its VMTEST
# lines are the guest's results.  Every process a test starts with vm_spawn
# is killed by PID at exit; $VM_DIR is removed unless VSF_VM_KEEP=1.
#
# Index: vm_add_port / vm_add_console / vm_add_uart (devices), vm_start +
# vm_wait = vm_boot, VM_PAUSED=1 vm_start + vm_cont (host peers connect
# first), vm_wait_for SECS CMD, vm_count_results, vm_nss_extras;
# vm_libvirt_start / vm_ns / vm_virsh / vm_domain_xml / vm_check_events (a
# private libvirtd, see libvirt_ns.sh); vm_fenced_start / vm_fenced_count
# (stock fence_virtd or, with VM_DAEMON=ours, vserial-fenced).

vm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_build=${VSF_BUILDDIR:-$(pwd)}	# make check runs tests in the top builddir
vm_timeout=${VSF_VM_TIMEOUT:-120}
vm_passed=0
vm_failed=0
vm_pids=()
vm_args=()
vm_names=()
vm_nchardev=0
vm_boots=0

vm_ok() { echo "ok $1"; vm_passed=$((vm_passed + 1)); }
vm_fail() {
	local n=$1; shift
	echo "FAIL $n: $*"
	vm_failed=$((vm_failed + 1))
}
vm_skip() {
	echo "SKIP: $*"
	echo "0 passed, 0 failed"
	exit 77
}

vm_report() {
	echo "$vm_passed passed, $vm_failed failed"
	[ "$vm_failed" -eq 0 ] && exit 0
	exit 1
}

vm_now() { date +%s.%N; }
vm_elapsed() { echo "$1 $(vm_now)" | awk '{ printf "%.2f", $2 - $1 }'; }

# vm_guest_kver: the newest Debian kernel in /boot (not `uname -r`).
vm_guest_kver() {
	ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -1
}

# vm_setup NAME: prerequisites, temp dir, cleanup trap.
vm_setup() {
	command -v qemu-system-x86_64 >/dev/null ||
		vm_skip "no qemu-system-x86_64; run tools/install-deps (qemu-system-x86)"
	command -v python3 >/dev/null || vm_skip "no python3; run tools/install-deps"
	VM_KVER=$(vm_guest_kver)
	[ -n "$VM_KVER" ] || vm_skip "no /boot/vmlinuz-*; run tools/install-deps (linux-image-amd64)"
	[ -x /bin/busybox ] || vm_skip "no busybox; run tools/install-deps (busybox-static)"
	VM_KERNEL=/boot/vmlinuz-$VM_KVER
	[ -r "$VM_KERNEL" ] || vm_skip "$VM_KERNEL not readable"
	VM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vsf-vm-$1.XXXXXX") || exit 1
	trap vm_cleanup EXIT
	trap 'exit 1' INT TERM
}

vm_cleanup() {
	local p
	[ -n "${VM_LIBVIRT:-}" ] && vm_libvirt_stop
	for p in "${vm_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${vm_pids[@]}"; do
		# Give each a moment to go on its own, then make sure.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	vm_pids=()
	if [ "${VSF_VM_KEEP:-0}" = 1 ]; then
		echo "vm: kept $VM_DIR"
	else
		rm -rf "$VM_DIR"
	fi
}

# vm_spawn CMD ARGS...: start a host-side process in the background; its PID
# is in VM_LAST_PID and it is killed at exit (if still running).
vm_spawn() {
	# A shell function would run in a forked subshell: $! would be that
	# shell's PID, and killing it would leave the real process running.
	if declare -F "$1" >/dev/null; then
		echo "vm_spawn: '$1' is a shell function; pass a program" >&2
		return 1
	fi
	"$@" &
	VM_LAST_PID=$!
	vm_pids+=("$VM_LAST_PID")
}

# vm_wait_for SECONDS CMD ARGS...: poll CMD every 50 ms until it succeeds.
vm_wait_for() {
	local end
	end=$(echo "$(vm_now) $1" | awk '{ printf "%.2f", $1 + $2 }')
	shift
	until "$@"; do
		awk -v e="$end" -v n="$(vm_now)" 'BEGIN { exit !(n > e) }' && return 1
		sleep 0.05
	done
}

# vm_initramfs [-m MOD.ko]... SRC:DEST...: build or reuse the initramfs.
vm_initramfs() {
	local t0
	t0=$(vm_now)
	VM_INITRD=$("$vm_here/mkinitramfs.sh" -k "$VM_KVER" "$@") || {
		vm_fail initramfs "mkinitramfs.sh failed"
		vm_report
	}
	echo "vm: initramfs $(basename "$VM_INITRD") in $(vm_elapsed "$t0")s"
}

# vm_initramfs_overlay SRC:DEST[:MODE]...: per-run files (keys, generated
# configs) in a small second cpio appended to the cached image, so the cache
# still hits.  The kernel unpacks concatenated archives in order.
vm_initramfs_overlay() {
	local x src dest mode st=$VM_DIR/overlay
	mkdir -p "$st"
	for x in "$@"; do
		src=${x%%:*} dest=${x#*:} mode=644
		case $dest in *:*) mode=${dest#*:} dest=${dest%%:*} ;; esac
		mkdir -p "$st$(dirname "$dest")"
		cp -L "$src" "$st$dest" && chmod "$mode" "$st$dest" || {
			vm_fail initramfs_overlay "cannot add '$x'"
			vm_report
		}
	done
	chmod 755 "$st"
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -n >"$VM_DIR/overlay.cpio.gz"
	cat "$VM_INITRD" "$VM_DIR/overlay.cpio.gz" >"$VM_DIR/initrd.cpio.gz"
	VM_INITRD=$VM_DIR/initrd.cpio.gz
}

vm_chardev() { # vm_chardev NAME: a unix socket chardev QEMU listens on
	vm_nchardev=$((vm_nchardev + 1))
	VM_CHARDEV=c$vm_nchardev
	VM_SOCK=$VM_DIR/$1.sock
	vm_args+=(-chardev "socket,id=$VM_CHARDEV,path=$VM_SOCK,server=on,wait=off")
}

vm_need_bus() {
	case " ${vm_args[*]} " in
	*" virtio-serial-pci,id=vs0 "*) ;;
	*) vm_args+=(-device virtio-serial-pci,id=vs0) ;;
	esac
}

# vm_add_port NAME: a named virtserialport on a unix socket; the socket path
# is left in VM_SOCK.  The guest waits for NAME (rig.ports=) before its test.
vm_add_port() { vm_add_virtio "$1" virtserialport; }

# vm_add_console NAME: a named virtconsole (guest /dev/hvcN); socket in
# VM_SOCK.  Add it before any vm_add_port so it gets port 0 (/dev/hvc0).
vm_add_console() { vm_add_virtio "$1" virtconsole; }

vm_add_virtio() {
	vm_need_bus
	vm_chardev "$1"
	vm_args+=(-device "$2,bus=vs0.0,chardev=$VM_CHARDEV,name=$1")
	vm_names+=("$1")
}

# vm_add_uart NAME: one more 16550 UART (ttyS1, ttyS2...); socket in VM_SOCK.
vm_add_uart() {
	vm_chardev "$1"
	vm_args+=(-serial "chardev:$VM_CHARDEV")
}

# vm_start TEST [KERNEL-ARGS...]: boot in the background; VM_PID is timeout(1)'s.
# With VM_PAUSED=1 the CPU stays stopped (-S) until vm_cont, so host peers
# that must connect to the sockets QEMU listens on can do so first.
vm_start() {
	local test=$1 ports
	shift
	if [ "${VM_PAUSED:-0}" = 1 ]; then
		vm_args+=(-S -qmp "unix:$VM_DIR/qmp.sock,server=on,wait=off")
	fi
	ports=$(IFS=,; echo "${vm_names[*]}")
	VM_LOG=$VM_DIR/console-$test.log
	: >"$VM_LOG"
	VM_T0=$(vm_now)
	vm_boots=$((vm_boots + 1))
	vm_spawn timeout -k 5 "$vm_timeout" qemu-system-x86_64 \
		-M pc -nodefaults -no-user-config -accel tcg -m 256 -smp 1 \
		-display none -no-reboot \
		-kernel "$VM_KERNEL" -initrd "$VM_INITRD" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 rig.test=$test ${ports:+rig.ports=$ports} $*" \
		-chardev "file,id=ser0,path=$VM_LOG" -serial chardev:ser0 \
		"${vm_args[@]}"
	VM_PID=$VM_LAST_PID
}

# vm_cont: start the CPU of a guest booted with VM_PAUSED=1 (QMP "cont").
vm_cont() {
	vm_wait_for 10 test -S "$VM_DIR/qmp.sock" || return 1
	VM_T0=$(vm_now)	# boot time counts from here
	python3 - "$VM_DIR/qmp.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m
json.loads(f.readline())          # greeting
for cmd in ("qmp_capabilities", "cont"):
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    m = reply()
    if "error" in m:
        sys.exit("qmp %s: %s" % (cmd, m["error"]))
PY
}

# vm_wait: wait for the guest to power off (or the timeout to kill it), then
# count its VMTEST lines into the totals.
vm_wait() {
	local rc secs
	wait "$VM_PID"
	rc=$?
	secs=$(vm_elapsed "$VM_T0")
	echo "vm: boot $vm_boots took ${secs}s (qemu start to exit, rc $rc)"
	[ "$rc" -eq 124 ] && vm_fail boot "killed after ${vm_timeout}s; console tail: $(tail -5 "$VM_LOG" | tr -d '\r')"
	vm_count_results
}

# vm_count_results: the VMTEST lines of $VM_LOG into the totals.
vm_count_results() {
	local kind name rest done=no
	while read -r _ kind name rest; do
		case $kind in
		ok) vm_ok "guest:$name" ;;
		fail) vm_fail "guest:$name" "$rest" ;;
		info) echo "vm: $name $rest" ;;
		done) done=yes ;;
		esac
	done < <(tr -d '\r' <"$VM_LOG" | grep -a '^VMTEST ')
	if [ $done != yes ]; then
		vm_fail guest_done "no 'VMTEST done'; console tail:"
		tail -20 "$VM_LOG" | tr -d '\r' | sed 's/^/    /'
	fi
}

# vm_boot TEST [KERNEL-ARGS...]: vm_start + vm_wait.
vm_boot() {
	vm_start "$@"
	vm_wait
}

# vm_nss_extras: SRC:DEST pairs for the NSS pieces libnss3 dlopen()s (the
# soft token and freebl), next to libnss3 in the guest; ldd cannot see them.
vm_nss_extras() {
	local f d=/usr/lib/x86_64-linux-gnu
	for f in libsoftokn3.so libsoftokn3.chk libfreebl3.so libfreebl3.chk \
		libfreeblpriv3.so libfreeblpriv3.chk; do
		[ -f "$d/$f" ] && echo "$d/$f:/lib/x86_64-linux-gnu/$f"
	done
}

# --- a private libvirtd (tests that need the real thing) -------------------
# vm_libvirt_start: libvirt_ns.sh in new mount+net namespaces; waits until
# virsh answers.  vm_ns CMD runs CMD in those namespaces, vm_virsh ARGS is
# virsh on this daemon.  Stopped (domains destroyed first) at exit.
vm_libvirt_start() {
	VM_LIBVIRT=$VM_DIR/libvirt
	mkdir -p "$VM_LIBVIRT"
	vm_spawn unshare -m -n --propagation private \
		bash "$vm_here/libvirt_ns.sh" "$VM_LIBVIRT" >"$VM_LIBVIRT/ns.log" 2>&1
	VM_NS_PID=$VM_LAST_PID	# unshare exec()s: this is the namespace's bash
	if ! vm_wait_for 30 vm_virsh_quiet version; then
		vm_fail libvirtd "private libvirtd did not answer in 30 s: $(tail -3 "$VM_LIBVIRT/ns.log")"
		return 1
	fi
}

vm_ns() { nsenter -t "$VM_NS_PID" -m -n "$@"; }
vm_virsh() { vm_ns virsh -q -c qemu:///system "$@"; }
vm_virsh_quiet() { vm_virsh "$@" >/dev/null 2>&1; }

vm_libvirt_stop() {
	local d p
	for d in $(vm_virsh list --name 2>/dev/null); do
		vm_virsh destroy "$d" >/dev/null 2>&1
	done
	# Anything libvirt lost track of: its QEMUs by their pid files.
	for p in "$VM_LIBVIRT"/run/qemu/*.pid; do
		[ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null
	done
	for p in libvirtd virtlogd; do
		[ -f "$VM_LIBVIRT/$p.pid" ] && kill "$(cat "$VM_LIBVIRT/$p.pid")" 2>/dev/null
	done
	VM_LIBVIRT=""
}

# vm_domain_xml NAME UUID TEST KERNEL-ARGS [PORT-NAME]: a disk-less TCG
# domain booting the rig's kernel and initramfs; console to
# $VM_DIR/NAME.console.log; with PORT-NAME, a virtio channel of that name on
# the unix socket $VM_DIR/NAME.sock.
vm_domain_xml() {
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$VM_KERNEL</kernel>
    <initrd>$VM_INITRD</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=3 rig.test=$3 $4</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <serial type='file'><source path='$VM_DIR/$1.console.log'/><target port='0'/></serial>
XML
	[ -n "${5:-}" ] && cat <<XML
    <channel type='unix'>
      <source mode='bind' path='$VM_DIR/$1.sock'/>
      <target type='virtio' name='$5'/>
    </channel>
XML
	cat <<XML
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

# vm_check_events DOMAIN EVENT...: libvirt's lifecycle events for DOMAIN in
# $VM_DIR/events.log (virsh event --loop) are exactly EVENT... in order,
# counting only Started and Stopped (Resumed, Shutdown and Defined come and go
# with libvirt versions and timing).
vm_check_events() {
	local dom=$1 got want
	shift
	got=$(sed -n "s/.*event 'lifecycle' for domain '\?$dom'\?: //p" "$VM_DIR/events.log" |
		grep -E '^(Started|Stopped) ' |
		tr '\n' ',' | sed 's/,$//')
	want=$(IFS=,; echo "$*")
	if [ "$got" = "$want" ]; then
		vm_ok "host_events_$dom"
	else
		vm_fail "host_events_$dom" "got '$got', want '$want'"
	fi
}

# --- the host fence daemon: stock fence_virtd or our vserial-fenced -------
# VM_DAEMON=stock (default) or ours picks it; both read the same config.
VM_DAEMON=${VM_DAEMON:-stock}
VSERIAL_FENCED=${VSERIAL_FENCED:-$vm_build/fenced-host/vserial-fenced}

# vm_fenced_start CONF UUID [WRAPPER...]: start the daemon in the foreground
# (log: $VM_DIR/fenced.log), through WRAPPER if given (a program that exec()s
# the rest, e.g. nsenter -t "$VM_NS_PID" -m -n; not a shell function), and
# wait until it has connected to the channel socket of the domain UUID.
vm_fenced_start() {
	local conf=$1 uuid=$2 ere
	shift 2
	if [ "$VM_DAEMON" = ours ]; then
		[ -x "$VSERIAL_FENCED" ] || { vm_fail build "$VSERIAL_FENCED not built"; return 1; }
		vm_spawn "$@" "$VSERIAL_FENCED" -F -d 1 -f "$conf" >"$VM_DIR/fenced.log" 2>&1
		ere="connected, domain .*$uuid"
	else
		vm_spawn "$@" stdbuf -oL -eL "${FENCE_VIRTD:-/usr/sbin/fence_virtd}" \
			-F -d 5 -f "$conf" -p "$VM_DIR/fenced.pid" >"$VM_DIR/fenced.log" 2>&1
		ere="Registered $uuid on"
	fi
	VM_FENCED_PID=$VM_LAST_PID
	vm_wait_for 20 grep -qE -- "$ere" "$VM_DIR/fenced.log"
}

# vm_fenced_count UUID NAME TARGET: requests for TARGET the daemon logged
# from the channel of domain UUID called NAME (stock logs the UUID, ours the
# name and socket).
vm_fenced_count() {
	if [ "$VM_DAEMON" = ours ]; then
		grep -cE "request #[0-9]+ from channel $2 \(.*\)( v2)?: [a-z-]+ $3 -> " "$VM_DIR/fenced.log"
	else
		grep -cE "Request [0-9]+ seqno -?[0-9]+ src $1 target $3\$" "$VM_DIR/fenced.log"
	fi
}

# vm_channel_peer_checks PEER_PID: the host's view of guest/channel.sh's
# traffic, as logged by the peer.py instances on the named port (test.log,
# PEER_PID) and on the console (hvc.log).
vm_channel_peer_checks() {
	if grep -q '^hello-from-guest$' "$VM_DIR/test.log" 2>/dev/null; then
		vm_ok host_got_guest_bytes
	else
		vm_fail host_got_guest_bytes "peer log: $(head -c 200 "$VM_DIR/test.log" 2>&1)"
	fi
	if wait "$1" && grep -q '^CLOSE$' "$VM_DIR/test.log"; then
		vm_ok host_peer_closed_on_request
	else
		vm_fail host_peer_closed_on_request "peer exited with $?"
	fi
	if grep -q 'hello-over-hvc' "$VM_DIR/hvc.log" 2>/dev/null; then
		vm_ok host_got_hvc_bytes
	else
		vm_fail host_got_hvc_bytes "console peer log: $(head -c 200 "$VM_DIR/hvc.log" 2>&1)"
	fi
}
