#!/bin/bash
# channel.sh - benchmark 4: bytes/s through one virtio-serial port in a TCG
# guest, host->guest (h2g) and guest->host (g2h), for each device x driver:
#   (a) stock QEMU device + stock virtio_console   (the baseline)
#   (b) stock QEMU device + our vserial.ko
#   (c) our device (hw-virtio-serial, build-qemu.sh) + stock virtio_console
#   (d) our device + our vserial.ko
# One boot per configuration and round (bench/channel_boot.sh: tests/kmod's
# rig, kconform's bench, MIB MiB each way 3 times, guest clock from command
# to last byte).  The boots are interleaved -- round 1 a b c d, round 2
# d c b a, ... -- because the machine is shared: load that drifts during
# the run falls on every configuration alike.  Rows: median MB/s over all
# transfers, and the ratio against (a) two ways: of the medians, and the
# median of the per-round ratios (each round's median against (a)'s median
# of the same round: the paired figure, steadier under drift).
#
# Environment: BENCH_CHANNEL_MIB (64), BENCH_CHANNEL_ROUNDS (6),
# BENCH_CHANNEL_DEVICES ("stock ours": which of a-d run),
# BENCH_CHANNEL_EXTRA: more configurations, "LABEL:QEMUDIR:DRIVER[:KO]"
# separated by spaces (QEMUDIR: a build-qemu.sh result directory or
# "stock"; KO: a vserial.ko for DRIVER=vserial), e.g. an older build of our
# device against the current one in the same run.  BENCH_QUICK: 1 MiB, one
# round, stock device only (two boots).
set -u
. "$(dirname "$0")/lib.sh"
bench_setup channel qemu-system-x86_64
top=$(cd "$bench_src/.." && pwd)
MIB=${BENCH_CHANNEL_MIB:-64}
ROUNDS=${BENCH_CHANNEL_ROUNDS:-6}
DEVICES=${BENCH_CHANNEL_DEVICES:-stock ours}
if bench_quick; then
	MIB=1
	ROUNDS=1
	DEVICES=stock
fi
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "no qemu-system-x86_64: run tools/install-deps"; exit 1; }

# our_qemu: the directory of our QEMU build.  When the tree's
# hw-virtio-serial/ does not build (someone's work in progress), the newest
# earlier build in the cache stands in, and the output says so.
our_qemu() {
	local dir cache=${VSDEV_CACHE:-/var/cache/vserial-fence}
	dir=$("$top/hw-virtio-serial/build-qemu.sh" 2>"$T/build-qemu.log" | tail -n 1)
	if [ ! -x "$dir/qemu-system-x86_64" ]; then
		dir=$(ls -td "$cache"/qemu-*/ 2>/dev/null | while read -r d; do
			[ -x "$d/qemu-system-x86_64" ] && echo "${d%/}" && break
		done)
		[ -n "$dir" ] || return 1
		echo "# this tree's device did not build; using the cached $dir ($(date -u -r "$dir/qemu-system-x86_64" +%H:%M) UTC build)" >&2
	fi
	echo "$dir"
}

# qemu_bin LABEL DIR: a directory whose qemu-system-x86_64 runs DIR's build
# (with -L DIR: the DFSG build installs no firmware; "stock": Debian's) and
# samples the CPU time of QEMU's threads every 0.1 s into $T/cpu-LABEL (the
# last sample before exit survives): the main loop thread (the device,
# chardevs) and the vCPU thread (the guest: driver, interrupts) apart.
qemu_bin() {
	local exe=/usr/bin/qemu-system-x86_64 lflag=
	[ "$2" = stock ] || { exe=$2/qemu-system-x86_64; lflag="-L $2"; }
	mkdir -p "$T/bin-$1"
	cat >"$T/bin-$1/qemu-system-x86_64" <<WRAP
#!/bin/bash
$exe $lflag "\$@" -name bench,debug-threads=on &
pid=\$!
trap 'kill \$pid 2>/dev/null' TERM INT
while kill -0 \$pid 2>/dev/null; do
	s=
	for t in /proc/\$pid/task/*; do
		read -r c <"\$t/comm" && read -r st <"\$t/stat" || continue
		st=\${st##*) }
		set -- \$st
		s+="\$c	\${12}	\${13}
"
	done
	# The vCPU thread exits first at power-off: keep the sample before.
	case \$s in *"CPU "*) printf '%s' "\$s" >"$T/cpu-$1" ;; esac
	sleep 0.1
done
wait \$pid
WRAP
	chmod +x "$T/bin-$1/qemu-system-x86_64"
	echo "$T/bin-$1"
}

# The configurations: label, device name, qemu dir, driver, module.
configs=()
ours=
for dev in $DEVICES; do
	if [ "$dev" = ours ]; then
		ours=$(our_qemu) || { echo "# our QEMU could not be built: (c), (d) not run"; tail -3 "$T/build-qemu.log"; continue; }
		configs+=("c:ours:$ours:virtio_console:" "d:ours:$ours:vserial:")
	else
		configs+=("a:stock:stock:virtio_console:" "b:stock:stock:vserial:")
	fi
done
for x in ${BENCH_CHANNEL_EXTRA:-}; do
	IFS=: read -r l q d k <<<"$x"
	configs+=("$l:$l:$q:$d:$k")
done
# One vserial.ko for every boot (built once here, not in each boot).
kdir=/lib/modules/$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)/build
if [ -z "${VSF_KMOD:-}" ] && [ -f "$kdir/Makefile" ]; then
	mkdir -p "$T/kmod"
	cp "$top"/guest-kmod/{vserial.c,vserial_ctl.h,vserial_hvc.h,Kbuild} "$T/kmod/"
	make -s -C "$kdir" M="$T/kmod" modules >"$T/kmod.log" 2>&1 &&
		strip --strip-debug -o "$T/vserial.ko" "$T/kmod/vserial.ko" &&
		export VSF_KMOD=$T/vserial.ko
fi

: >"$T/raw.tsv"
: >"$T/cpu.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
	order=("${configs[@]}")
	if ((r % 2 == 0)); then
		order=()
		for ((i = ${#configs[@]} - 1; i >= 0; i--)); do
			order+=("${configs[i]}")
		done
	fi
	for c in "${order[@]}"; do
		IFS=: read -r label dev qdir drv ko <<<"$c"
		bin=$(qemu_bin "$label" "$qdir")
		load=$(cut -d' ' -f1 /proc/loadavg)
		PATH=${bin:+$bin:}$PATH VSF_KMOD=${ko:-${VSF_KMOD:-}} \
			bash "$bench_src/channel_boot.sh" "$drv" "$MIB" \
			>"$T/boot.tsv" 2>"$T/boot-$label-$r.log" ||
			{ echo "# round $r ($label): no figures:"; tail -n 8 "$T/boot-$label-$r.log"; }
		awk -v l="$label" -v d="$dev" -v v="$drv" -v r="$r" -v ld="$load" \
			'NF == 5 { print l "\t" d "\t" v "\t" r "\t" ld "\t" $0 }' \
			"$T/boot.tsv" >>"$T/raw.tsv"
		# QEMU's CPU ticks in this boot: main loop thread, vCPU thread.
		[ -s "$T/boot.tsv" ] && awk -F'\t' -v l="$label" -v r="$r" \
			'$1 ~ /^qemu-system/ { m += $2 + $3 } $1 ~ /^CPU / { c += $2 + $3 }
			END { print l "\t" r "\t" m "\t" c }' "$T/cpu-$label" >>"$T/cpu.tsv"
		rm -f "$T/cpu-$label"
	done
done
[ -s "$T/raw.tsv" ] || exit 1
cp "$T/raw.tsv" "$BENCH_RESULTS/channel.raw.tsv"
cp "$T/cpu.tsv" "$BENCH_RESULTS/channel.cpu.tsv"
python3 - "$T/raw.tsv" "$T/channel.tsv" "$MIB" "$T/cpu.tsv" "$(getconf CLK_TCK)" <<'EOF'
import statistics, sys
rows, rounds, loads, cpu = {}, {}, [], {}
for line in open(sys.argv[4]):
    label, _rnd, main, vcpu = line.rstrip("\n").split("\t")
    if main and vcpu:
        cpu.setdefault(label, []).append((int(main), int(vcpu)))
hz = float(sys.argv[5])
for line in open(sys.argv[1]):
    label, dev, drv, rnd, load, direction, _rep, _b, _ms, mbps = \
        line.rstrip("\n").split("\t")
    key = (label, dev, drv, direction)
    rows.setdefault(key, []).append(float(mbps))
    rounds.setdefault((label, direction, rnd), []).append(float(mbps))
    loads.append(float(load))
med = statistics.median
with open(sys.argv[2], "w") as f:
    f.write("combo\tdevice\tdriver\tdirection\tmib\ttransfers\tmedian_MBps"
            "\tmin_MBps\tmax_MBps\tvs_stock\tpaired_vs_stock\tpaired_range"
            "\tmain_cpu_s\tvcpu_cpu_s\tload\n")
    for key in sorted(rows, key=lambda k: (k[0], k[3])):
        label, dev, drv, direction = key
        v = rows[key]
        base = rows.get(("a", "stock", "virtio_console", direction))
        ratio = med(v) / med(base) if base else float("nan")
        paired = []
        for (l, d, rnd), x in rounds.items():
            b = rounds.get(("a", d, rnd))
            if l == label and d == direction and b:
                paired.append(med(x) / med(b))
        pr = "%.2f-%.2f" % (min(paired), max(paired)) if paired else "-"
        c = cpu.get(label, [(0, 0)])
        f.write("%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%s"
                "\t%.2f\t%.2f\t%.1f-%.1f\n" % (
                    label, dev, drv, direction, sys.argv[3], len(v), med(v),
                    min(v), max(v), ratio,
                    med(paired) if paired else float("nan"), pr,
                    med([x[0] for x in c]) / hz, med([x[1] for x in c]) / hz,
                    min(loads), max(loads)))
EOF
bench_table channel "$T/channel.tsv"
echo "# TCG guest (no KVM), 1 vCPU; $ROUNDS interleaved rounds; machine: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
