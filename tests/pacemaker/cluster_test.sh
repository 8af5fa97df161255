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
#   7 the stock pair through a UART (<serial type='unix'>, /dev/ttyS1), the
#     only stock path with plain libvirt XML: OK (bench against 2 and 6)
# Set PM_KEEP=1 (same as VSF_VM_KEEP=1) to keep the temp dir with every log,
# PM_BENCH_OUT=FILE to get the bench figures as tab-separated lines.
. "$(dirname "$0")/lib.sh"
[ "${PM_KEEP:-0}" = 1 ] && export VSF_VM_KEEP=1
FENCED=$vm_build/fenced-host/vserial-fenced
FENCE_VIRTD=${FENCE_VIRTD:-/usr/sbin/fence_virtd}
T_ALL=$(vm_now)
pm_setup pacemaker
[ -x "$FENCED" ] || { vm_fail build "$FENCED not built"; vm_report; }
[ -x "$FENCE_VIRTD" ] || vm_skip "no $FENCE_VIRTD; run tools/install-deps (fence-virtd)"

# PM_GUESTS=3 adds nodec, a third member that only votes (no two_node).
CL=(nodea nodeb)
[ "${PM_GUESTS:-2}" = 3 ] && CL+=(nodec)
ports=() i=0 GROUP="" MAP=""
for n in "${CL[@]}"; do
	i=$((i + 1))
	ports+=($((PM_HUB_PORT + i)))
	pm_domain "$n" "$i" "${CL[@]}"
	GROUP="$GROUP uuid = \"$(pm_uuid "$i")\"; uuid = \"pm-$n\";"
	MAP="$MAP$n:pm-$n;"
done
MAP="${MAP}nodex:pm-nodex"
pm_hub "${ports[@]}"
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
groups { group { name = "cluster";$GROUP } }
EOF
}
conf "$PM/fenced.conf"
pm_daemon ours "$FENCED" -F -d 1 -f "$PM/fenced.conf"

T_BOOT=$(vm_now)
for n in "${CL[@]}"; do pm_start "$n"; done
if pm_wait_ctl 120 "${CL[@]}"; then
	vm_ok guests_booted
	pm_log "all guests answer on their control port after $(vm_elapsed "$T_BOOT") s"
	pm_clocks "${CL[@]}"
else
	vm_fail guests_booted "no control port answer; console: $(tail -5 "$PM/nodea.console.log")"
	vm_report
fi
if pm_wait_online 240 nodea "${CL[@]}"; then
	vm_ok cluster_formed
	T_FORMED=$(vm_now)
	pm_log "crm_mon: ${CL[*]} Online $(vm_elapsed "$T_BOOT") s after virsh create"
else
	vm_fail cluster_formed "crm_mon on nodea: $(pm_run nodea 10 crm_mon -1 | tr '\n' '|')"
	vm_report
fi

# --- pacemaker configuration: cibadmin / crm_attribute only ----------------
pm_run nodea 30 "crm_attribute -t crm_config -n stonith-enabled -v true &&
 crm_attribute -t crm_config -n stonith-timeout -v 60s &&
 cibadmin -C -o resources -X '<primitive id=\"fence-vs\" class=\"stonith\" type=\"fence_vserial\">
  <instance_attributes id=\"fence-vs-ia\"><nvpair id=\"fence-vs-map\" name=\"pcmk_host_map\" value=\"$MAP\"/></instance_attributes>
  <operations><op id=\"fence-vs-mon\" name=\"monitor\" interval=\"120s\"/></operations></primitive>' &&
 cibadmin -C -o resources -X '<primitive id=\"fence-stock\" class=\"stonith\" type=\"fence_virt\">
  <instance_attributes id=\"fence-stock-ia\"><nvpair id=\"fence-stock-dev\" name=\"serial_device\" value=\"/dev/hvc0\"/>
  <nvpair id=\"fence-stock-map\" name=\"pcmk_host_map\" value=\"$MAP\"/>
  <nvpair id=\"fence-stock-to\" name=\"timeout\" value=\"5\"/></instance_attributes>
  <meta_attributes id=\"fence-stock-meta\"><nvpair id=\"fence-stock-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>
  <operations><op id=\"fence-stock-mon\" name=\"monitor\" interval=\"0\"/></operations></primitive>'" \
	>"$PM/configure.log" 2>&1 && vm_ok cib_configured ||
	vm_fail cib_configured "$(tr '\n' '|' <"$PM/configure.log")"

if vm_wait_for 60 pm_registered nodea fence-vs && vm_wait_for 30 pm_registered nodeb fence-vs; then
	vm_ok fence_vs_registered
else
	vm_fail fence_vs_registered "$(pm_run nodea 10 stonith_admin --list-registered | tr '\n' '|')"
fi
pm_log "configured in $(vm_elapsed "$T_FORMED") s"

BENCH=()
# steps PEER TARGET: the usual milestones of a fence of TARGET seen by PEER
# (a guest, or "any": the first guest to log it, e.g. whichever is DC).
steps() {
	local peer=$1 t=$2
	STEPS=(
		"token lost@$peer@Token has not been received"
		"membership: left@$peer@Members left"
		"will be fenced@$peer@$t will be fenced|Requesting fencing .* $t|Client .* wants to fence .*$t"
		"fence requested@$peer@Requesting that .* perform .*reboot.* $t|Requesting peer fencing .*$t|Client .*(reboot|fence).*$t"
		"daemon request@$DAEMON@START:request #.*reboot pm-$t"
		"daemon done@$DAEMON@request #.*reboot pm-$t"
		"domain destroyed@events@$(pm_ev "$t" 'Stopped Destroyed')"
		"domain started@events@$(pm_ev "$t" 'Started Booted')"
		"agent returned@$peer@Operation .reboot. .[0-9]+. targeting $t using .* returned 0"
		"pacemaker OK@$peer@Operation .reboot. targeting $t .*OK|reboot of $t .*(OK|successful)"
	)
}

# --- 1: hang --------------------------------------------------------------
DAEMON=ours
H0=$(pm_hist_count nodea nodeb "reboot of nodeb successful")
T0=$(vm_now)
vm_virsh suspend pm-nodeb >/dev/null || vm_fail suspend_b "virsh suspend failed"
if vm_wait_for 90 pm_started_more nodeb 1; then
	vm_ok hang_b_destroyed_and_restarted
else
	vm_fail hang_b_destroyed_and_restarted "no 'Started Booted' for pm-nodeb within 90 s"
fi
pm_check hang_history_says_success vm_wait_for 30 pm_more_history nodea nodeb \
	"reboot of nodeb successful" "$H0"
pm_check hang_b_rejoins pm_wait_online 180 nodea "${CL[@]}"
T_REJOIN=$(vm_now)
steps any nodeb
pm_timeline "$T0" "1 hang (virsh suspend pm-nodeb)" "hang@events@$(pm_ev nodeb 'Suspended Paused')" \
	"${STEPS[@]}" "rejoin: joined@nodea@Members joined"
printf '  %+8.2f s  %-22s (crm_mon)\n' "$(pm_dt "$T0" "$T_REJOIN")" "rejoin: Online"
BENCH+=("hang ours: fence request->agent returned $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[agent returned]}") s")
BENCH+=("hang ours: request->OK $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[pacemaker OK]}") s, hang->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")

# --- 2: nodeb fences back: manual stonith_admin --reboot nodea ------------
T0=$(vm_now)
out=$(pm_run nodeb 120 "stonith_admin --reboot nodea --timeout 90; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_ok back_stonith_admin_rc0 ||
	vm_fail back_stonith_admin_rc0 "$(echo "$out" | tr '\n' '|')"
T_RET=$(vm_now)
pm_check back_a_restarted vm_wait_for 30 pm_started_more nodea 1
pm_check back_history_on_b vm_wait_for 30 pm_history_has nodeb "reboot of nodea successful.*origin=nodeb"
pm_check back_a_rejoins pm_wait_online 180 nodeb "${CL[@]}"
T_REJOIN=$(vm_now)
STEPS=(
	"fence requested@nodeb@Client stonith_admin.* wants to fence .*nodea|Requesting .*nodea"
	"daemon request@ours@START:request #.*reboot pm-nodea"
	"daemon done@ours@request #.*reboot pm-nodea"
	"domain destroyed@events@$(pm_ev nodea 'Stopped Destroyed')"
	"domain started@events@$(pm_ev nodea 'Started Booted')"
	"agent returned@nodeb@Operation .reboot. .[0-9]+. targeting nodea using .* returned 0"
	"token lost@nodeb@Token has not been received"
	"membership: left@nodeb@Members left"
	"pacemaker OK@nodeb@Operation .reboot. targeting nodea .*OK"
	"rejoin: joined@nodeb@Members joined"
)
pm_timeline "$T0" "2 fence back (stonith_admin --reboot nodea on nodeb)" "${STEPS[@]}"
printf '  %+8.2f s  %-22s (stonith_admin returned)\n' "$(pm_dt "$T0" "$T_RET")" "command done"
printf '  %+8.2f s  %-22s (crm_mon)\n' "$(pm_dt "$T0" "$T_REJOIN")" "rejoin: Online"
BENCH+=("manual ours: fence request->agent returned $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[agent returned]}") s")
BENCH+=("manual ours: stonith_admin->domain destroyed $(pm_dt "$T0" "${PM_AT[domain destroyed]}") s, ->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")

# --- 3: denied by the daemon's groups -------------------------------------
T0=$(vm_now)
out=$(pm_run nodea 90 "stonith_admin --reboot nodex --timeout 30; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_fail denied_fails "stonith_admin said OK: $out" ||
	vm_ok denied_fails
pm_check denied_history_failed vm_wait_for 30 pm_history_has nodea "reboot of nodex failed"
pm_check denied_daemon_logged grep -qiE "pm-nodex|$(pm_uuid 24)" "$PM/ours.ts"
st=$(pm_domstate pm-nodex)
[ "$st" = "shut off" ] && vm_ok denied_x_untouched || vm_fail denied_x_untouched "pm-nodex: $st"
pm_timeline "$T0" "3 denied (stonith_admin --reboot nodex on nodea)" \
	"daemon request@ours@pm-nodex|$(pm_uuid 24)" \
	"pacemaker FAILED@nodea@Operation .reboot. targeting nodex by .*(Unimplemented|Error|error|failed)"
grep -aiE "pm-nodex|$(pm_uuid 24)" "$PM/ours.ts" | head -3 | sed 's/^/    daemon: /'

# --- 4: corosync killed in nodeb -----------------------------------------
H0=$(pm_hist_count nodea nodeb "reboot of nodeb successful")
T0=$(vm_now)
pm_run nodeb 10 "pkill -9 -x corosync" >/dev/null
pm_check kill_b_restarted vm_wait_for 90 pm_started_more nodeb 2
pm_check kill_history_says_success vm_wait_for 30 pm_more_history nodea nodeb \
	"reboot of nodeb successful" "$H0"
steps any nodeb
pm_timeline "$T0" "4 corosync killed in nodeb" "${STEPS[@]}"
BENCH+=("kill ours: fence request->agent returned $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[agent returned]}") s")
BENCH+=("kill ours: request->OK $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[pacemaker OK]}") s, kill->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")

# --- 5/6: stock fence_virt on the plain virtio console ---------------------
pm_run nodea 30 "crm_resource -r fence-vs --meta -p target-role -v Stopped &&
 crm_resource -r fence-stock --meta -p target-role -v Started" >"$PM/switch.log" 2>&1 ||
	vm_fail switch_devices "$(tr '\n' '|' <"$PM/switch.log")"
pm_check stock_device_registered vm_wait_for 60 pm_registered nodea fence-stock
pm_stop_daemon
pm_daemon stock "$FENCE_VIRTD" -F -d 5 -f "$PM/fenced.conf"
# Stock registers the sockets of running domains at start-up, one
# "Registered <uuid> on <fd>" line per socket.  Its serial mode takes the
# <serial> UART (ttyS1) of each guest but not the virtio <console>.
nreg() { # LOG IDX: how many sockets of domain IDX the stock daemon LOG registered
	local n
	n=$(grep -sc "Registered $(pm_uuid "$2") on" "$PM/$1.ts")
	echo "${n:-0}"
}
vm_wait_for 20 grep -qs "Registering domain event cbs" "$PM/stock.ts" ||
	vm_fail stock_started "no 'Registering domain event cbs' in the stock log"
vm_wait_for 10 eval '[ "$(nreg stock 1)" -ge 1 ] && [ "$(nreg stock 2)" -ge 1 ]'
sleep 2	# more lines would come at once; we check that none do
if [ "$(nreg stock 1)" = 1 ] && [ "$(nreg stock 2)" = 1 ]; then
	vm_ok stock_console_unseen
else
	vm_fail stock_console_unseen "stock registered $(nreg stock 1) and $(nreg stock 2) sockets, want 1 (the UART) each"
fi
D0=$(pm_ev_count nodeb 'Stopped Destroyed')
T0=$(vm_now)
out=$(pm_run nodea 120 "stonith_admin --reboot nodeb --timeout 20; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_fail stock_console_fails "stonith_admin said OK" ||
	vm_ok stock_console_fails
pm_check stock_history_failed vm_wait_for 30 pm_history_has nodea "reboot of nodeb failed"
n=$(pm_ev_count nodeb 'Stopped Destroyed')
[ "$n" -eq "$D0" ] && vm_ok stock_b_untouched ||
	vm_fail stock_b_untouched "pm-nodeb destroyed $((n - D0)) times"
pm_timeline "$T0" "5 stock fence_virtd, stock fence_virt on /dev/hvc0 (plain <console>)" \
	"pacemaker FAILED@nodea@Operation .reboot. targeting nodeb by .*(Unimplemented|Error|error|failed|Timer expired|timed out)"
pm_stop_daemon

pm_daemon ours2 "$FENCED" -F -d 1 -f "$PM/fenced.conf"
DAEMON=ours2
pm_check ours_console_connected vm_wait_for 20 grep -qs "nodeb.console.*connected" "$PM/ours2.ts"
B0=$(pm_ev_count nodeb 'Started Booted')
T0=$(vm_now)
out=$(pm_run nodea 120 "stonith_admin --reboot nodeb --timeout 60; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_ok ours_console_ok ||
	vm_fail ours_console_ok "$(echo "$out" | tr '\n' '|')"
pm_check ours_console_b_restarted vm_wait_for 30 pm_started_more nodeb "$B0"
pm_timeline "$T0" "6 vserial-fenced, stock fence_virt on /dev/hvc0 (plain <console>)" \
	"fence requested@nodea@Client stonith_admin.* wants to fence .*nodeb" \
	"daemon request@ours2@START:request #.*reboot pm-nodeb" \
	"daemon done@ours2@request #.*reboot pm-nodeb" \
	"domain destroyed@events@$(pm_ev nodeb 'Stopped Destroyed')" \
	"domain started@events@$(pm_ev nodeb 'Started Booted')" \
	"agent returned@nodea@Operation .reboot. .[0-9]+. targeting nodeb using .* returned 0" \
	"pacemaker OK@nodea@Operation .reboot. targeting nodeb .*OK"
BENCH+=("manual stock agent on hvc0 + ours: fence request->agent returned $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[agent returned]}") s")
BENCH+=("manual stock agent on hvc0 + ours: stonith_admin->domain destroyed $(pm_dt "$T0" "${PM_AT[domain destroyed]}") s, ->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")

pm_stop_daemon

# --- 7: the stock pair on a UART (bench) ------------------------------------
# Stock fence_virt cannot drive a virtio-serial port (tcsetattr fails with
# ENOTTY: "open_port: Invalid argument"), and stock fence_virtd does not see
# a virtio <console>, so with plain libvirt XML the stock pair needs a UART:
# <serial type='unix'> port 1, guest /dev/ttyS1.
pm_daemon stock7 "$FENCE_VIRTD" -F -d 5 -f "$PM/fenced.conf"
pm_check stock_uart_registered vm_wait_for 30 eval '[ "$(nreg stock7 1)" -ge 1 ]'
T_SET=$(vm_now)
pm_run nodea 30 "crm_resource -r fence-stock -p serial_device -v /dev/ttyS1" \
	>"$PM/switch7.log" 2>&1 || vm_fail switch_port "$(tr '\n' '|' <"$PM/switch7.log")"
vm_wait_for 30 eval '[ -n "$(pm_t_first "$T_SET" nodea "Added .fence-stock.")" ]'
B0=$(pm_ev_count nodeb 'Started Booted')
T0=$(vm_now)
out=$(pm_run nodea 120 "stonith_admin --reboot nodeb --timeout 60; echo rc=\$?")
echo "$out" | grep -q '^rc=0' && vm_ok stock_pair_uart_ok ||
	vm_fail stock_pair_uart_ok "$(echo "$out" | tr '\n' '|')"
pm_check stock_pair_b_restarted vm_wait_for 30 pm_started_more nodeb "$B0"
pm_timeline "$T0" "7 stock fence_virtd + stock fence_virt on /dev/ttyS1 (<serial> UART)" \
	"fence requested@nodea@Client stonith_admin.* wants to fence .*nodeb" \
	"daemon request@stock7@Request 2 .*target pm-nodeb" \
	"domain destroyed@events@$(pm_ev nodeb 'Stopped Destroyed')" \
	"domain started@events@$(pm_ev nodeb 'Started Booted')" \
	"agent returned@nodea@Operation .reboot. .[0-9]+. targeting nodeb using .* returned 0" \
	"pacemaker OK@nodea@Operation .reboot. targeting nodeb .*OK"
BENCH+=("manual stock pair (UART): fence request->agent returned $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[agent returned]}") s")
BENCH+=("manual stock pair (UART): stonith_admin->domain destroyed $(pm_dt "$T0" "${PM_AT[domain destroyed]}") s, ->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")

pm_bench_report "${BENCH[@]}"
pm_log "tier took $(vm_elapsed "$T_ALL") s"
vm_report
