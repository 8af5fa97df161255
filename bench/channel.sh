#!/bin/bash
# channel.sh - benchmark 4: bytes/s through one virtio-serial port in a TCG
# guest, host->guest (h2g) and guest->host (g2h), for each device x driver:
#   (a) stock QEMU device + stock virtio_console   (the baseline)
#   (b) stock QEMU device + our vserial.ko
#   (c) our device (hw-virtio-serial, build-qemu.sh) + stock virtio_console
#   (d) our device + our vserial.ko
# The measuring is tests/kmod/throughput.sh (the kmod engineer's rig: one
# boot per driver, MIB MiB each way, 3 rounds, guest clock from command to
# last byte); run once with the stock QEMU and once with ours first in PATH
# (tests/vsdev/our-qemu.sh's wrapper idea).  The two drivers cannot share a
# boot: they bind the same PCI device, so each driver has its own boot.
# Rows: median MB/s of the rounds and the ratio against (a).
#
# MIB = 64 (BENCH_QUICK: 1 MiB and only the stock QEMU: two boots).  Our
# QEMU is used only if build-qemu.sh has it cached or can build it.
set -u
. "$(dirname "$0")/lib.sh"
bench_setup channel qemu-system-x86_64
top=$(cd "$bench_src/.." && pwd)
MIB=${BENCH_CHANNEL_MIB:-64}
DEVICES=${BENCH_CHANNEL_DEVICES:-stock ours}
if bench_quick; then
	MIB=1
	DEVICES=stock
fi
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "no qemu-system-x86_64: run tools/install-deps"; exit 1; }

# our_qemu: a qemu-system-x86_64 wrapper for our build in $T/bin.  When
# the tree's hw-virtio-serial/ does not build (someone's work in progress),
# the newest earlier build in the cache stands in, and the output says so.
our_qemu() {
	local dir cache=${VSDEV_CACHE:-/var/cache/vserial-fence}
	dir=$("$top/hw-virtio-serial/build-qemu.sh" 2>"$T/build-qemu.log" | tail -n 1)
	if [ ! -x "$dir/qemu-system-x86_64" ]; then
		dir=$(ls -td "$cache"/qemu-*/ 2>/dev/null | while read -r d; do
			[ -x "$d/qemu-system-x86_64" ] && echo "${d%/}" && break
		done)
		[ -n "$dir" ] || return 1
		echo "# this tree's device did not build; using the cached $dir ($(date -u -r "$dir/qemu-system-x86_64" +%H:%M) UTC build)"
	fi
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec "%s/qemu-system-x86_64" -L "%s" "$@"\n' \
		"$dir" "$dir" >"$T/bin/qemu-system-x86_64"
	chmod +x "$T/bin/qemu-system-x86_64"
}

: >"$T/raw.tsv"
for dev in $DEVICES; do
	path=$PATH
	if [ "$dev" = ours ]; then
		our_qemu || { echo "# our QEMU could not be built: (c), (d) not run"; tail -3 "$T/build-qemu.log"; continue; }
		path=$T/bin:$PATH
	fi
	PATH=$path bash "$top/tests/kmod/throughput.sh" "$MIB" \
		>"$T/tput-$dev.tsv" 2>"$T/tput-$dev.log" ||
		{ echo "# throughput.sh on the $dev device failed:"; tail -5 "$T/tput-$dev.log"; }
	awk -v d="$dev" 'NR > 1 && NF == 6 { print d "\t" $0 }' \
		"$T/tput-$dev.tsv" >>"$T/raw.tsv"
	grep -q "^$dev	" "$T/raw.tsv" ||
		{ echo "# no figures from the $dev device:"; tail -n 15 "$T/tput-$dev.log"; }
done
[ -s "$T/raw.tsv" ] || exit 1
cp "$T/raw.tsv" "$BENCH_RESULTS/channel.raw.tsv"
python3 - "$T/raw.tsv" "$T/channel.tsv" "$MIB" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    dev, drv, direction, _r, _b, _ms, mbps = line.split("\t")
    rows.setdefault((dev, drv, direction), []).append(float(mbps))
label = {("stock", "virtio_console"): "a", ("stock", "vserial"): "b",
         ("ours", "virtio_console"): "c", ("ours", "vserial"): "d"}
with open(sys.argv[2], "w") as f:
    f.write("combo\tdevice\tdriver\tdirection\tmib\trounds\tmedian_MBps"
            "\tmin_MBps\tmax_MBps\tvs_stock\n")
    for key in sorted(rows, key=lambda k: (label.get(k[:2], "z"), k[2])):
        v = rows[key]
        base = rows.get(("stock", "virtio_console", key[2]))
        ratio = statistics.median(v) / statistics.median(base) if base else float("nan")
        f.write("%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.3f\n" % (
            label.get(key[:2], "?"), key[0], key[1], key[2], sys.argv[3],
            len(v), statistics.median(v), min(v), max(v), ratio))
EOF
bench_table channel "$T/channel.tsv"
echo "# TCG guest (no KVM), 1 vCPU; machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
