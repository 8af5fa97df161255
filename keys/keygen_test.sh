#!/bin/sh
# keygen_test.sh - vserial-keygen end to end, and proof that its keys work
# with the stock fence-virt programs: a stock fence_virtd (tcp listener on
# 127.0.0.1, libvirt backend on the built-in test:///default driver, whose
# running domain is "test") must accept a stock fence_virt client that uses
# the same vserial-keygen key, and refuse one that uses a different key.
#
# Run from the top build directory (as `make check` does) or set KEYGEN.
set -u

KEYGEN=${KEYGEN:-./keys/vserial-keygen}
# ok/bad/check, setup_tmp, track/stop_all and finish are the agent tests'.
. "${srcdir:-.}/tests/agent/lib.sh"
DPID=

# The one process a test runs at a time is the stock daemon.
stop_daemon() {
	stop_all
	DPID=
}

setup_tmp

mode_of() { stat -c %a "$1"; }
size_of() { stat -c %s "$1"; }
sum_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- the tool on its own ------------------------------------------------

out=$("$KEYGEN" "$T/a.key"); rc=$?
check "keygen exits 0 on a new path" '[ $rc -eq 0 ]'
check "new key has mode 600" '[ "$(mode_of "$T/a.key")" = 600 ]'
check "new key is 4096 bytes by default" '[ "$(size_of "$T/a.key")" = 4096 ]'
check "printed fingerprint is sha256sum of the file" \
	'[ "$out" = "SHA256:$(sum_of "$T/a.key") $T/a.key" ]'
check "--fingerprint agrees" \
	'[ "$("$KEYGEN" --fingerprint "$T/a.key")" = "$out" ]'

before=$(sum_of "$T/a.key")
"$KEYGEN" "$T/a.key" >/dev/null 2>"$T/err"; rc=$?
check "refuses to overwrite (exit 3)" '[ $rc -eq 3 ]'
check "overwrite refusal names --force" 'grep -q -- --force "$T/err"'
check "refused overwrite leaves the key alone" '[ "$(sum_of "$T/a.key")" = "$before" ]'

out=$("$KEYGEN" --force "$T/a.key"); rc=$?
check "--force replaces the key" \
	'[ $rc -eq 0 ] && [ "$(sum_of "$T/a.key")" != "$before" ]'
check "--force result has mode 600" '[ "$(mode_of "$T/a.key")" = 600 ]'
check "--force fingerprint matches sha256sum" \
	'[ "$out" = "SHA256:$(sum_of "$T/a.key") $T/a.key" ]'

(umask 000 && "$KEYGEN" --bytes 16 "$T/short.key" >/dev/null); rc=$?
check "--bytes 16 under umask 000 works" '[ $rc -eq 0 ]'
check "--bytes 16 writes 16 bytes" '[ "$(size_of "$T/short.key")" = 16 ]'
check "umask 000 still gives mode 600" '[ "$(mode_of "$T/short.key")" = 600 ]'

for n in 15 4097 abc -16 "" +32 " 32" "32 "; do
	"$KEYGEN" --bytes "$n" "$T/n.key" >/dev/null 2>&1; rc=$?
	check "--bytes '$n' is a usage error" '[ $rc -eq 2 ] && [ ! -e "$T/n.key" ]'
done

"$KEYGEN" "$T/sub/dir/b.key" >/dev/null 2>"$T/err"; rc=$?
check "missing directory without --mkdir: exit 3" '[ $rc -eq 3 ] && [ ! -e "$T/sub" ]'
check "missing directory message names --mkdir" 'grep -q -- --mkdir "$T/err"'
"$KEYGEN" --mkdir "$T/sub/dir/b.key" >/dev/null; rc=$?
check "--mkdir creates the directories" '[ $rc -eq 0 ] && [ -f "$T/sub/dir/b.key" ]'
check "--mkdir directories are 700" \
	'[ "$(mode_of "$T/sub")" = 700 ] && [ "$(mode_of "$T/sub/dir")" = 700 ]'

U=0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0
u=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
out=$("$KEYGEN" --mkdir --guest-dir "$T/guests" --uuid "$U"); rc=$?
check "per-guest key is written under the lower-case uuid" \
	'[ $rc -eq 0 ] && [ -f "$T/guests/$u" ] && [ "$(mode_of "$T/guests/$u")" = 600 ]'
check "per-guest fingerprint names the file" \
	'[ "$out" = "SHA256:$(sum_of "$T/guests/$u") $T/guests/$u" ]'
"$KEYGEN" --guest-dir "$T/guests" --uuid "../a.key" >/dev/null 2>&1; rc=$?
check "path trick in --uuid is a usage error" '[ $rc -eq 2 ]'
"$KEYGEN" --guest-dir "$T/guests" >/dev/null 2>&1; rc=$?
check "--guest-dir without --uuid is a usage error" '[ $rc -eq 2 ]'

check "no temporary files are left behind" \
	'[ -z "$(ls -A "$T" "$T/guests" | grep "^[.]")" ]'

chmod 644 "$T/short.key"
"$KEYGEN" --fingerprint "$T/short.key" >/dev/null 2>"$T/err"; rc=$?
check "--fingerprint refuses a 0644 key (exit 4)" '[ $rc -eq 4 ]'
want="chmod 600 '$T/short.key'"
check "refusal says chmod 600 PATH" 'grep -qF "$want" "$T/err"'
"$KEYGEN" --fingerprint "$T/none.key" >/dev/null 2>&1; rc=$?
check "--fingerprint of a missing key: exit 4" '[ $rc -eq 4 ]'

"$KEYGEN" --help | grep -q '^Usage: vserial-keygen'; rc=$?
check "--help prints usage" '[ $rc -eq 0 ]'
"$KEYGEN" --version | grep -q '^vserial-keygen '; rc=$?
check "--version prints the version" '[ $rc -eq 0 ]'

# --- stock fence_virtd / fence_virt accept our keys --------------------

have_stock() {
	command -v fence_virtd >/dev/null && command -v fence_virt >/dev/null
}

port_is_listening() {
	ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

free_port() {
	i=0
	while [ $i -lt 50 ]; do
		p=$(shuf -i 20000-60999 -n 1)
		port_is_listening "$p" || { echo "$p"; return 0; }
		i=$((i + 1))
	done
	return 1
}

# start_daemon KEY: stock fence_virtd on 127.0.0.1:$PORT using KEY.
# Returns 0 once it listens (10 s deadline), 1 if it died or never did.
start_daemon() {
	PORT=$(free_port) || return 1
	cat >"$T/fence_virt.conf" <<EOF
fence_virtd {
	listener = "tcp";
	backend = "libvirt";
}
listeners {
	tcp {
		key_file = "$1";
		address = "127.0.0.1";
		family = "ipv4";
		port = "$PORT";
		hash = "sha256";
		auth = "sha256";
	}
}
backends {
	libvirt {
		uri = "test:///default";
	}
}
EOF
	chmod 600 "$T/fence_virt.conf"
	fence_virtd -F -f "$T/fence_virt.conf" -p "$T/fence_virtd.pid" \
		>"$T/daemon.log" 2>&1 &
	DPID=$!
	track "$DPID"
	i=0
	while [ $i -lt 200 ]; do
		kill -0 "$DPID" 2>/dev/null || { DPID=; return 1; }
		ss -Htlnp "sport = :$PORT" 2>/dev/null | grep -q "pid=$DPID," &&
			return 0
		sleep 0.05; i=$((i + 1))
	done
	stop_daemon	# never listened: clears DPID
	return 1
}

# client_status KEY: stock fence_virt status of domain "test"; output in $T/client.out
client_status() {
	timeout 30 fence_virt -T 127.0.0.1 -p "$PORT" -k "$1" -t 10 \
		-o status -n test >"$T/client.out" 2>&1
}

# compat BYTES: a fresh key of BYTES bytes works with stock daemon + client.
compat() {
	key=$T/stock-$1.key
	"$KEYGEN" --bytes "$1" "$key" >/dev/null || { bad "keygen --bytes $1"; return; }
	# Another test may take the chosen port first; the daemon then exits
	# at once ("Could not set up listen socket"), so try fresh ports.
	tries=0
	until start_daemon "$key" || [ $tries -ge 2 ]; do
		stop_daemon; tries=$((tries + 1))
	done
	if [ -z "$DPID" ]; then
		bad "stock fence_virtd did not start with key from keygen --bytes $1"
		sed 's/^/  daemon: /' "$T/daemon.log" >&2
		stop_daemon
		return
	fi
	client_status "$key"; rc=$?
	check "stock fence_virt, same $1-byte key: exit 0" '[ $rc -eq 0 ]'
	check "stock fence_virt, same $1-byte key: Status: ON" \
		'grep -qx "Status: ON" "$T/client.out"'
	[ $rc -eq 0 ] || sed 's/^/  client: /' "$T/client.out" >&2

	"$KEYGEN" --bytes 4096 "$key.other" >/dev/null || bad "keygen other"
	client_status "$key.other"; rc=$?
	check "stock fence_virt with another vserial-keygen key fails" \
		'[ $rc -ne 0 ] && ! grep -q "Status: ON" "$T/client.out"'
	stop_daemon	# flushes its stdout
	check "stock fence_virtd logged the key mismatch" \
		'grep -q "Key mismatch" "$T/daemon.log"'
	# The stock daemon chmods a key that is not 0600; ours must not need it.
	insecure="Insecure permissions on file '$key'"
	check "stock fence_virtd left our key's mode alone" \
		'[ "$(mode_of "$key")" = 600 ] && ! grep -qF "$insecure" "$T/daemon.log"'
}

if have_stock; then
	compat 4096
	compat 16
else
	bad "stock fence_virtd/fence_virt not installed (apt-get install fence-virt fence-virtd, or tools/install-deps)"
fi

finish
