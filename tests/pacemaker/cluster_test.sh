#!/bin/bash
# tests/pacemaker/cluster_test.sh - pacemaker in two TCG guests fences a
# peer through the virtio-serial channel (issue 10).
#
# One boot of two guests (nodea, nodeb) under a private libvirtd, corosync
# knet over a udp hub on 127.0.0.1, pacemaker configured with cibadmin and
# crm_attribute only.  Stonith device fence-vs = stonith:fence_vserial with
# its default named port org.clusterlabs.fence.0 (plain <channel> XML), host
# daemon vserial-fenced.  Scenarios, each checked through pacemaker's view
# (stonith_admin --history, crm_mon) and libvirt's lifecycle events, each
# with a timeline:
#   1 hang:    virsh suspend pm-b; nodea fences nodeb; nodeb rejoins
#   2 back:    manual stonith_admin --reboot nodea on nodeb (the node fenced
#              in 1 fences back); nodea rejoins
#   3 denied:  stonith_admin --reboot nodex on nodea: pm-x is outside the
#              daemon's group, so pacemaker records a FAILED fence
#   4 kill:    kill -9 corosync in nodeb; nodea fences nodeb
# Then the stock agent: device fence-stock = stonith:fence_virt with
# serial_device=/dev/hvc0, the plain <console type='unix'> virtio console:
#   5 stock fence_virtd (mode serial) never registers that console: FAILED
#   6 vserial-fenced (mode serial) serves the same console: OK
# Set PM_KEEP=1 (same as VSF_VM_KEEP=1) to keep the temp dir with every log.
. "$(dirname "$0")/lib.sh"
[ "${PM_KEEP:-0}" = 1 ] && export VSF_VM_KEEP=1
FENCED=$vm_build/fenced-host/vserial-fenced
FENCE_VIRTD=${FENCE_VIRTD:-/usr/sbin/fence_virtd}
T_ALL=$(vm_now)
pm_setup pacemaker
[ -x "$FENCED" ] || { vm_fail build "$FENCED not built"; vm_report; }
[ -x "$FENCE_VIRTD" ] || vm_skip "no $FENCE_VIRTD; run tools/install-deps (fence-virtd)"

UA=$(pm_uuid 1) UB=$(pm_uuid 2)
pm_hub $((PM_HUB_PORT + 1)) $((PM_HUB_PORT + 2))
pm_domain nodea 1 nodea nodeb
pm_domain nodeb 2 nodea nodeb
pm_domain nodex 24 nodex	# defined, never started, outside the group
vm_virsh define "$PM/nodex.xml" >/dev/null || vm_fail define_x "virsh define failed"

head -c 512 /dev/urandom >"$PM/key"	# stock fence_virtd wants one even here
conf() { # FILE: fence_virt.conf for both daemons (stock keys + our one)
	cat >"$1" <<EOF
fence_virtd { listener = "serial"; backend = "libvirt";
	module_path = "/usr/lib/x86_64-linux-gnu/fence-virt"; }
listeners { serial { uri = "qemu:///system"; path = "$PM/fence"; mode = "serial";
	key_file = "$PM/key"; channel_name = "$PM_FENCE_PORT"; } }
backends { libvirt { uri = "qemu:///system"; } }
# Sources are domain UUIDs; targets are compared as the agent sends them
# (stock rule), and pcmk_host_map sends domain names: list both.
groups { group { name = "cluster"; uuid = "$UA"; uuid = "$UB";
	uuid = "pm-nodea"; uuid = "pm-nodeb"; } }
EOF
}
conf "$PM/fenced.conf"
pm_daemon ours "$FENCED" -F -d 1 -f "$PM/fenced.conf"

T_BOOT=$(vm_now)
pm_start nodea
pm_start nodeb
if pm_wait_ctl 120 nodea nodeb; then
	vm_ok guests_booted
	pm_log "both guests answer on their control port after $(vm_elapsed "$T_BOOT") s"
else
	vm_fail guests_booted "no control port answer; console: $(tail -5 "$PM/nodea.console.log")"
	vm_report
fi
if pm_wait_online 240 nodea nodea nodeb; then
	vm_ok cluster_formed
	T_FORMED=$(vm_now)
	pm_log "crm_mon: nodea nodeb Online $(vm_elapsed "$T_BOOT") s after virsh create"
else
	vm_fail cluster_formed "crm_mon on nodea: $(pm_run nodea 10 crm_mon -1 | tr '\n' '|')"
	vm_report
fi

# --- pacemaker configuration: cibadmin / crm_attribute only ----------------
MAP="nodea:pm-nodea;nodeb:pm-nodeb;nodex:pm-nodex"
pm_run nodea 30 "crm_attribute -t crm_config -n stonith-enabled -v true &&
 crm_attribute -t crm_config -n stonith-timeout -v 60s &&
 cibadmin -C -o resources -X '<primitive id=\"fence-vs\" class=\"stonith\" type=\"fence_vserial\">
  <instance_attributes id=\"fence-vs-ia\"><nvpair id=\"fence-vs-map\" name=\"pcmk_host_map\" value=\"$MAP\"/></instance_attributes>
  <operations><op id=\"fence-vs-mon\" name=\"monitor\" interval=\"120s\"/></operations></primitive>' &&
 cibadmin -C -o resources -X '<primitive id=\"fence-stock\" class=\"stonith\" type=\"fence_virt\">
  <instance_attributes id=\"fence-stock-ia\"><nvpair id=\"fence-stock-dev\" name=\"serial_device\" value=\"/dev/hvc0\"/>
  <nvpair id=\"fence-stock-map\" name=\"pcmk_host_map\" value=\"$MAP\"/>
  <nvpair id=\"fence-stock-to\" name=\"timeout\" value=\"10\"/></instance_attributes>
  <meta_attributes id=\"fence-stock-meta\"><nvpair id=\"fence-stock-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>
  <operations><op id=\"fence-stock-mon\" name=\"monitor\" interval=\"0\"/></operations></primitive>'" \
	>"$PM/configure.log" 2>&1 && vm_ok cib_configured ||
	vm_fail cib_configured "$(tr '\n' '|' <"$PM/configure.log")"

# registered VIA DEVICE...: stonith_admin --list-registered on VIA is DEVICE...
registered() {
	local via=$1 got
	shift
	got=$(pm_run "$via" 10 "stonith_admin --list-registered" | grep -o 'fence-[a-z]*' | sort | xargs)
	[ "$got" = "$*" ] && return 0
	sleep 1
	return 1
}
if vm_wait_for 60 registered nodea fence-vs && vm_wait_for 30 registered nodeb fence-vs; then
	vm_ok fence_vs_registered
else
	vm_fail fence_vs_registered "$(pm_run nodea 10 stonith_admin --list-registered | tr '\n' '|')"
fi
pm_log "configured in $(vm_elapsed "$T_FORMED") s"

# history_has VIA RE: stonith_admin --history on VIA has a line matching RE.
history_has() {
	pm_run "$1" 15 "stonith_admin --history '*'" | grep -qE -- "$2" && return 0
	sleep 1
	return 1
}
# fenced_ok VIA TARGET: pacemaker's history says the reboot of TARGET
# succeeded (a line newer than the one counted before: $HIST_BEFORE).
hist_count() { pm_run "$1" 15 "stonith_admin --history '$2'" | grep -c "$3"; }
more_history() { # VIA TARGET RE N: more than N lines match RE
	local n
	n=$(hist_count "$1" "$2" "$3")
	[ "$n" -gt "$4" ] && return 0
	sleep 1
	return 1
}
ev() { echo "domain '?pm-$1'?: $2"; }	# events.log ERE
# started_more NODE N: libvirt has reported more than N boots of pm-NODE.
started_more() { [ "$(grep -cE "$(ev "$1" 'Started Booted')" "$PM/events.log")" -gt "$2" ]; }

BENCH=()
# steps PEER TARGET: the usual milestones of a fence of TARGET seen by PEER.
steps() {
	local peer=$1 t=$2
	STEPS=(
		"token lost@$peer@Token has not been received"
		"membership: left@$peer@Members left"
		"will be fenced@$peer@$t will be fenced|Requesting fencing .* $t|Client .* wants to fence .*$t"
		"fence requested@$peer@Requesting that .* perform .*reboot.* $t|Requesting peer fencing .*$t|Client .*(reboot|fence).*$t"
		"daemon request@$DAEMON@START:request #.*reboot pm-$t"
		"daemon done@$DAEMON@request #.*reboot pm-$t"
		"domain destroyed@events@$(ev "$t" 'Stopped Destroyed')"
		"domain started@events@$(ev "$t" 'Started Booted')"
		"pacemaker OK@$peer@Operation .reboot. targeting $t .*OK|reboot of $t .*(OK|successful)"
	)
}

# --- 1: hang --------------------------------------------------------------
DAEMON=ours
H0=$(hist_count nodea nodeb "reboot of nodeb successful")
T0=$(vm_now)
vm_virsh suspend pm-nodeb >/dev/null || vm_fail suspend_b "virsh suspend failed"
if vm_wait_for 90 started_more nodeb 1; then
	vm_ok hang_b_destroyed_and_restarted
else
	vm_fail hang_b_destroyed_and_restarted "no 'Started Booted' for pm-nodeb within 90 s"
fi
pm_check hang_history_says_success vm_wait_for 30 more_history nodea nodeb \
	"reboot of nodeb successful" "$H0"
pm_check hang_b_rejoins pm_wait_online 180 nodea nodea nodeb
T_REJOIN=$(vm_now)
steps nodea nodeb
pm_timeline "$T0" "1 hang (virsh suspend pm-nodeb)" "hang@events@$(ev nodeb 'Suspended Paused')" \
	"${STEPS[@]}" "rejoin: joined@nodea@Members joined"
printf '  %+8.2f s  %-22s (crm_mon)\n' "$(pm_dt "$T0" "$T_REJOIN")" "rejoin: Online"
BENCH+=("hang ours: request->OK $(pm_dt "$PM_STEP_5" "$PM_STEP_9") s, hang->OK $(pm_dt "$T0" "$PM_STEP_9") s")

# --- 2: nodeb fences back: manual stonith_admin --reboot nodea ------------
T0=$(vm_now)
out=$(pm_run nodeb 120 "stonith_admin --reboot nodea --timeout 90; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_ok back_stonith_admin_rc0 ||
	vm_fail back_stonith_admin_rc0 "$(echo "$out" | tr '\n' '|')"
T_RET=$(vm_now)
pm_check back_a_restarted vm_wait_for 30 started_more nodea 1
pm_check back_history_on_b vm_wait_for 30 history_has nodeb "reboot of nodea successful.*origin=nodeb"
pm_check back_a_rejoins pm_wait_online 180 nodeb nodea nodeb
T_REJOIN=$(vm_now)
STEPS=(
	"fence requested@nodeb@Client stonith_admin.* wants to fence .*nodea|Requesting .*nodea"
	"daemon request@ours@START:request #.*reboot pm-nodea"
	"daemon done@ours@request #.*reboot pm-nodea"
	"domain destroyed@events@$(ev nodea 'Stopped Destroyed')"
	"domain started@events@$(ev nodea 'Started Booted')"
	"token lost@nodeb@Token has not been received"
	"membership: left@nodeb@Members left"
	"pacemaker OK@nodeb@Operation .reboot. targeting nodea .*OK"
	"rejoin: joined@nodeb@Members joined"
)
pm_timeline "$T0" "2 fence back (stonith_admin --reboot nodea on nodeb)" "${STEPS[@]}"
printf '  %+8.2f s  %-22s (stonith_admin returned)\n' "$(pm_dt "$T0" "$T_RET")" "command done"
printf '  %+8.2f s  %-22s (crm_mon)\n' "$(pm_dt "$T0" "$T_REJOIN")" "rejoin: Online"
BENCH+=("manual ours: stonith_admin->domain destroyed $(pm_dt "$T0" "$PM_STEP_3") s, ->OK $(pm_dt "$T0" "$PM_STEP_7") s")

# --- 3: denied by the daemon's groups -------------------------------------
T0=$(vm_now)
out=$(pm_run nodea 90 "stonith_admin --reboot nodex --timeout 30; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_fail denied_fails "stonith_admin said OK: $out" ||
	vm_ok denied_fails
pm_check denied_history_failed vm_wait_for 30 history_has nodea "reboot of nodex failed"
pm_check denied_daemon_logged grep -qiE "pm-nodex|$(pm_uuid 24)" "$PM/ours.ts"
st=$(pm_domstate pm-nodex)
[ "$st" = "shut off" ] && vm_ok denied_x_untouched || vm_fail denied_x_untouched "pm-nodex: $st"
pm_timeline "$T0" "3 denied (stonith_admin --reboot nodex on nodea)" \
	"daemon request@ours@pm-nodex|$(pm_uuid 24)" \
	"pacemaker FAILED@nodea@Operation .reboot. targeting nodex by .*(Unimplemented|Error|error|failed)"
grep -aiE "pm-nodex|$(pm_uuid 24)" "$PM/ours.ts" | head -3 | sed 's/^/    daemon: /'

# --- 4: corosync killed in nodeb -----------------------------------------
H0=$(hist_count nodea nodeb "reboot of nodeb successful")
T0=$(vm_now)
pm_run nodeb 10 "kill -9 \$(pidof corosync)" >/dev/null
pm_check kill_b_restarted vm_wait_for 90 started_more nodeb 2
pm_check kill_history_says_success vm_wait_for 30 more_history nodea nodeb \
	"reboot of nodeb successful" "$H0"
steps nodea nodeb
pm_timeline "$T0" "4 corosync killed in nodeb" "${STEPS[@]:1}"
BENCH+=("kill ours: request->OK $(pm_dt "$PM_STEP_3" "$PM_STEP_7") s, kill->OK $(pm_dt "$T0" "$PM_STEP_7") s")

# --- 5/6: stock fence_virt on the plain virtio console ---------------------
pm_run nodea 30 "crm_resource -r fence-vs --meta -p target-role -v Stopped &&
 crm_resource -r fence-stock --meta -p target-role -v Started" >"$PM/switch.log" 2>&1 ||
	vm_fail switch_devices "$(tr '\n' '|' <"$PM/switch.log")"
pm_check stock_device_registered vm_wait_for 60 registered nodea fence-stock
pm_stop_daemon
pm_daemon stock "$FENCE_VIRTD" -F -d 2 -f "$PM/fenced.conf"
# Stock registers channels at start-up for running domains; give it until
# its libvirt backend has listed them (it logs nothing per domain it skips).
vm_wait_for 20 grep -q . "$PM/stock.ts"
sleep 5
if grep -q "Registered" "$PM/stock.ts"; then
	vm_fail stock_console_unseen "stock fence_virtd registered: $(grep Registered "$PM/stock.ts")"
else
	vm_ok stock_console_unseen
fi
T0=$(vm_now)
out=$(pm_run nodea 120 "stonith_admin --reboot nodeb --timeout 40; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_fail stock_console_fails "stonith_admin said OK" ||
	vm_ok stock_console_fails
pm_check stock_history_failed vm_wait_for 30 history_has nodea "reboot of nodeb failed"
n=$(grep -cE "$(ev nodeb 'Stopped Destroyed')" "$PM/events.log")
[ "$n" -eq 2 ] && vm_ok stock_b_untouched || vm_fail stock_b_untouched "$n destroys of pm-nodeb"
pm_timeline "$T0" "5 stock fence_virtd, stock fence_virt on /dev/hvc0 (plain <console>)" \
	"pacemaker FAILED@nodea@Operation .reboot. targeting nodeb by .*(Unimplemented|Error|error|failed|Timer expired|timed out)"
pm_stop_daemon

pm_daemon ours2 "$FENCED" -F -d 1 -f "$PM/fenced.conf"
DAEMON=ours2
pm_check ours_console_connected vm_wait_for 20 grep -q "nodeb.console.*connected" "$PM/ours2.ts"
T0=$(vm_now)
out=$(pm_run nodea 120 "stonith_admin --reboot nodeb --timeout 60; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_ok ours_console_ok ||
	vm_fail ours_console_ok "$(echo "$out" | tr '\n' '|')"
pm_check ours_console_b_restarted vm_wait_for 30 started_more nodeb 3
pm_timeline "$T0" "6 vserial-fenced, stock fence_virt on /dev/hvc0 (plain <console>)" \
	"daemon request@ours2@START:request #.*reboot pm-nodeb" \
	"daemon done@ours2@request #.*reboot pm-nodeb" \
	"domain destroyed@events@$(ev nodeb 'Stopped Destroyed')" \
	"domain started@events@$(ev nodeb 'Started Booted')" \
	"pacemaker OK@nodea@Operation .reboot. targeting nodeb .*OK"
BENCH+=("manual stock agent + ours on console: stonith_admin->OK $(pm_dt "$T0" "$PM_STEP_4") s")

echo "bench:"
printf '  %s\n' "${BENCH[@]}"
pm_log "tier took $(vm_elapsed "$T_ALL") s"
vm_report
