#!/bin/sh
# minroot_test.sh - fence_vserial in a root that holds only the binary and
# the shared libraries fence_vserial(8) documents, as in a busybox
# initramfs: ldd's list plus the NSS modules NSS dlopens (softokn3,
# freeblpriv3 and their sqlite3).  Without those modules it must still
# speak protocol v1.  Needs root for chroot(8).
set -u
. "${srcdir:-.}/tests/agent/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "chroot needs root"
command -v python3 >/dev/null || skip "python3 missing: install python3"
setup_tmp
R=$T/root
mkdir -p "$R"
cp "$AGENT" "$R/fence_vserial"

# copy_libs FILE: FILE's shared libraries, at the same paths under $R
copy_libs() {
	for lib in $(ldd "$1" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
copy_libs "$AGENT"
libdir=$(dirname "$(ldd "$AGENT" | sed -n 's/.*libnss3.so => \(\/[^ ]*\).*/\1/p')")
for m in libsoftokn3.so libfreeblpriv3.so; do
	check "NSS module $m exists in $libdir" '[ -e "$libdir/$m" ]'
	cp -L "$libdir/$m" "$R$libdir/$m"
	copy_libs "$libdir/$m"
done
check "the documented libraries are all it links" \
	'[ "$(ldd "$AGENT" | grep -vc -e linux-vdso -e ld-linux -e libc.so -e libnss3 -e libnssutil3 -e libplc4 -e libplds4 -e libnspr4)" -eq 0 ]'

# NSS seeds its generator from /dev/urandom (devtmpfs in an initramfs).
mkdir -p "$R/dev"
mknod "$R/dev/urandom" c 1 9 || skip "cannot mknod /dev/urandom"

chroot "$R" /fence_vserial -o metadata >"$T/md.xml" 2>"$T/md.err"
check "metadata runs in the minimal root" '[ $? -eq 0 ] && grep -q "<resource-agent" "$T/md.xml"'

python3 "$HERE/fake_host.py" unix "$R/host.sock" v1 "$T/host.log" &
track $!
wait_for 5 '[ -S "$R/host.sock" ]'
make_key "$R/key"

chroot "$R" /fence_vserial -d -D /host.sock -k /key -t 5 -o status -n g \
	>"$T/a.out" 2>"$T/a.err"
rc=$?
check "status in the minimal root: exit 2 from the host (got $rc)" '[ $rc -eq 2 ]'
check "... after trying v2 with the key" 'grep -q "sending HELLO" "$T/a.err"'

rm -f "$R$libdir/libsoftokn3.so" "$R$libdir/libfreeblpriv3.so"
chroot "$R" /fence_vserial -D /host.sock -k /key -t 5 -o status -n g \
	>"$T/b.out" 2>"$T/b.err"
rc=$?
check "without the NSS modules v1 still works (exit $rc)" '[ $rc -eq 2 ]'
check "... and says so" 'grep -q "protocol v1 only" "$T/b.err"'
chroot "$R" /fence_vserial -T 127.0.0.1 -k /key -t 2 -o status -n g \
	>"$T/c.out" 2>"$T/c.err"
rc=$?
check "without the NSS modules tcp with auth is an internal error (exit $rc)" '[ $rc -eq 125 ]'

finish
