# tests/pacemaker/lib.sh - a real pacemaker cluster of TCG guests (bash).
#
#   . "$(dirname "$0")/lib.sh"
#   pm_setup NAME            temp dir, cached root image (mkrootfs.sh), a
#                            private libvirtd (tests/vm/libvirt_ns.sh), the
#                            guest-to-guest hub, libvirt's event log
#   pm_domain NODE IDX       define the domain pm-NODE (libvirt XML below)
#   pm_start NODE            virsh create + a follower of its log port
#   pm_run NODE SECS CMD     CMD in the guest (bash -c), output on stdout
#   pm_wait_online SECS NODE...   crm_mon on the first NODE shows all Online
#   pm_timeline T0 TITLE STEP=ERE@SRC...   print when each step happened
#
# Guests boot the Debian kernel with the image's initramfs and its ext4
# root through a qcow2 overlay per node, with ACPI: without it the guest
# finds no HPET or PM timer and keeps time by counting ticks
# (refined-jiffies), so a loaded host that upsets its timer calibration
# makes its clock run many times too fast (corosync's token then expires at
# once).  Each domain has: a file console (ttyS0), a virtio NIC on a QEMU
# udp netdev connected to rigctl.py's hub on 127.0.0.1 in libvirtd's
# private network namespace (PM_HUB_ADDR: elsewhere), the virtio-serial
# channels org.example.rig.ctl and org.example.rig.log (the host's control
# and log ports, sockets in $PM/ctl), the fence channel
# org.clusterlabs.fence.0 (<channel>, fence_vserial's default port) and a
# plain virtio console (<console>, guest /dev/hvc0, for stock fence_virt),
# and a second UART (<serial type='unix'> port 1, guest /dev/ttyS1, the stock
# pair's documented path), all with their sockets in $PM/fence, the
# directory the daemons watch.

pm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$pm_here/../vm/lib.sh"
PM_NET=10.215.0
PM_HUB_PORT=21500
PM_FENCE_PORT=org.clusterlabs.fence.0

pm_log() { printf '%s pm: %s\n' "$(date +%T.%3N)" "$*"; }

pm_setup() {
	pm_prepare "$1"
	vm_libvirt_start || vm_report
	# nsenter execs: the spawned PID is virsh itself (killed at exit).
	vm_spawn nsenter -t "$VM_NS_PID" -m -n virsh -q event --all --loop \
		--timestamp >"$PM/events.log" 2>&1
}

# pm_prepare NAME: pm_setup without the libvirtd (tests that bring their own,
# e.g. one per host in cpg_test.sh): tools, temp dir, root image.
pm_prepare() {
	local p t0
	for p in libvirtd virtlogd virsh unshare nsenter qemu-img stdbuf; do
		command -v "$p" >/dev/null ||
			vm_skip "$p not found; run tools/install-deps"
	done
	vm_setup "$1"
	PM=$VM_DIR
	pm_lock
	chmod 755 "$PM"
	mkdir -p "$PM/fence" "$PM/ctl"
	[ -x "$vm_build/fence-agent/fence_vserial" ] ||
		{ vm_fail build "fence_vserial not built"; vm_report; }
	t0=$(vm_now)
	PM_IMG=$("$pm_here/mkrootfs.sh" "$vm_build" 2>"$PM/mkrootfs.log") || {
		vm_fail rootfs "mkrootfs.sh failed: $(tail -5 "$PM/mkrootfs.log")"
		vm_report
	}
	pm_log "root image $(basename "$PM_IMG") in $(vm_elapsed "$t0") s"
	VM_KERNEL=$PM_IMG/vmlinuz	# vm_libvirt_stop & co. need nothing else
	PM_NODES=()
}

# pm_lock: the pacemaker tiers run one at a time.  Each keeps two or three
# TCG guests with corosync's 4 s token busy; two tiers at once (make check
# -j2) on a 2-core machine starve the guests until crm_mon itself times
# out.  The lock goes with this shell and the processes it starts, all of
# which the tier ends by PID; the wait is bounded, so a leaked holder costs
# time, never a hang.
pm_lock() {
	local dir=${VSF_CACHE_DIR:-/var/cache/vserial-fence} t0
	{ mkdir -p "$dir" && [ -w "$dir" ]; } 2>/dev/null || dir=${TMPDIR:-/tmp}
	exec {PM_LOCK_FD}>>"$dir/pacemaker-tier.lock" || return 0
	t0=$(vm_now)
	if flock -w 900 "$PM_LOCK_FD"; then
		pm_log "pacemaker tier lock taken after $(vm_elapsed "$t0") s"
	else
		pm_log "pacemaker tier lock still held after 900 s; going on"
	fi
}

# pm_hub PORT...: the guests' Ethernet (one udp netdev per guest).
pm_hub() {
	vm_spawn nsenter -t "$VM_NS_PID" -m -n python3 "$pm_here/rigctl.py" hub "$PM_HUB_PORT" "$@"
}

pm_uuid() { printf '7a3e0f52-8c1d-4b6e-9f20-3d5c7b1a0e%02d' "$1"; }

# pm_domain NODE IDX RUNNING-NODES...: write $PM/NODE.xml.  IDX (1..) gives
# the uuid, MAC, IP and udp port; the kernel command line lists the nodes.
# PM_HOSTDIR (default $PM) holds the node's fence/ and ctl/ sockets and its
# console file; the NIC talks from PM_LOCAL_ADDR to the hub at PM_HUB_ADDR
# (both default 127.0.0.1).  A test with one libvirtd per host gives each
# host its own PM_HOSTDIR and address.
declare -A PM_CTL_OF=()	# NODE -> its control socket (moves with migration)
pm_domain() {
	local node=$1 idx=$2 list="" i=0 n hd=${PM_HOSTDIR:-$PM}
	local hub=${PM_HUB_ADDR:-127.0.0.1} me=${PM_LOCAL_ADDR:-127.0.0.1}
	shift 2
	for n in "$@"; do
		i=$((i + 1))
		list="$list${list:+,}$n=$PM_NET.$i"
	done
	qemu-img create -q -f qcow2 -b "$PM_IMG/root.img" -F raw "$PM/$node.qcow2"
	cat >"$PM/$node.xml" <<XML
<domain type='qemu'>
  <name>pm-$node</name>
  <uuid>$(pm_uuid "$idx")</uuid>
  <memory unit='MiB'>${PM_MEM:-512}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$PM_IMG/vmlinuz</kernel>
    <initrd>$PM_IMG/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=3 rig.node=$node rig.nodes=$list rig.token=${PM_TOKEN:-4000}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='unsafe'/>
      <source file='$PM/$node.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='udp'>
      <mac address='52:54:00:15:00:$(printf %02x "$idx")'/>
      <source address='$hub' port='$PM_HUB_PORT'>
        <local address='$me' port='$((PM_HUB_PORT + idx))'/>
      </source>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <serial type='file'><source path='$hd/$node.console.log' append='on'/><target port='0'/></serial>
    <serial type='unix'>
      <source mode='bind' path='$hd/fence/$node.uart'/>
      <target port='1'/>
    </serial>
    <console type='unix'>
      <source mode='bind' path='$hd/fence/$node.console'/>
      <target type='virtio'/>
    </console>
    <channel type='unix'>
      <source mode='bind' path='$hd/fence/$node.sock'/>
      <target type='virtio' name='$PM_FENCE_PORT'/>
    </channel>
    <channel type='unix'>
      <source mode='bind' path='$hd/ctl/$node.ctl'/>
      <target type='virtio' name='org.example.rig.ctl'/>
    </channel>
    <channel type='unix'>
      <source mode='bind' path='$hd/ctl/$node.log'/>
      <target type='virtio' name='org.example.rig.log'/>
    </channel>
    <memballoon model='none'/>
  </devices>
</domain>
XML
	PM_CTL_OF[$node]=$hd/ctl/$node.ctl
}

# pm_start NODE: create the domain; follow its log port into $PM/guest.log.
pm_start() {
	vm_virsh create "$PM/$1.xml" >/dev/null || {
		vm_fail "create_$1" "virsh create failed"
		return 1
	}
	pm_follow "$1"
	PM_NODES+=("$1")
}

# pm_follow NODE: append NODE's log port (next to its control socket) to
# $PM/guest.log; again after a migration moved the socket.
pm_follow() {
	local ctl=${PM_CTL_OF[$1]}
	vm_spawn python3 "$pm_here/rigctl.py" log "${ctl%.ctl}.log" "$PM/guest.log" "$1"
}

pm_run() { # NODE SECS CMD...
	local node=$1 secs=$2
	shift 2
	python3 "$pm_here/rigctl.py" run "${PM_CTL_OF[$node]:-$PM/ctl/$node.ctl}" "$secs" "$*"
}

# pm_clocks NODE...: log each guest's clocksource and how far its clock is
# from the host's (a guest clock that races or lags shows up here first).
pm_clocks() {
	local n out
	for n in "$@"; do
		out=$(pm_run "$n" 10 "cat /sys/devices/system/clocksource/clocksource0/current_clocksource; date +%s.%N")
		pm_log "$n: clocksource $(echo "$out" | head -1), guest clock $(echo "$out" |
			sed -n 2p | awk -v h="$(vm_now)" '{ printf "%+.1f", $1 - h }') s from the host's"
	done
}

# pm_wait_ctl SECS NODE...: every NODE answers on its control port.
pm_wait_ctl() {
	local secs=$1 n
	shift
	for n in "$@"; do
		vm_wait_for "$secs" pm_quiet_run "$n" 5 true || return 1
	done
}
pm_quiet_run() { pm_run "$@" >/dev/null 2>&1; }

# pm_online_is VIA NODE...: crm_mon on VIA lists exactly NODE... as Online.
pm_online_is() {
	local via=$1 want got
	shift
	want=$(echo "$@" | tr ' ' '\n' | sort | xargs)
	got=$(pm_run "$via" 20 "crm_mon -1 2>/dev/null" | tr -d '\r' |
		sed -n 's/.*Online: \[ \(.*\) \].*/\1/p' | tr ' ' '\n' | sort | xargs)
	[ "$got" = "$want" ] && return 0
	PM_ONLINE_LAST="$via: crm_mon Online [ $got ]"
	sleep 1
	return 1
}

pm_wait_online() { # SECS VIA NODE...
	local secs=$1
	shift
	PM_ONLINE_LAST=
	vm_wait_for "$secs" pm_online_is "$@" && return 0
	pm_log "not all Online after $secs s; last seen: ${PM_ONLINE_LAST:-nothing}"
	return 1
}

# pm_t_first T0 SRC ERE: "EPOCH SOURCE" of the first line from SRC after T0
# matching ERE.  SRC is a guest node name (its log port), "any" (any
# guest), "events" (libvirt; "eventsN": $PM/eventsN.log, one libvirtd of
# several) or a daemon log name ($PM/NAME.ts, stamped by rigctl.py ts).
pm_t_first() {
	local t0=$1 src=$2 ere=$3
	case $src in
	events*)
		# "2026-11-26 13:00:00.123+0000: event ..." -> epoch
		while IFS= read -r line; do
			local ts=${line%%+0000:*}
			date -u -d "$ts" +%s.%N 2>/dev/null | cut -c1-14
		done < <(grep -aE -- "$ere" "$PM/$src.log") |
			awk -v t="$t0" -v s="$src" '$1 >= t { print $1, s; exit }'
		;;
	*)
		# "START:ERE": a daemon's completion line "... (N ms)" stands
		# for the request's arrival N ms earlier.
		local f=$PM/guest.log start=0
		[ -f "$PM/$src.ts" ] && f=$PM/$src.ts
		case $ere in START:*) start=1 ere=${ere#START:} ;; esac
		awk -v t="$t0" -v tag="$src" -v ere="$ere" -v start="$start" '
			$1 >= t && (tag == "any" || $2 == tag) && $0 ~ ere {
				at = $1
				ms = $0
				if (start && sub(/.*\(/, "", ms) && sub(/ ms\).*/, "", ms))
					at -= ms / 1000
				printf "%.3f %s\n", at, $2
				exit
			}' "$f"
		;;
	esac
}

# pm_timeline T0 TITLE STEP@SRC@ERE...: one line per step with its offset
# from T0 (or "-" if it never happened); PM_AT[STEP] holds the epochs.
declare -A PM_AT
pm_timeline() {
	local t0=$1 title=$2 spec step src ere t src_seen
	shift 2
	PM_AT=()
	echo "timeline: $title (t0 = $(date -u -d "@$t0" +%T.%3N))"
	for spec in "$@"; do
		step=${spec%%@*}
		spec=${spec#*@}
		src=${spec%%@*}
		ere=${spec#*@}
		read -r t src_seen < <(pm_t_first "$t0" "$src" "$ere")
		PM_AT[$step]=$t
		if [ -n "$t" ]; then
			printf '  %+8.2f s  %-22s (%s)\n' "$(echo "$t $t0" | awk '{ print $1 - $2 }')" \
				"$step" "$src_seen"
		else
			printf '  %8s    %-22s (%s: not seen)\n' "-" "$step" "$src"
		fi
	done
}

# pm_dt A B: B - A in seconds, two decimals ("?" if either is missing).
pm_dt() {
	if [ -n "$1" ] && [ -n "$2" ]; then
		echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'
	else
		echo "?"
	fi
}

# pm_daemon NAME CMD...: a host fencing daemon inside libvirtd's
# namespaces, its output time-stamped into $PM/NAME.ts.
pm_daemon() {
	local name=$1
	shift
	# The daemon itself is the spawned PID (nsenter and stdbuf exec), so
	# the EXIT trap stops it; its stamper ends at EOF.
	nsenter -t "$VM_NS_PID" -m -n stdbuf -oL -eL "$@" \
		> >(exec python3 "$pm_here/rigctl.py" ts "$PM/$name.ts" "$name") 2>&1 &
	PM_DAEMON_PID=$!
	vm_pids+=("$PM_DAEMON_PID")
}

# pm_stop_daemon: SIGTERM the daemon pm_daemon started, SIGKILL after 10 s.
pm_stop_daemon() {
	kill "$PM_DAEMON_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$PM_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PM_DAEMON_PID" 2>/dev/null
	wait "$PM_DAEMON_PID" 2>/dev/null
}

# pm_registered VIA DEVICE...: stonith_admin --list-registered on VIA is
# exactly DEVICE...
pm_registered() {
	local via=$1 got
	shift
	got=$(pm_run "$via" 10 "stonith_admin --list-registered" | grep -o 'fence-[a-z]*' | sort | xargs)
	[ "$got" = "$*" ] && return 0
	sleep 1
	return 1
}

# pm_history_has VIA RE: stonith_admin --history on VIA has a line matching RE.
pm_history_has() {
	pm_run "$1" 15 "stonith_admin --history '*' --verbose" | grep -qE -- "$2" && return 0
	sleep 1
	return 1
}

# pm_hist_count VIA TARGET RE: lines of TARGET's fence history on VIA
# matching RE; pm_more_history VIA TARGET RE N waits (with vm_wait_for) for
# more than N, i.e. a fence recorded after the count.
pm_hist_count() { pm_run "$1" 15 "stonith_admin --history '$2' --verbose" | grep -c "$3"; }
pm_more_history() {
	local n
	n=$(pm_hist_count "$1" "$2" "$3")
	[ "$n" -gt "$4" ] && return 0
	sleep 1
	return 1
}

# pm_ev NODE WHAT: the ERE of libvirt's event WHAT ("Stopped Destroyed")
# for pm-NODE; pm_ev_count NODE WHAT [SRC]: how many SRC (default events,
# see pm_t_first) holds; pm_started_more NODE N [SRC]: more than N boots.
pm_ev() { echo "domain '?pm-$1'?: $2"; }
pm_ev_count() { grep -cE "$(pm_ev "$1" "$2")" "$PM/${3:-events}.log"; }
pm_started_more() { [ "$(pm_ev_count "$1" 'Started Booted' "${3:-events}")" -gt "$2" ]; }

pm_check() { # NAME CMD...: a check that passes when CMD succeeds
	local n=$1
	shift
	if "$@"; then vm_ok "$n"; else vm_fail "$n" "'$*' failed"; fi
}

# pm_domstate DOMAIN: libvirt's state word.
pm_domstate() { vm_virsh domstate "$1" 2>&1 | head -1; }

# pm_bench_report LINE...: print the tier's "name: value" figures; with
# PM_BENCH_OUT=FILE also write them as "name<TAB>value" lines for bench/.
pm_bench_report() {
	echo "bench:"
	printf '  %s\n' "$@"
	if [ -n "${PM_BENCH_OUT:-}" ]; then
		printf '%s\n' "$@" | sed 's/: /\t/' >"$PM_BENCH_OUT"
	fi
}
