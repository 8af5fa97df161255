#!/bin/sh
# metadata_test.sh - fence_vserial -o metadata is well-formed XML and keeps
# every parameter (name and option letter) of the stock fence_virt that is
# installed on this machine, read at test time.
set -u
. "${srcdir:-.}/tests/agent/lib.sh"

command -v xmllint >/dev/null || skip "xmllint missing: install libxml2-utils"
command -v fence_virt >/dev/null || skip "fence_virt missing: install fence-virt"
setup_tmp

"$AGENT" -o metadata >"$T/ours.xml"; rc=$?
check "metadata exits 0" '[ $rc -eq 0 ]'
check "metadata is well-formed" 'xmllint --noout "$T/ours.xml"'
printf 'action=metadata\n' | "$AGENT" >"$T/stdin.xml"
check "stdin action=metadata gives the same XML" 'cmp -s "$T/ours.xml" "$T/stdin.xml"'

# A stdin line longer than the agent's line buffer is refused whole: its
# tail must not become a line of its own (fgets cuts it after 8191 bytes,
# right before "action=metadata").
{ printf 'action=status\nbogus_key=%08181d' 0; printf 'action=metadata\n'; } |
	"$AGENT" >"$T/long.out" 2>"$T/long.err"; rc=$?
check "over-long stdin line: exit 1, not its tail's action (exit $rc)" \
	'[ $rc -eq 1 ] && ! grep -q "<resource-agent" "$T/long.out"'
check "... says the line is too long" 'grep -q "stdin line 2: longer than" "$T/long.err"'

fence_virt -o metadata >"$T/stock.xml"
check "stock metadata is well-formed" 'xmllint --noout "$T/stock.xml"'

# name=letter pairs of each parameter
params() {
	xmllint --xpath '//parameter' "$1" 2>/dev/null |
		sed -n 's/.*<parameter name="\([^"]*\)".*/\1/p' | sort -u
}
letter() {
	xmllint --xpath "string(//parameter[@name='$2']/getopt/@mixed)" "$1" 2>/dev/null
}
actions() {
	xmllint --xpath '//action/@name' "$1" 2>/dev/null | tr ' ' '\n' |
		sed -n 's/name="\(.*\)"/\1/p' | sort -u
}

params "$T/stock.xml" >"$T/stock.params"
params "$T/ours.xml" >"$T/ours.params"
check "stock has parameters to compare" '[ "$(wc -l <"$T/stock.params")" -ge 10 ]'
missing=$(comm -23 "$T/stock.params" "$T/ours.params" | tr '\n' ' ')
check "every stock parameter is ours too (missing: $missing)" '[ -z "$missing" ]'
for p in $(cat "$T/stock.params"); do
	s=$(letter "$T/stock.xml" "$p"); o=$(letter "$T/ours.xml" "$p")
	check "parameter $p keeps option letter '$s' (ours '$o')" '[ "$s" = "$o" ]'
done
for p in port_name protocol key_file; do
	check "our parameter $p is listed" 'grep -qx "$p" "$T/ours.params"'
done
check "plug is required and obsoletes port" \
	'[ "$(xmllint --xpath "string(//parameter[@name=\"plug\"]/@obsoletes)" "$T/ours.xml")" = port ]'

actions "$T/stock.xml" >"$T/stock.actions"
actions "$T/ours.xml" >"$T/ours.actions"
missing=$(comm -23 "$T/stock.actions" "$T/ours.actions" | tr '\n' ' ')
check "every stock action is ours too (missing: $missing)" '[ -z "$missing" ]'

finish
