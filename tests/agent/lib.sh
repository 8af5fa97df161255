# tests/agent/lib.sh - shared by the fence_vserial shell tests.
#
# Sourced; expects to run from the top build directory (as `make check`
# does).  AGENT overrides the binary, srcdir (set by automake) finds the
# helper scripts.  Each test calls `finish` last: it prints the
# "N passed, N failed" line and sets the exit status.

AGENT=${AGENT:-./fence-agent/fence_vserial}
srcdir=${srcdir:-.}
HERE="$srcdir/tests/agent"
pass=0
fail=0
PIDS=""

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION SHELL-CONDITION (eval'ed at check time)
check() { if eval "$2"; then ok; else bad "$1"; fi; }

skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 77; }

# Remember a background process so that cleanup stops it (by PID).
track() { PIDS="$PIDS $1"; }

stop_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=""
}

# wait_for SECONDS SHELL-CONDITION: poll the condition until it holds.
wait_for() {
	limit=$(($1 * 20)); i=0
	while ! eval "$2"; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.05
	done
	return 0
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

setup_tmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/agent_test.XXXXXX") || exit 1
	trap 'stop_all; rm -rf "$T"' EXIT
	trap 'exit 1' INT TERM
}

now_ms() { date +%s%3N; }

# run_agent OUT-PREFIX ARGS...: runs the agent, leaves $1.out, $1.err, rc.
run_agent() {
	pfx=$1; shift
	"$AGENT" "$@" >"$pfx.out" 2>"$pfx.err"
	rc=$?
}

# A libvirt test-driver node with guest1 (our channel) and guest2.
write_node_xml() {
	cat >"$T/node.xml" <<EOF
<?xml version="1.0"?>
<node>
  <domain type='test'>
    <name>guest1</name>
    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
    <memory>65536</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <channel type='unix'>
        <source mode='bind' path='$T/sock/guest1.sock'/>
        <target type='virtio' name='org.clusterlabs.fence.0'/>
      </channel>
    </devices>
  </domain>
  <domain type='test'>
    <name>guest2</name>
    <uuid>8d8a5bb4-7ae8-4f4f-9d7a-4f1f1b8e2b02</uuid>
    <memory>65536</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
  </domain>
</node>
EOF
}

# start_daemon DEBUG READY-CONDITION: start the daemon named by $DAEMON
# ("stock": fence_virtd, "ours": vserial-fenced) on the $T/fv.conf that the
# test's write_conf writes, then wait up to 10 s for READY-CONDITION.
start_daemon() {
	case $DAEMON in
	stock)
		command -v fence_virtd >/dev/null ||
			skip "fence_virtd missing: install fence-virtd"
		write_conf
		fence_virtd -F -d "$1" -f "$T/fv.conf" -p "$T/fv.pid" \
			>"$T/daemon.log" 2>&1 &
		;;
	ours)
		VFD=${VSERIAL_FENCED:-./fenced-host/vserial-fenced}
		[ -x "$VFD" ] || skip "our daemon ($VFD) is not built"
		write_conf
		"$VFD" -F -d 1 -f "$T/fv.conf" >"$T/daemon.log" 2>&1 &
		;;
	*)
		bad "AGENT_TEST_DAEMON='$DAEMON': want stock or ours"
		return 1
		;;
	esac
	track $!
	wait_for 10 "$2"
}

make_key() {
	head -c 256 /dev/urandom >"$1"
	chmod 600 "$1"
}
