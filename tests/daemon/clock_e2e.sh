#!/bin/bash
# vserial-fenced's libvirt reconnect must not depend on the wall clock.
# The daemon starts before its libvirt test:/// node file exists, so the
# channel watcher fails to connect and backs off; the file then appears
# and the next retry (well under 2 s) must connect.  The daemon runs with
# a preloaded clock_gettime() that reports CLOCK_REALTIME one hour ahead,
# as if the clock had been stepped back an hour just after the daemon read
# it: a back-off computed on the wall clock would then sleep for an hour.
. "$(dirname "$0")/../interop/lib.sh"
vsf_setup
. "$(dirname "$0")/fenced.sh"
FENCED=${FENCED:-$PWD/fenced-host/vserial-fenced}
CC=${CC:-cc}
vsf_require_prog "$FENCED" "$CC" stdbuf

T=$VSF_TMP
mkdir -p "$T/sock"
cat >"$T/shift.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int r;

	if (!real)
		real = (int (*)(clockid_t, struct timespec *))
			dlsym(RTLD_NEXT, "clock_gettime");
	r = real(id, ts);
	if (r == 0 && id == CLOCK_REALTIME)
		ts->tv_sec += 3600;
	return r;
}
EOC
"$CC" -shared -fPIC -o "$T/shift.so" "$T/shift.c" -ldl ||
	vsf_skip "cannot build the clock_gettime shim with $CC"

URI=test://$T/node.xml
cat >"$T/c.conf" <<EOC
fence_virtd { listener = "serial"; backend = "libvirt"; }
listeners { serial { uri = "$URI"; path = "$T/sock"; } }
backends { libvirt { uri = "$URI"; } }
EOC
vsf_bg d env LD_PRELOAD="$T/shift.so" stdbuf -oL -eL "$FENCED" -F \
	-f "$T/c.conf"
DAEMON=$VSF_PID
vsf_wait_line "$T/d.log" "cannot connect to libvirt" 10 "$DAEMON" ||
	vsf_fail "the watcher never reported the missing node file"
vsf_node_xml "$T/node.xml" "g1:6695eb01-f6a4-8304-79aa-97f2502e193f"
if vsf_wait_line "$T/d.log" "libvirt connection back" 5 "$DAEMON"; then
	vsf_pass "reconnected within 5 s with the wall clock an hour off"
else
	vsf_fail "no reconnect within 5 s: the back-off waits on the wall clock"
fi
fenced_stop "$DAEMON" "$T/d.log"
vsf_finish
