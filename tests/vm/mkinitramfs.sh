#!/bin/sh
# mkinitramfs.sh - build (or find in the cache) the guest initramfs for tests/vm.
#
#   tests/vm/mkinitramfs.sh [-k KVER] [-m MODULE.ko]... [SRC[:DEST[:MODE]]]...
#
# Prints the path of a gzip'd newc cpio holding: busybox-static as /bin/busybox,
# tests/vm/init as /init, the Debian guest kernel's virtio modules (load order in
# /etc/rig-modules), any extra modules given with -m (loaded after virtio_pci,
# before virtio_console), and the extra files SRC copied to DEST (default: the
# same absolute path) with MODE (default 755 if SRC is executable, else 644;
# every file is owned by root).  A dynamically linked ELF extra brings the shared
# libraries ldd lists for it, at their own paths, so it runs in the guest.
#
# The archive is named after the sha256 of everything that goes in (file
# contents, modes, destinations, this script, the kernel version), so a second
# run with the same inputs only hashes and prints the cached path.  Cache:
# $VSF_CACHE_DIR, else /var/cache/vserial-fence, else a per-user dir in $TMPDIR.
#
# KVER is the guest kernel from linux-image-amd64 (the newest /boot/vmlinuz-*),
# not `uname -r`: the build machine may run a different kernel.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
busybox=${VSF_BUSYBOX:-/bin/busybox}
kver=${VSF_GUEST_KVER:-}
extra_mods=""

die() { echo "mkinitramfs: $*" >&2; exit 1; }

while getopts k:m: opt; do
	case $opt in
	k) kver=$OPTARG ;;
	m) [ -f "$OPTARG" ] || die "module '$OPTARG' not found"
	   extra_mods="$extra_mods $OPTARG" ;;
	*) die "usage: mkinitramfs.sh [-k KVER] [-m MOD.ko]... [SRC[:DEST]]..." ;;
	esac
done
shift $((OPTIND - 1))

if [ -z "$kver" ]; then
	# Newest installed Debian kernel; sort -V orders 6.1.0-9 before 6.1.0-56.
	kver=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' |
		sort -V | tail -1)
fi
[ -n "$kver" ] || die "no /boot/vmlinuz-*; apt-get install linux-image-amd64"
moddir=/lib/modules/$kver/kernel
[ -d "$moddir" ] || die "no $moddir; apt-get install linux-image-amd64"
[ -x "$busybox" ] || die "no $busybox; apt-get install busybox-static"
# A dynamic busybox (package busybox) would need its libraries in the guest.
file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
file_is_static "$busybox" || die "$busybox is dynamic; apt-get install busybox-static"
command -v cpio >/dev/null || die "no cpio; apt-get install cpio"

# Load order matters: busybox insmod does not resolve dependencies.
mods="virtio/virtio_ring virtio/virtio virtio/virtio_pci_legacy_dev
 virtio/virtio_pci_modern_dev virtio/virtio_pci"
console_mod=char/virtio_console

# manifest lines: "DEST MODE SRC"; the hash covers DEST, MODE and SRC's bytes.
manifest=$(mktemp)
stage=$(mktemp -d)
trap 'rm -rf "$manifest" "$stage"' EXIT

add() { # add SRC DEST MODE
	[ -f "$1" ] || die "'$1' not found"
	printf '%s %s %s\n' "$2" "$3" "$1" >>"$manifest"
}

add_libs() { # add_libs ELF: every library ldd resolves, at its own path
	libs=$(LC_ALL=C ldd "$1") || die "ldd '$1' failed"
	case $libs in *"not found"*) die "'$1' needs a library ldd cannot find: $libs" ;; esac
	echo "$libs" | while read -r a b c _; do
		case "$a $b $c" in
		*" => /"*) add "$c" "$c" 755 ;;
		/*) add "$a" "$a" 755 ;;           # the dynamic loader
		esac
	done
}

add "$busybox" /bin/busybox 755
add "$here/init" /init 755
add "$here/rig.sh" /lib/rig.sh 644
for m in $mods; do
	add "$moddir/drivers/$m.ko" "/lib/modules/${m##*/}.ko" 644
done
for m in $extra_mods; do
	b=$(basename "$m")
	add "$m" "/lib/modules/$b" 644
done
add "$moddir/drivers/$console_mod.ko" /lib/modules/virtio_console.ko 644
for x in "$@"; do
	src=${x%%:*}
	dest=$src mode=""
	case $x in *:*) dest=${x#*:} ;; esac
	case $dest in *:*) mode=${dest#*:}; dest=${dest%%:*} ;; esac
	case $dest in /*) ;; *) die "'$x': DEST must be absolute" ;; esac
	case $mode in "" | [0-7][0-7][0-7] | [0-7][0-7][0-7][0-7]) ;;
	*) die "'$x': MODE must be octal" ;; esac
	[ -f "$src" ] || die "'$src' not found"
	if [ -z "$mode" ]; then
		mode=644
		[ -x "$src" ] && mode=755
	fi
	add "$src" "$dest" "$mode"
	file_is_static "$src" || add_libs "$src"
done
sort -u -o "$manifest" "$manifest"

# The hash: this script, the kernel version, then per file DEST MODE sha256.
hash=$({
	sha256sum "$0" | cut -d' ' -f1
	echo "$kver"
	echo "$extra_mods" | tr ' ' '\n' | xargs -r -n1 basename
	while read -r dest mode src; do
		printf '%s %s %s\n' "$dest" "$mode" "$(sha256sum "$src" | cut -d' ' -f1)"
	done <"$manifest"
} | sha256sum | cut -d' ' -f1)

cache=${VSF_CACHE_DIR:-/var/cache/vserial-fence}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	cache=${TMPDIR:-/tmp}/vserial-fence-cache-$(id -u)
	mkdir -p "$cache"
fi
out=$cache/initramfs-$hash.cpio.gz
if [ -s "$out" ]; then
	touch "$out" 2>/dev/null || true	# in use: keep it past the pruning below
	echo "$out"
	exit 0
fi

# Build: the manifest into a staging tree, then cpio it.
mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" \
	"$stage/tmp" "$stage/etc" "$stage/lib/modules" "$stage/usr/bin" \
	"$stage/usr/sbin" "$stage/root"
while read -r dest mode src; do
	mkdir -p "$stage$(dirname "$dest")"
	cp -L "$src" "$stage$dest"
	chmod "$mode" "$stage$dest"
done <"$manifest"
ln -s busybox "$stage/bin/sh"
# mktemp made the root 0700: a guest user could not even reach /bin.
chmod 755 "$stage"
chmod 1777 "$stage/tmp"
# The kernel opens /dev/console before /init runs and devtmpfs is mounted.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
for m in $mods; do echo "${m##*/}"; done >"$stage/etc/rig-modules"
for m in $extra_mods; do basename "$m" .ko; done >>"$stage/etc/rig-modules"
echo virtio_console >>"$stage/etc/rig-modules"
echo "$kver" >"$stage/etc/rig-kver"

tmp=$out.tmp.$$
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -n -6 >"$tmp"
mv -f "$tmp" "$out"     # atomic: a concurrent run sees the old or the whole new file
# Images nobody used for two weeks are stale inputs; the cache must not grow forever.
find "$cache" -maxdepth 1 -name 'initramfs-*.cpio.gz' -mtime +14 -delete 2>/dev/null || true
echo "$out"
