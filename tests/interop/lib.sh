# tests/interop/lib.sh - shared helpers for end-to-end test scripts (bash).
#
#   . "$(dirname "$0")/lib.sh"
#   vsf_setup                    # temp dir $VSF_TMP, EXIT trap, counters
#   ... start peers, run checks ...
#   vsf_finish                   # prints "N passed, N failed", exits 0 or 1
#
# Processes:
#   vsf_bg NAME CMD...           run CMD in the background with stdout and
#                                stderr in $VSF_TMP/NAME.log; sets VSF_PID.
#                                Every such PID is stopped by the EXIT trap.
#   vsf_stop PID                 SIGTERM, up to 3 s grace, then SIGKILL.
#   vsf_wait_exit PID [SEC]      wait (default 30 s) for a vsf_bg process to
#                                end; sets VSF_RC; returns 1 on timeout.
#   vsf_wait_line FILE ERE [SEC] [PID]
#                                wait (default 10 s) until FILE has a line
#                                matching ERE; returns 1 on timeout, 2 as
#                                soon as PID (if given) has exited.
#   vsf_start_fence_virtd NAME CONF READY_ERE [SEC]
#                                start the STOCK fence_virtd in the
#                                foreground mode (-F -d $VSF_FVD_DEBUG,
#                                default 5; line-buffered; own pid file) as
#                                vsf_bg NAME, then wait for READY_ERE in its
#                                log; returns 1 (and stops it) if it exits
#                                or is not ready in SEC (default 10) s.
# Files:
#   vsf_key FILE [BYTES]         random key file, mode 0600 (default 256 B).
#   vsf_free_port                print a tcp port on 127.0.0.1 free just now.
#   vsf_node_xml FILE DOM...     libvirt test-driver node file, for the URI
#                                test://FILE.  DOM is NAME:UUID[:off] with
#                                optional :serial=SOCK and/or :channel=SOCK
#                                (a unix socket in bind mode, as QEMU has).
#   vsf_conf_serial FILE URI SOCKDIR MODE KEY [EXTRA]
#   vsf_conf_tcp FILE URI PORT KEY HASH [EXTRA]
#                                a fence_virt.conf with the serial or tcp
#                                listener and the libvirt backend on URI;
#                                EXTRA (e.g. a groups block) is appended.
# Results:
#   vsf_pass MSG | vsf_fail MSG  count one check
#   vsf_check MSG WANT GOT       pass if WANT = GOT, else fail showing both
#   vsf_check_grep MSG FILE ERE  pass if FILE has a line matching ERE
#   vsf_skip MSG                 exit 77: a prerequisite cannot exist here
#   vsf_finish                   tally, dump logs on failure, exit 0/1
#
# Set VSF_KEEP=1 to keep $VSF_TMP after the run.  Paths to programs can be
# overridden: FENCE_VIRT, FENCE_VIRTD, VSF_PEER (default: the build tree's
# tests/interop/vsf_peer, found from the current directory as make check
# runs tests from the top build directory).

VSF_PASSED=0
VSF_FAILED=0
VSF_PIDS=""
FENCE_VIRT=${FENCE_VIRT:-/usr/sbin/fence_virt}
FENCE_VIRTD=${FENCE_VIRTD:-/usr/sbin/fence_virtd}
VSF_PEER=${VSF_PEER:-$PWD/tests/interop/vsf_peer}
VSF_FV_MODULES=${VSF_FV_MODULES:-/usr/lib/x86_64-linux-gnu/fence-virt}

vsf_setup() {
	VSF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vsf-test.XXXXXX") || exit 1
	trap vsf_cleanup EXIT
	trap 'exit 1' INT TERM
}

vsf_cleanup() {
	local pid
	for pid in $VSF_PIDS; do
		vsf_stop "$pid"
	done
	if [ "${VSF_KEEP:-0}" = 1 ]; then
		echo "kept $VSF_TMP" >&2
	elif [ -n "${VSF_TMP:-}" ]; then
		rm -rf "$VSF_TMP"
	fi
}

vsf_skip() {
	echo "SKIP: $*"
	echo "0 passed, 0 failed"
	exit 77
}

vsf_require_prog() {
	local p
	for p in "$@"; do
		[ -x "$p" ] || command -v "$p" >/dev/null 2>&1 ||
			vsf_skip "$p not found (run tools/install-deps)"
	done
}

vsf_pass() {
	VSF_PASSED=$((VSF_PASSED + 1))
	[ -n "${VSF_VERBOSE:-}" ] && echo "ok: $*"
	return 0
}

vsf_fail() {
	VSF_FAILED=$((VSF_FAILED + 1))
	echo "FAIL: $*"
	return 0
}

vsf_check() {
	if [ "$2" = "$3" ]; then
		vsf_pass "$1"
	else
		vsf_fail "$1: want '$2', got '$3'"
	fi
}

vsf_check_grep() {
	if grep -qE -- "$3" "$2" 2>/dev/null; then
		vsf_pass "$1"
	else
		vsf_fail "$1: no line matching '$3' in $(basename "$2")"
	fi
}

vsf_finish() {
	local f
	if [ "$VSF_FAILED" -gt 0 ]; then
		for f in "$VSF_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	echo "$VSF_PASSED passed, $VSF_FAILED failed"
	[ "$VSF_FAILED" -eq 0 ] && [ "$VSF_PASSED" -gt 0 ] && exit 0
	exit 1
}

vsf_bg() {
	local name=$1
	shift
	"$@" >"$VSF_TMP/$name.log" 2>&1 &
	VSF_PID=$!
	VSF_PIDS="$VSF_PIDS $VSF_PID"
}

vsf_forget_pid() {
	local p out=""
	for p in $VSF_PIDS; do
		[ "$p" = "$1" ] || out="$out $p"
	done
	VSF_PIDS=$out
}

vsf_stop() {
	local pid=$1 i
	vsf_forget_pid "$pid"
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 60); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

vsf_wait_exit() {
	local pid=$1 ticks=$(( ${2:-30} * 20 ))
	while kill -0 "$pid" 2>/dev/null; do
		ticks=$((ticks - 1))
		[ "$ticks" -le 0 ] && { VSF_RC=124; return 1; }
		sleep 0.05
	done
	wait "$pid"
	VSF_RC=$?
	vsf_forget_pid "$pid"
	return 0
}

vsf_wait_line() {
	local file=$1 ere=$2 ticks=$(( ${3:-10} * 20 )) pid=${4:-}
	until grep -qE -- "$ere" "$file" 2>/dev/null; do
		ticks=$((ticks - 1))
		[ "$ticks" -le 0 ] && return 1
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -qE -- "$ere" "$file" 2>/dev/null && return 0
			return 2
		fi
		sleep 0.05
	done
	return 0
}

vsf_key() {
	head -c "${2:-256}" /dev/urandom >"$1" && chmod 600 "$1"
}

vsf_free_port() {
	"$VSF_PEER" free-port
}

# One <domain> of a test-driver node file, from NAME:UUID[:off][:serial=S]...
vsf_node_domain() {
	local name uuid rest field state="" fields
	IFS=: read -r name uuid rest <<<"$1"
	echo "  <domain type='test'>"
	echo "    <name>$name</name>"
	echo "    <uuid>$uuid</uuid>"
	echo "    <memory>65536</memory>"
	echo "    <os><type>hvm</type></os>"
	echo "    <devices>"
	IFS=: read -ra fields <<<"$rest"
	for field in "${fields[@]}"; do
		case $field in
		off) state=5 ;;
		serial=*)
			echo "      <serial type='unix'><source mode='bind' path='${field#serial=}'/><target port='1'/></serial>" ;;
		channel=*)
			echo "      <channel type='unix'><source mode='bind' path='${field#channel=}'/><target type='virtio' name='org.vsf.fence.0'/></channel>" ;;
		"") ;;
		*) echo "vsf_node_domain: bad field '$field'" >&2; return 1 ;;
		esac
	done
	echo "    </devices>"
	[ -n "$state" ] && echo "    <test:runstate>$state</test:runstate>"
	echo "  </domain>"
}

vsf_node_xml() {
	local file=$1 d
	shift
	{
		echo "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
		for d in "$@"; do
			vsf_node_domain "$d" || return 1
		done
		echo "</node>"
	} >"$file"
}

vsf_conf_serial() {
	cat >"$1" <<EOF
fence_virtd {
	listener = "serial";
	backend = "libvirt";
	module_path = "$VSF_FV_MODULES";
}
listeners {
	serial {
		uri = "$2";
		path = "$3";
		mode = "$4";
		key_file = "$5";
	}
}
backends {
	libvirt {
		uri = "$2";
	}
}
${6:-}
EOF
	chmod 600 "$1"
}

vsf_conf_tcp() {
	cat >"$1" <<EOF
fence_virtd {
	listener = "tcp";
	backend = "libvirt";
	module_path = "$VSF_FV_MODULES";
}
listeners {
	tcp {
		address = "127.0.0.1";
		port = "$3";
		key_file = "$4";
		hash = "$5";
	}
}
backends {
	libvirt {
		uri = "$2";
	}
}
${6:-}
EOF
	chmod 600 "$1"
}

vsf_start_fence_virtd() {
	local name=$1 conf=$2 ready=$3 sec=${4:-10}
	# The daemon logs with stdio to stdout: force line buffering so the
	# readiness line shows up when it happens, not at exit.
	vsf_bg "$name" stdbuf -oL -eL "$FENCE_VIRTD" -F -d "${VSF_FVD_DEBUG:-5}" \
		-f "$conf" -p "$VSF_TMP/$name.pid"
	if ! vsf_wait_line "$VSF_TMP/$name.log" "$ready" "$sec" "$VSF_PID"; then
		echo "fence_virtd ($name) exited or not ready after ${sec}s: no '$ready'"
		vsf_stop "$VSF_PID"
		return 1
	fi
	return 0
}
