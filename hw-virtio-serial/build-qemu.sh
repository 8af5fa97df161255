#!/bin/sh
# build-qemu.sh - build a TCG-only qemu-system-x86_64 that carries OUR
# virtio-serial device (hw-virtio-serial/) in place of QEMU's own.
#
# Usage: hw-virtio-serial/build-qemu.sh [--fetch-only] [--print-dir]
#   Prints the directory holding the result (qemu-system-x86_64 plus the two
#   firmware files it needs, for -L) on its last stdout line.
#
# Steps: fetch Debian's qemu 7.2 source with `apt-get source` through a
# throwaway apt configuration derived from the machine's /etc/apt (deb lines
# become deb-src; /etc/apt itself is never touched), unpack it, graft our
# folder in (a symlink hw/char/vsdev plus one line in hw/char/meson.build and
# one in hw/char/Kconfig), configure with QEMU's CONFIG_VIRTIO_SERIAL off and
# our CONFIG_VSDEV_SERIAL on, and build.  The result is cached by a hash of
# every input, outside the tree, so an unchanged tree never rebuilds.
#
# Environment: VSDEV_CACHE (default /var/cache/vserial-fence), JOBS (2),
# QEMU_SRC_VERSION (default: the source version of the installed
# qemu-system-x86, else whatever the bookworm sources offer).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VSDEV_CACHE:-/var/cache/vserial-fence}
JOBS=${JOBS:-2}
SUITE_RE='^bookworm'
log() { echo "build-qemu: $*" >&2; }
die() { log "$*"; exit 1; }

mode=build
case "${1:-}" in
--fetch-only) mode=fetch ;;
--print-dir) mode=print ;;
"") ;;
*) die "unknown option '$1'; usage: $0 [--fetch-only|--print-dir]" ;;
esac

if [ -z "${QEMU_SRC_VERSION:-}" ]; then
	QEMU_SRC_VERSION=$(dpkg-query -W -f '${source:Version}' qemu-system-x86 2>/dev/null || true)
fi

# Hash of every input: this script, the device folder's core and front, and
# the QEMU source version.  Tests and fuzzers do not change the binary.
inputs_hash() {
	(cd "$HERE" && {
		echo "qemu=$QEMU_SRC_VERSION"
		find build-qemu.sh vsdev.h vsdev.c qemu -type f \
			! -name '*.o' ! -name '*~' | LC_ALL=C sort | xargs sha256sum
	}) | sha256sum | cut -c1-16
}
HASH=$(inputs_hash)
OUT=$CACHE/qemu-$HASH
if [ "$mode" = print ]; then echo "$OUT"; exit 0; fi
if [ "$mode" = build ] && [ -x "$OUT/qemu-system-x86_64" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE"
# One build at a time (make -j2 check may start two tests that need it);
# whoever waited finds the other's result.
exec 9>"$CACHE/.build-qemu.lock"
flock 9
if [ "$mode" = build ] && [ -x "$OUT/qemu-system-x86_64" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi
SRCROOT=$CACHE/src-${QEMU_SRC_VERSION:-latest}
SRCROOT=$(echo "$SRCROOT" | tr ':+~' '___')

# Turn every enabled bookworm* "deb" source of /etc/apt into a "deb-src" one
# in a private apt tree.  Both one-line (.list) and deb822 (.sources) files.
make_apt_tree() {
	a=$1
	mkdir -p "$a/sources.list.d" "$a/lists/partial" "$a/cache/archives/partial"
	: > "$a/sources.list"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$f" |
			awk -v re="$SUITE_RE" '{ for (i = 2; i <= NF; i++)
				if ($i !~ /^\[/ && $i !~ /=/ && $i !~ /\]$/) break;
				if ($(i + 1) ~ re) print }' >> "$a/sources.list"
	done
	n=0
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		# Keep stanzas that list a bookworm suite and are not disabled.
		awk -v re="$SUITE_RE" 'BEGIN { RS = ""; ORS = "\n\n" }
			/(^|\n)Enabled:[ \t]*no/ { next }
			{ ok = 0; n = split($0, L, "\n")
			  for (i = 1; i <= n; i++)
				if (L[i] ~ /^Suites:/ && L[i] ~ (" " substr(re, 2))) ok = 1
			  if (!ok) next
			  out = ""
			  for (i = 1; i <= n; i++) {
				if (L[i] ~ /^Types:/) L[i] = "Types: deb-src"
				out = out L[i] "\n"
			  }
			  printf "%s\n", out }' "$f" > "$a/sources.list.d/src$n.sources"
	done
}

apt_src() {
	a=$1; shift
	apt-get -q -o Dir::Etc::SourceList="$a/sources.list" \
		-o Dir::Etc::SourceParts="$a/sources.list.d" \
		-o Dir::State::Lists="$a/lists" \
		-o Dir::Cache="$a/cache" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

fetch_source() {
	[ -f "$SRCROOT/tree/VERSION" ] && return 0
	command -v dpkg-source >/dev/null || die "dpkg-source missing: install dpkg-dev (tools/install-deps)"
	tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
	make_apt_tree "$tmp/apt"
	grep -qs . "$tmp/apt/sources.list" "$tmp"/apt/sources.list.d/* ||
		die "no bookworm source in /etc/apt to derive a deb-src entry from"
	log "apt update (throwaway config in $tmp/apt)"
	apt_src "$tmp/apt" update >/dev/null
	want=qemu
	[ -n "$QEMU_SRC_VERSION" ] && want="qemu=$QEMU_SRC_VERSION"
	log "apt-get source $want"
	(cd "$tmp" && apt_src "$tmp/apt" source --download-only "$want" >/dev/null)
	dsc=$(ls "$tmp"/qemu_*.dsc | head -n 1)
	log "unpacking $(basename "$dsc")"
	rm -rf "$SRCROOT"
	mkdir -p "$SRCROOT"
	dpkg-source --no-check -x "$dsc" "$SRCROOT/tree" >/dev/null
	rm -rf "$tmp"
}

# The graft: one symlink and one line in each of two files.  Idempotent.
graft() {
	t=$SRCROOT/tree
	ln -sfn "$HERE" "$t/hw/char/vsdev"
	grep -q "^subdir('vsdev/qemu')" "$t/hw/char/meson.build" ||
		echo "subdir('vsdev/qemu')" >> "$t/hw/char/meson.build"
	grep -q '^source vsdev/qemu/Kconfig' "$t/hw/char/Kconfig" ||
		echo 'source vsdev/qemu/Kconfig' >> "$t/hw/char/Kconfig"
	# Just what the rig needs: i440fx PC, virtio-pci and our device, plus
	# the UHCI controller libvirt adds to every pc domain by default.
	# QEMU's own CONFIG_VIRTIO_SERIAL stays off (not selected).
	cat > "$t/configs/devices/x86_64-softmmu/vsdev.mak" <<-EOF
	CONFIG_I440FX=y
	CONFIG_VIRTIO_PCI=y
	CONFIG_USB_UHCI=y
	CONFIG_VIRTIO_SERIAL=n
	CONFIG_VSDEV_SERIAL=y
	EOF
}

configure_build() {
	b=$SRCROOT/build
	cc=gcc
	if [ -x /usr/lib/ccache/gcc ]; then
		cc=/usr/lib/ccache/gcc
		export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
	fi
	if [ ! -f "$b/build.ninja" ]; then
		mkdir -p "$b"
		log "configure (cc=$cc)"
		(cd "$b" && "$SRCROOT/tree/configure" --cc="$cc" \
			--target-list=x86_64-softmmu --without-default-features \
			--without-default-devices --with-devices-x86_64=vsdev \
			--disable-docs --disable-install-blobs \
			--disable-debug-info >"$b/configure.log" 2>&1) ||
			die "configure failed, see $b/configure.log"
	fi
	log "ninja -j$JOBS qemu-system-x86_64"
	ninja -C "$b" -j "$JOBS" qemu-system-x86_64 >"$b/ninja.log" 2>&1 ||
		{ tail -n 40 "$b/ninja.log" >&2; die "build failed, see $b/ninja.log"; }
}

install_result() {
	tmp=$(mktemp -d "$CACHE/out.XXXXXX")
	cp "$SRCROOT/build/qemu-system-x86_64" "$tmp/"
	# The DFSG build ships no firmware; the files the rig needs come from
	# Debian's seabios and qemu-system-data packages.
	for f in /usr/share/seabios/bios-256k.bin \
		/usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/kvmvapic.bin \
		/usr/share/seabios/vgabios-stdvga.bin; do
		[ -e "$f" ] && cp -L "$f" "$tmp/"
	done
	rm -rf "$OUT"
	mv "$tmp" "$OUT"
	# Keep the five newest results (about 10 MB each).
	ls -dt "$CACHE"/qemu-* 2>/dev/null | tail -n +6 | xargs -r rm -rf
}

fetch_source
[ "$mode" = fetch ] && { echo "$SRCROOT/tree"; exit 0; }
graft
configure_build
install_result
log "built: $OUT"
echo "$OUT"
