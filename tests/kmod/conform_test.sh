#!/bin/bash
# tests/kmod/conform_test.sh - the kconform suite on QEMU's stock
# virtio-serial device, twice: once driven by our vserial.ko (virtio_console
# kept out), once by the stock virtio_console as the reference.  Two TCG
# boots.  Result names are DRIVER.CHECK; a check that passes on stock but
# fails on ours is also reported as a regression.
. "$(dirname "$0")/../vm/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
vm_setup kmod

. "$here/kconform_rig.sh"

kconform_boot vserial virtio_console suspend.pm_test_delay=1
kconform_boot virtio_console vserial suspend.pm_test_delay=1

# Regressions: a check stock passes that ours does not.
res() { tr -d '\r' <"$VM_DIR/result-$1.log" | grep -a '^VMTEST ok ' |
	sed "s/^VMTEST ok $1\\.//" | sort -u; }
missing=$(comm -23 <(res virtio_console) <(res vserial))
if [ -z "$missing" ]; then
	vm_ok "vserial_matches_stock"
else
	vm_fail "vserial_matches_stock" "stock passes, ours not: $(echo $missing)"
fi
vm_report
