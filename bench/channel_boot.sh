#!/bin/bash
# bench/channel_boot.sh DRIVER MIB - one TCG boot of tests/kmod's rig with
# DRIVER (vserial or virtio_console) bound, whichever qemu-system-x86_64 is
# first in PATH, and kconform's bench: MIB MiB host->guest then guest->host,
# 3 times.  Called by bench/channel.sh once per configuration and round, so
# that the configurations can be interleaved boot by boot.  VSF_KMOD names
# a prebuilt vserial.ko (else guest-kmod/ is built into the temp dir).
# Prints one TSV line per transfer: direction, rep, bytes, ms, MB/s (guest
# clock, command to last byte); exit 1 if the guest gave no figure.
. "$(dirname "$0")/../tests/vm/lib.sh"
drv=$1
mib=$2
here=$(cd "$vm_here/../kmod" && pwd)
src=$(cd "$here/../.." && pwd)
case $drv in
vserial) other=virtio_console ;;
virtio_console) other=vserial ;;
*) echo "usage: $0 vserial|virtio_console MIB" >&2; exit 2 ;;
esac
vm_setup chan-boot
. "$here/kconform_rig.sh" >&2
kconform_boot "$drv" "$other" "kmod.bench=$mib" >&2
tr -d '\r' <"$VM_DIR/result-$drv.log" |
	awk '$1 == "VMTEST" && $2 == "info" && $3 ~ /\.bench_(h2g|g2h)$/ {
		dir = substr($3, index($3, "bench_") + 6); r[dir]++
		printf "%s\t%d\t%s\t%s\t%s\n", dir, r[dir], $4, $6, $8; n++ }
		END { exit n == 0 }'
