#!/bin/bash
# tests/pacemaker/mkrootfs.sh - the guest root file system of the pacemaker
# tier, built from Debian packages and cached by content hash.
#
#   tests/pacemaker/mkrootfs.sh [BUILDDIR]     (root; prints the cache dir)
#
# Two layers, each cached in $VSF_CACHE_DIR (default /var/cache/vserial-fence):
#
#   pcmk-base-<h1>/   `debootstrap --variant=minbase` of the host's own Debian
#                     suite with pacemaker, corosync, the CLI tools and stock
#                     fence-virt.  h1 = suite + arch + the text of
#                     build_base() (package list included).  Slow (~1.5 min
#                     cold, network), so it only changes with the recipe.
#   pcmk-img-<h2>/    root.img  raw ext4: the base plus our programs from
#                               `make install DESTDIR=` (prefix /usr), the
#                               guest init and fixed config files;
#                     initrd.gz busybox initramfs that loads the virtio, block,
#                               net, console and ext4 modules and switch_roots
#                               to /dev/vda;
#                     vmlinuz   the guest kernel.
#                     h2 = h1 + kernel version + every file added (path, mode,
#                     sha256) + the text of this script's image recipe.
#
# The mirror is read from the machine's own apt sources at run time; no host
# name is written here.  A second run with the same inputs only hashes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$(pwd)}" && pwd)
cache=${VSF_CACHE_DIR:-/var/cache/vserial-fence}
log() { echo "mkrootfs: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, mkfs)"
mkdir -p "$cache"

# --- the apt mirror and suite of this machine ------------------------------
suite() { . /etc/os-release && echo "$VERSION_CODENAME"; }

# mirror_url: the first non-security Debian URI in /etc/apt (deb822 .sources
# files, then one-line sources.list), so the guest uses what the host uses.
mirror_url() {
	local f u
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		u=$(awk -v s="$(suite)" '
			/^[Uu][Rr][Ii][Ss]:/ { uri = $2 }
			/^[Ss]uites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			/^$/ { if (ok && uri) { print uri; exit } ok = 0; uri = "" }
			END { if (ok && uri) print uri }' "$f")
		[ -n "$u" ] && { echo "$u" | head -1; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		u=$(awk -v s="$(suite)" '$1 == "deb" && $0 !~ /\[/ && $3 == s { print $2; exit }
			$1 == "deb" && $2 ~ /^\[/ && $4 == s { print $3; exit }' "$f")
		[ -n "$u" ] && { echo "$u"; return; }
	done
	return 1
}

# --- layer 1: debootstrap ---------------------------------------------------
build_base() { # build_base DIR
	local pkgs="pacemaker,pacemaker-cli-utils,corosync,fence-virt,libnss3"
	pkgs="$pkgs,iproute2,kmod,procps,psmisc,libxml2-utils"
	DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
		--include="$pkgs" "$(suite)" "$1" "$(mirror_url)" >"$1.log" 2>&1 ||
		{ tail -20 "$1.log" >&2; return 1; }
	# Nothing in the guest may need the network or a package database.
	rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
}

base_hash=$({ suite; dpkg --print-architecture; declare -f build_base; } |
	sha256sum | cut -c1-16)
base=$cache/pcmk-base-$base_hash
if [ ! -f "$base/.complete" ]; then
	command -v debootstrap >/dev/null ||
		die "no debootstrap; run tools/install-deps"
	mirror_url >/dev/null || die "no Debian mirror for $(suite) in /etc/apt"
	log "building $base (debootstrap, this takes a while)"
	t0=$(date +%s.%N)
	rm -rf "$base" "$base.tmp"
	build_base "$base.tmp" || die "debootstrap failed (log $base.tmp.log)"
	mv "$base.tmp" "$base"
	mv "$base.tmp.log" "$base.log"
	touch "$base/.complete"
	log "base built in $(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }') s"
fi

# --- layer 2: the bootable image --------------------------------------------
kver=${VSF_GUEST_KVER:-$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -1)}
[ -n "$kver" ] || die "no /boot/vmlinuz-*; run tools/install-deps (linux-image-amd64)"
moddir=/lib/modules/$kver/kernel
[ -x /bin/busybox ] || die "no /bin/busybox; run tools/install-deps (busybox-static)"
# insmod order (busybox insmod does not resolve dependencies).
MODULES="drivers/virtio/virtio_ring drivers/virtio/virtio
 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev
 drivers/virtio/virtio_pci drivers/block/virtio_blk lib/crc16 fs/mbcache
 fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4 net/core/failover
 drivers/net/net_failover drivers/net/virtio_net drivers/char/virtio_console"

work=$(mktemp -d "${TMPDIR:-/tmp}/vsf-mkrootfs.XXXXXX")
cleanup() {
	mountpoint -q "$work/merged" 2>/dev/null && umount "$work/merged"
	rm -rf "$work"
}
trap cleanup EXIT

# Our programs, exactly as a package would install them.
stage=$work/stage
make -s -C "$build" install DESTDIR="$stage" prefix=/usr sysconfdir=/etc \
	localstatedir=/var >"$work/install.log" 2>&1 ||
	{ tail -20 "$work/install.log" >&2; die "make install failed"; }
[ -x "$stage/usr/sbin/fence_vserial" ] || die "make install put no /usr/sbin/fence_vserial"
install -D -m 755 "$here/guest-init" "$stage/sbin/rig-init"

initrd_stage=$work/initrd
mkdir -p "$initrd_stage/bin" "$initrd_stage/lib/modules" "$initrd_stage/etc" "$initrd_stage/dev"
cp /bin/busybox "$initrd_stage/bin/busybox"
install -m 755 "$here/initramfs-init" "$initrd_stage/init"
for m in $MODULES; do
	cp "$moddir/$m.ko" "$initrd_stage/lib/modules/"
	echo "${m##*/}"
done >"$initrd_stage/etc/modules-order"
mknod -m 600 "$initrd_stage/dev/console" c 5 1
ln -s busybox "$initrd_stage/bin/sh"

# h2: the base, the kernel, this recipe and every file of both trees.
tree_sum() { (cd "$1" && find . \( -type f -o -type l \) -printf '%p %m\n' | LC_ALL=C sort |
	while read -r f m; do echo "$f $m $(sha256sum <"$f" 2>/dev/null | cut -c1-64)"; done) }
img_hash=$({ echo "$base_hash $kver"; sed -n '/^# --- layer 2/,$p' "$0";
	tree_sum "$stage"; tree_sum "$initrd_stage"; } | sha256sum | cut -c1-16)
img=$cache/pcmk-img-$img_hash
if [ -f "$img/.complete" ]; then
	echo "$img"
	exit 0
fi

log "building $img"
t0=$(date +%s.%N)
rm -rf "$img"
mkdir -p "$img.tmp" "$work/merged"
(cd "$initrd_stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -n -6 >"$img.tmp/initrd.gz"
cp "/boot/vmlinuz-$kver" "$img.tmp/vmlinuz"
# Our files on top of the debootstrap tree, read-only, as one tree for mkfs.
mount -t overlay overlay -o "lowerdir=$stage:$base" "$work/merged"
# No metadata_csum: the initramfs then needs no crc32c at mount time.
mkfs.ext4 -q -F -L vsfroot -O ^metadata_csum -E root_owner=0:0 \
	-d "$work/merged" "$img.tmp/root.img" 1200M >&2
umount "$work/merged"
chmod 755 "$img.tmp"
mv "$img.tmp" "$img"
touch "$img/.complete"
log "image built in $(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }') s"
# Each image allocates ~375 MB and every change to the build tree makes a
# new one: keep the newest few (a run still using an older one keeps its
# open files; only a run between this point and its `qemu-img create` could
# miss it, and only after several newer builds).
ls -1dt "$cache"/pcmk-img-*/ 2>/dev/null | grep -v '\.tmp/$' | tail -n +5 | while read -r old; do
	rm -rf "$old"
done
echo "$img"
