# bench/lib.sh - shared by the bench/*.sh benchmarks (bash, sourced).
#
# Builds on tests/interop/lib.sh (vsf_bg, vsf_stop, vsf_wait_line, vsf_key,
# vsf_start_fence_virtd...): every process a benchmark starts is stopped by
# PID at exit and its temp dir removed (BENCH_KEEP=1 keeps it).
#
#   bench_setup NAME PROG...  temp dir $T, results dir; exit 77 unless
#                             every PROG (and python3) is there
#   bench_quick               true in smoke mode (BENCH_QUICK=1): tiny sizes
#   bench_node_xml FILE PREFIX N DIR [EXTRA-DOMAIN...]
#                             test-driver node with N running domains
#                             PREFIX<i>, each with a <channel> unix socket
#                             DIR/PREFIX<i>.sock in bind mode (QEMU's side)
#   bench_conf FILE URI DIR KEY [EXTRA]
#                             fence_virt.conf: serial listener, vmchannel
#                             mode, libvirt backend; read by both daemons
#   bench_cpu_ticks PID       utime+stime of PID in clock ticks
#   bench_rss_kb PID          VmRSS of PID in kB
#   bench_table NAME TSV      turn a result TSV (header line first) into
#                             bench/results/NAME.json and print it as a table
#
# Paths: FENCED (our daemon), AGENT (our agent), FENCE_VIRT, FENCE_VIRTD,
# BENCH_BIN (where chanpeer and spawnlat were built; default bench/ of the
# current directory, the top build directory).

bench_src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$bench_src/../tests/interop/lib.sh"

FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
AGENT=${AGENT:-$PWD/fence-agent/fence_vserial}
BENCH_BIN=${BENCH_BIN:-$PWD/bench}
BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench/results}
BENCH_QUICK=${BENCH_QUICK:-0}

bench_quick() { [ "$BENCH_QUICK" = 1 ]; }

bench_setup() {
	BENCH_NAME=$1
	shift
	vsf_require_prog python3 "$@"
	[ "${BENCH_KEEP:-0}" = 1 ] && VSF_KEEP=1
	# Our own prefix: other people's clean-ups of vsf-test.* dirs in a
	# shared /tmp removed a benchmark's directory under its feet once.
	VSF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vsf-bench-$BENCH_NAME.XXXXXX") || exit 1
	trap vsf_cleanup EXIT
	trap 'exit 1' INT TERM
	T=$VSF_TMP
	mkdir -p "$BENCH_RESULTS" "$T/sock"
}

bench_domain() {
	printf "<domain type='test'><name>%s</name><uuid>%s</uuid><memory>1024</memory><os><type>hvm</type></os><devices>" "$1" "$2"
	[ -n "$3" ] && printf "<channel type='unix'><source mode='bind' path='%s'/><target type='virtio' name='org.clusterlabs.fence.0'/></channel>" "$3"
	printf "</devices></domain>\n"
}

bench_node_xml() {
	local file=$1 prefix=$2 n=$3 dir=$4 i d
	shift 4
	{
		echo "<node>"
		for ((i = 0; i < n; i++)); do
			bench_domain "$prefix$i" \
				"$(printf '00000000-0000-4000-8000-%012d' "$i")" \
				"$dir/$prefix$i.sock"
		done
		i=0
		for d in "$@"; do
			bench_domain "$d" \
				"$(printf '00000000-0000-4000-9000-%012d' "$i")" ""
			i=$((i + 1))
		done
		echo "</node>"
	} >"$file"
}

bench_conf() {
	vsf_conf_serial "$1" "$2" "$3" vmchannel "$4" "${5:-}"
}

bench_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

bench_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

bench_table() {
	python3 "$bench_src/stats.py" table "$1" "$2" "$BENCH_RESULTS/$1.json"
}
