# tests/cluster/cpg_rig.sh - sourced (bash): three corosync "hosts" on one
# machine, one network namespace each, joined by a bridge that lives in a
# fourth namespace.  Nothing is added to the root namespace; the addresses
# (10.219.X.1-3) exist only inside namespaces this file creates.
#
#	rig_up              namespaces, links, corosync.conf x3, start all
#	rig_start I | rig_stop I (SIGTERM) | rig_kill I (SIGKILL)
#	rig_exec I CMD...   run CMD in host I's network namespace
#	rig_down            everything undone (also from the EXIT trap)
#
# Each corosync runs under `ip netns exec`, which gives it its own mount
# namespace; a private directory is bind-mounted over /run there, so the
# compiled-in /run/corosync.pid lock does not collide.  Client IPC uses
# abstract unix sockets, which belong to the network namespace, so a
# client started with rig_exec I talks to host I's corosync only.
# Settings: RIG_TOKEN (ms, default 500).

# Test scaffolding shared by the tests that source this file: pass/fail
# counters, the closing "N passed, N failed" line, and the start-up checks.
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

# rig_require BIN PROGRAM...: exit 77 unless root with every PROGRAM on
# PATH; exit 1 if the test's own binary BIN was not built.
rig_require() {
	local bin=$1 p
	shift
	for p in "$@"; do
		if [ "$(id -u)" -ne 0 ] || ! command -v "$p" >/dev/null; then
			echo "SKIP: needs root and $p (tools/install-deps)"
			echo "0 passed, 0 failed"
			exit 77
		fi
	done
	[ -x "$bin" ] || { echo "FAIL: $bin not built"; echo "0 passed, 1 failed"; exit 1; }
}

# Stop the test's per-host node programs (NODE_PID[1..3]), thawing any
# that a test froze, then take the rig down.
rig_nodes_cleanup() {
	local i
	for i in 1 2 3; do
		[ -n "${NODE_PID[$i]:-}" ] && kill -CONT "${NODE_PID[$i]}" 2>/dev/null
		[ -n "${NODE_PID[$i]:-}" ] && kill "${NODE_PID[$i]}" 2>/dev/null
	done
	rig_down
}

# Node programs read commands from a fifo (NODE_FD[I]) and log to the file
# that the test's own `log I` names.
# say I LINE: send LINE to host I's node program.
say() { echo "$2" >&"${NODE_FD[$1]}"; }

# wait_line I ERE SECS: wait up to SECS for ERE in host I's node log.
wait_line() {
	local f end=$((SECONDS + $3))
	f=$(log "$1")
	until grep -qE "$2" "$f" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# Private libvirtds, one per host (tests/vm/libvirt_ns.sh), each in its host's
# network namespace (migration traffic uses the host's address) with a
# mount namespace of its own for libvirt's directories.  LV_PID[I] holds
# host I's wrapper.
declare -a LV_PID=()
RIG_LVNS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../vm" && pwd)/libvirt_ns.sh
lv_uri() { echo "qemu+unix:///system?socket=$RIG_DIR/lv$1/run/libvirt-sock"; }
vsh() { local i=$1; shift; virsh -q -c "$(lv_uri "$i")" "$@"; }

# lv_start I LOG: start host I's libvirtd, its output to LOG.
lv_start() {
	mkdir -p "$RIG_DIR/lv$1"
	ip netns exec "$(rig_ns "$1")" unshare -m --propagation private \
		bash "$RIG_LVNS" "$RIG_DIR/lv$1" >"$2" 2>&1 &
	LV_PID[$1]=$!
}

# lv_start_host I LOG [HOSTNAME]: lv_start with a UTS namespace of its own
# (hostname HOSTNAME, default hI), as separate machines would have.
lv_start_host() {
	mkdir -p "$RIG_DIR/lv$1"
	ip netns exec "$(rig_ns "$1")" unshare -m -u --propagation private \
		sh -c 'hostname "$1" && exec bash "$2" "$3"' _ "${3:-h$1}" \
		"$RIG_LVNS" "$RIG_DIR/lv$1" >"$2" 2>&1 &
	LV_PID[$1]=$!
}

# lv_wait I: wait up to 30 s for host I's libvirtd to answer.
lv_wait() {
	local end=$((SECONDS + 30))
	until vsh "$1" version >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# domain_xml NAME UUID: a tiny disk-less TCG domain (sits in SeaBIOS), enough
# for libvirt to start, destroy and live-migrate.
domain_xml() {
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices><emulator>$(command -v qemu-system-x86_64)</emulator></devices>
</domain>
XML
}

# lv_stop I: host I's QEMUs (by PID), then its libvirtd, each bounded: a
# teardown must not hang on a libvirtd that is stuck or gone.
lv_stop() {
	local i=$1 d=$RIG_DIR/lv$1 p
	[ -n "${LV_PID[$i]:-}" ] || return 0
	for p in "$d"/run/qemu/*.pid; do
		[ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null
	done
	for p in libvirtd virtlogd; do
		[ -f "$d/$p.pid" ] && kill "$(cat "$d/$p.pid")" 2>/dev/null
	done
	for _ in $(seq 100); do
		kill -0 "${LV_PID[$i]}" 2>/dev/null || break
		sleep 0.1
	done
	for p in libvirtd virtlogd; do
		[ -f "$d/$p.pid" ] && kill -KILL "$(cat "$d/$p.pid")" 2>/dev/null
	done
	wait "${LV_PID[$i]}" 2>/dev/null
	LV_PID[$i]=
}

# lv_seed I FROM: copy the QEMU capability cache that host FROM's libvirtd
# wrote into host I's directory, before lv_start I.  Same binaries, same
# machine: host I's libvirtd then starts in about a second instead of
# probing QEMU again (8 s alone here; three probing at once on a loaded
# machine took 25 s).
lv_seed() {
	mkdir -p "$RIG_DIR/lv$1/cache"
	cp -a "$RIG_DIR/lv$2/cache/." "$RIG_DIR/lv$1/cache/" 2>/dev/null
}

# lv_restart I: a new libvirtd for host I after the first died, in the
# namespaces of host I's lv_start wrapper (tests/vm/libvirt_ns.sh: join
# with nsenter; its virtlogd lives on).  It takes over the QEMUs that
# outlived the old one from libvirt's state files.  lv_stop ends it.
lv_restart() {
	local d=$RIG_DIR/lv$1
	nsenter -t "${LV_PID[$1]}" -m -n \
		libvirtd -p "$d/run/libvirtd.daemon.pid" >>"$RIG_DIR/lv$1.log" 2>&1 &
	echo $! >"$d/libvirtd.pid"
	disown $!	# no job report after the test's last line
}

# rig_freeze PID: SIGSTOP PID and wait (up to 10 s) until every thread of
# it is stopped.  kill -STOP only queues the signal: PID stops when one of
# its threads next runs.  Until then it may still answer, and a signal
# with a lower number sent meanwhile (libvirt's SIGTERM) is taken first.
rig_stopped() {
	local f s
	for f in /proc/"$1"/task/*/stat; do
		s=$(sed 's/.*) //' "$f" 2>/dev/null)
		[ "${s:0:1}" = T ] || return 1
	done
}
rig_freeze() {
	local end=$((SECONDS + 10))
	kill -STOP "$1" || return 1
	until rig_stopped "$1"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.02
	done
}

RIG_ID=vsfc$$
RIG_NET=10.219.$(( $$ % 250 + 1 ))
RIG_TOKEN=${RIG_TOKEN:-500}
RIG_DIR=
declare -a RIG_PID=()

rig_ns() { echo "$RIG_ID-$1"; }

rig_exec() {
	local i=$1
	shift
	ip netns exec "$(rig_ns "$i")" "$@"
}

rig_conf() {
	local i=$1 d=$RIG_DIR/n$1
	mkdir -p "$d/run" "$d/state"
	cat >"$d/corosync.conf" <<EOF
totem {
	version: 2
	cluster_name: $RIG_ID
	transport: knet
	token: $RIG_TOKEN
	token_coefficient: 0
	consensus: $((RIG_TOKEN * 12 / 10))
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
	node {
		ring0_addr: $RIG_NET.1
		nodeid: 1
		name: h1
	}
	node {
		ring0_addr: $RIG_NET.2
		nodeid: 2
		name: h2
	}
	node {
		ring0_addr: $RIG_NET.3
		nodeid: 3
		name: h3
	}
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_logfile: yes
	logfile: $d/corosync.log
	to_syslog: no
	to_stderr: no
	timestamp: on
}
system {
	state_dir: $d/state
}
EOF
}

rig_net() {
	local br
	br=$(rig_ns br)
	ip netns add "$br" || return 1
	ip -n "$br" link add br0 type bridge &&
	ip -n "$br" link set br0 up || return 1
	for i in 1 2 3; do
		ip netns add "$(rig_ns "$i")" || return 1
		ip -n "$(rig_ns "$i")" link add eth0 type veth peer name p$i \
			netns "$br" &&
		ip -n "$br" link set p$i master br0 up &&
		ip -n "$(rig_ns "$i")" addr add "$RIG_NET.$i/24" dev eth0 &&
		ip -n "$(rig_ns "$i")" link set eth0 up &&
		ip -n "$(rig_ns "$i")" link set lo up || return 1
	done
}

rig_start() {
	local i=$1 d=$RIG_DIR/n$1
	# ip, sh and the mount all exec, so $! is corosync itself (a shell
	# function here would put a subshell's PID in $!).
	ip netns exec "$(rig_ns "$i")" sh -c "mount --bind '$d/run' /run && exec corosync -f -c '$d/corosync.conf'" \
		>>"$d/stdout" 2>&1 &
	RIG_PID[$i]=$!
}

# rig_signal I SIG: only the PID we started, and only if it is corosync.
rig_signal() {
	local i=$1 sig=$2 pid=${RIG_PID[$1]:-}
	[ -n "$pid" ] || return 0
	if grep -q corosync "/proc/$pid/cmdline" 2>/dev/null; then
		kill -"$sig" "$pid" 2>/dev/null
	fi
}

# rig_wait_gone I SECONDS: wait for host I's corosync to exit.
rig_wait_gone() {
	local i=$1 pid=${RIG_PID[$1]:-} end=$((SECONDS + $2))
	[ -n "$pid" ] || return 0
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	rig_shm_clean "$pid"
	RIG_PID[$i]=
}

rig_stop() { rig_signal "$1" TERM; rig_wait_gone "$1" 10; }
rig_kill() { rig_signal "$1" KILL; rig_wait_gone "$1" 5; }

# libqb's shared memory files carry the server's PID in their names.
rig_shm_clean() {
	rm -rf /dev/shm/qb-"$1"-* \
		/dev/shm/qb-corosync-"$1"-* 2>/dev/null
}

rig_up() {
	RIG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vsf-cpg.XXXXXX") || return 1
	rig_net || return 1
	for i in 1 2 3; do
		rig_conf "$i"
		rig_start "$i"
	done
}

rig_down() {
	for i in 1 2 3; do
		rig_signal "$i" TERM
	done
	for i in 1 2 3; do
		rig_wait_gone "$i" 10 || { rig_signal "$i" KILL; rig_wait_gone "$i" 5; }
	done
	for ns in 1 2 3 br; do
		ip netns del "$(rig_ns "$ns")" 2>/dev/null
	done
	[ -n "$RIG_DIR" ] && [ -z "${KEEP_RIG:-}" ] && rm -rf "$RIG_DIR"
}
