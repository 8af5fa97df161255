#!/bin/bash
# tests/kmod/throughput.sh [MIB] - throughput of one virtio-serial port, each
# way, our vserial.ko vs the stock virtio_console (not a test: a benchmark;
# bench/ may call it).  Two TCG boots; in each, MIB MiB (default 64) host->
# guest and guest->host, 3 rounds.  Prints a TSV: driver, direction,
# round, bytes, ms, MB/s (guest clock, command to last byte).
. "$(dirname "$0")/../vm/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mib=${1:-64}
vm_setup kmod-tput
. "$here/kconform_rig.sh" >&2
for d in vserial:virtio_console virtio_console:vserial; do
	kconform_boot "${d%%:*}" "${d##*:}" "kmod.bench=$mib" >&2
done
printf 'driver\tdirection\tround\tbytes\tms\tMBps\n'
for drv in vserial virtio_console; do
	tr -d '\r' <"$VM_DIR/result-$drv.log" |
		awk -v d="$drv" '$1 == "VMTEST" && $2 == "info" && $3 ~ /\.bench_(h2g|g2h)$/ {
			dir = substr($3, index($3, "bench_") + 6); r[dir]++
			printf "%s\t%s\t%d\t%s\t%s\t%s\n", d, dir, r[dir], $4, $6, $8 }'
done
