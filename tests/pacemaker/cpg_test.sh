#!/bin/bash
# tests/pacemaker/cpg_test.sh - pacemaker guests on different hosts fence
# each other through vserial-fenced's cpg backend; one guest live-migrates
# between hosts while the cluster runs, and fencing follows it (issue 10).
#
# Hosts: tests/cluster/cpg_rig.sh's three network namespaces, each with its
# own corosync (host level), its own libvirtd (own mount and UTS namespaces)
# and vserial-fenced with backend = "cpg".  Guests: the pacemaker tier's
# cached image (mkrootfs.sh), nodea on host 1 and nodeb on host 2, their
# private corosync link a udp Ethernet hub (rigctl.py hub-learn) on an
# address of the rig's bridge namespace; the hub learns each guest's host
# address from its frames, so a migrated guest keeps talking.  The qcow2
# overlays live in one /tmp directory that every host sees (shared storage);
# each host has its own socket directory ($PM/hN).
#   1 victim on another host: virsh suspend pm-nodeb on host 2; pacemaker on
#     nodea fences it; the request enters host 1's daemon and host 2's
#     libvirt carries it out (via CPG); nothing happens on hosts 1 and 3
#   2 migration: after nodeb rejoined, virsh migrate --live pm-nodeb from
#     host 2 to host 3 while pacemaker runs; membership survives (no token
#     loss, crm_mon shows both Online on both guests); then nodeb hangs on
#     host 3 and is fenced there (host 1 daemon -> host 3 libvirt), not on
#     host 2
# Each scenario prints a timeline; PM_BENCH_OUT=FILE writes the figures as
# name<TAB>value lines.  PM_KEEP=1 keeps every log.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || vm_skip "needs root (network namespaces)"
for p in corosync ip hostname; do
	command -v "$p" >/dev/null || vm_skip "$p not found; run tools/install-deps"
done
# Host-level corosync: the guests' TCG load must not cost the hosts their
# membership (a lost host would block "not running" answers, by design).
RIG_TOKEN=${RIG_TOKEN:-2000}
. "$pm_here/../cluster/cpg_rig.sh"
[ "${PM_KEEP:-0}" = 1 ] && export VSF_VM_KEEP=1 KEEP_RIG=1
FENCED=$vm_build/fenced-host/vserial-fenced
T_ALL=$(vm_now)
pm_prepare pacemaker-cpg
[ -x "$FENCED" ] || { vm_fail build "$FENCED not built"; vm_report; }

cleanup() {
	local i
	for i in 1 2 3; do lv_stop "$i"; done
	vm_cleanup	# daemons, hub, followers, event watchers (by PID)
	rig_down	# corosyncs, namespaces
	[ -n "${KEEP_RIG:-}" ] && [ -n "$RIG_DIR" ] && echo "rig: kept $RIG_DIR (libvirt logs)"
}
trap cleanup EXIT

# --- hosts ------------------------------------------------------------------
rig_up || { vm_fail rig_up "cpg_rig.sh rig_up failed"; vm_report; }
HUB=$RIG_NET.254	# the bridge namespace's own address: no host owns the hub
ip -n "$(rig_ns br)" addr add "$HUB/24" dev br0 ||
	{ vm_fail hub_addr "ip addr add $HUB"; vm_report; }
# Host 1's libvirtd first: hosts 2 and 3 reuse its QEMU capability cache
# (lv_seed) instead of probing QEMU at the same time.
T_LV=$(vm_now)
for i in 1 2 3; do
	mkdir -p "$PM/h$i/fence" "$PM/h$i/ctl"
	[ "$i" = 1 ] || lv_seed "$i" 1
	lv_start_host "$i" "$PM/libvirt$i.log" "pm-h$i"
	[ "$i" = 1 ] || continue
	lv_wait 1 || { vm_fail libvirtd_1 "$(tail -3 "$PM/libvirt1.log")"; vm_report; }
done
for i in 1 2 3; do
	lv_wait "$i" || { vm_fail "libvirtd_$i" "$(tail -3 "$PM/libvirt$i.log")"; vm_report; }
	vm_spawn virsh -q -c "$(lv_uri "$i")" event --all --loop --timestamp \
		>"$PM/events$i.log" 2>&1
done
vm_ok libvirtds_up
pm_log "three libvirtds answer after $(vm_elapsed "$T_LV") s"
quorate() { rig_exec 1 corosync-quorumtool -s 2>/dev/null | grep -q 'Quorate: *Yes'; }
pm_check hosts_quorate vm_wait_for 30 quorate
vm_spawn ip netns exec "$(rig_ns br)" python3 -u "$pm_here/rigctl.py" hub-learn \
	"$HUB" "$PM_HUB_PORT" >"$PM/hub.log" 2>&1

CL=(nodea nodeb)
declare -A HOST=([nodea]=1 [nodeb]=2)
GROUP="" MAP="" i=0
for n in "${CL[@]}"; do
	i=$((i + 1))
	PM_HOSTDIR=$PM/h${HOST[$n]} PM_LOCAL_ADDR=$RIG_NET.${HOST[$n]} PM_HUB_ADDR=$HUB \
		pm_domain "$n" "$i" "${CL[@]}"
	GROUP="$GROUP uuid = \"$(pm_uuid "$i")\"; uuid = \"pm-$n\";"
	MAP="$MAP$n:pm-$n;"
done

head -c 512 /dev/urandom >"$PM/key"
# daemon I: vserial-fenced on host I (its netns: corosync IPC is per netns),
# output stamped into $PM/dI.ts.  ip and stdbuf exec: $! is the daemon.
daemon() {
	local i=$1
	cat >"$PM/h$i.conf" <<EOF
fence_virtd { listener = "serial"; backend = "cpg"; }
listeners { serial { uri = "$(lv_uri "$i")"; path = "$PM/h$i/fence"; mode = "serial";
	key_file = "$PM/key"; channel_name = "$PM_FENCE_PORT"; } }
backends { cpg { uri = "$(lv_uri "$i")"; name_mode = "name"; } }
groups { group { name = "cluster";$GROUP } }
EOF
	ip netns exec "$(rig_ns "$i")" stdbuf -oL -eL "$FENCED" -F -d 1 -f "$PM/h$i.conf" \
		> >(exec python3 "$pm_here/rigctl.py" ts "$PM/d$i.ts" "d$i") 2>&1 &
	vm_pids+=("$!")
}
for i in 1 2 3; do daemon "$i"; done

T_BOOT=$(vm_now)
for n in "${CL[@]}"; do
	vsh "${HOST[$n]}" create "$PM/$n.xml" >/dev/null ||
		{ vm_fail "create_$n" "virsh create on host ${HOST[$n]} failed"; vm_report; }
	pm_follow "$n"
done
if pm_wait_ctl 150 "${CL[@]}"; then
	vm_ok guests_booted
	pm_log "guests answer on their control ports after $(vm_elapsed "$T_BOOT") s"
	pm_clocks "${CL[@]}"
else
	vm_fail guests_booted "no control port answer; console: $(tail -5 "$PM/h1/nodea.console.log")"
	vm_report
fi
if pm_wait_online 240 nodea "${CL[@]}"; then
	vm_ok cluster_formed_across_hosts
	T_FORMED=$(vm_now)
	pm_log "crm_mon: ${CL[*]} Online $(vm_elapsed "$T_BOOT") s after virsh create"
else
	vm_fail cluster_formed_across_hosts "crm_mon on nodea: $(pm_run nodea 10 crm_mon -1 | tr '\n' '|')"
	vm_report
fi
for i in 1 2; do
	pm_check "daemon${i}_has_its_guest_channel" vm_wait_for 20 grep -qs \
		"$PM/h$i/fence/.*\.sock.*connected" "$PM/d$i.ts"
done

pm_run nodea 30 "crm_attribute -t crm_config -n stonith-enabled -v true &&
 crm_attribute -t crm_config -n stonith-timeout -v 60s &&
 cibadmin -C -o resources -X '<primitive id=\"fence-vs\" class=\"stonith\" type=\"fence_vserial\">
  <instance_attributes id=\"fence-vs-ia\"><nvpair id=\"fence-vs-map\" name=\"pcmk_host_map\" value=\"$MAP\"/></instance_attributes>
  <operations><op id=\"fence-vs-mon\" name=\"monitor\" interval=\"120s\"/></operations></primitive>'" \
	>"$PM/configure.log" 2>&1 && vm_ok cib_configured ||
	vm_fail cib_configured "$(tr '\n' '|' <"$PM/configure.log")"
pm_check fence_vs_registered eval 'vm_wait_for 60 pm_registered nodea fence-vs &&
	vm_wait_for 30 pm_registered nodeb fence-vs'
pm_log "configured in $(vm_elapsed "$T_FORMED") s"

BENCH=()
# steps HOST: the milestones of a fence of nodeb (on HOST) asked by nodea.
steps() {
	STEPS=(
		"hang@events$1@$(pm_ev nodeb 'Suspended Paused')"
		"token lost@nodea@Token has not been received"
		"membership: left@nodea@Members left"
		"will be fenced@nodea@nodeb will be fenced|Requesting fencing .* nodeb|Client .* wants to fence .*nodeb"
		"fence requested@nodea@Requesting that .* perform .*reboot.* nodeb|Requesting peer fencing .*nodeb|Client .*(reboot|fence).*nodeb"
		"daemon request@d1@START:request #.*reboot pm-nodeb"
		"domain destroyed@events$1@$(pm_ev nodeb 'Stopped Destroyed')"
		"domain started@events$1@$(pm_ev nodeb 'Started Booted')"
		"daemon done@d1@request #.*reboot pm-nodeb"
		"agent returned@nodea@Operation .reboot. .[0-9]+. targeting nodeb using .* returned 0"
		"pacemaker OK@nodea@Operation .reboot. targeting nodeb .*OK|reboot of nodeb .*(OK|successful)"
	)
}
# since T0 SRC: the lines of $PM/SRC.log stamped at or after epoch T0.
since() {
	local line ts
	while IFS= read -r line; do
		ts=$(date -u -d "${line%%+0000:*}" +%s.%N 2>/dev/null) || continue
		awk -v a="$ts" -v b="$1" 'BEGIN { exit !(a >= b) }' && echo "$line"
	done <"$PM/$2.log"
}
# crm_fences: crm_mon's count of successful fences of nodeb by nodea (its
# "Fencing History"); crm_fences_more N: more than N.
crm_fences() {
	pm_run nodea 15 "crm_mon -1 --fence-history=2" |
		grep -c "reboot of nodeb by nodea .*successful"
}
d1_reboots() { grep -cE "request #[0-9]+ from channel pm-nodea .*reboot pm-nodeb -> ok" "$PM/d1.ts"; }
crm_fences_more() { [ "$(crm_fences)" -gt "$1" ] && return 0; sleep 1; return 1; }
# fence_on HOST TAG: hang nodeb on HOST, pacemaker on nodea fences it; the
# checks and the timeline.  Sets T0.
fence_on() {
	local h=$1 tag=$2 h0 b0 c0 r0 other
	h0=$(pm_hist_count nodea nodeb "reboot of nodeb successful")
	c0=$(crm_fences)
	r0=$(d1_reboots)
	b0=$(pm_ev_count nodeb 'Started Booted' "events$h")
	T0=$(vm_now)
	vsh "$h" suspend pm-nodeb >/dev/null || vm_fail "${tag}_suspend" "virsh suspend on host $h failed"
	pm_check "${tag}_b_destroyed_and_restarted_on_host$h" \
		vm_wait_for 90 pm_started_more nodeb "$b0" "events$h"
	pm_check "${tag}_pacemaker_history_success" vm_wait_for 30 pm_more_history nodea nodeb \
		"reboot of nodeb successful" "$h0"
	pm_check "${tag}_crm_mon_shows_it" vm_wait_for 30 crm_fences_more "$c0"
	pm_check "${tag}_request_entered_host1_daemon" eval '[ "$(d1_reboots)" -gt "$r0" ]'
	# The victim's own host got no channel request: CPG carried it there.
	pm_check "${tag}_host${h}_daemon_had_no_channel_request" eval \
		'! grep -qE "request #[0-9]+ from .*reboot pm-nodeb" "$PM/d$h.ts"'
	pm_check "${tag}_b_destroyed_on_host$h" eval \
		'since "$T0" "events$h" | grep -qE "$(pm_ev nodeb "Stopped Destroyed")"'
	for other in 1 2 3; do
		[ "$other" = "$h" ] && continue
		pm_check "${tag}_nothing_on_host$other" eval \
			'! since "$T0" "events$other" | grep -qE "pm-nodeb"'
	done
}

# --- 1: the victim on another host ------------------------------------------
fence_on 2 s1
steps 2
pm_timeline "$T0" "1 hang of nodeb on host 2, fenced from nodea on host 1 (CPG)" "${STEPS[@]}"
BENCH+=("cross-host hang: fence request->pacemaker OK $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[pacemaker OK]}") s")
BENCH+=("cross-host hang: daemon request->domain destroyed $(pm_dt "${PM_AT[daemon request]}" "${PM_AT[domain destroyed]}") s, hang->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")
pm_check s1_b_rejoins pm_wait_online 180 nodea "${CL[@]}"
printf '  %+8.2f s  %-22s (crm_mon)\n' "$(pm_dt "$T0" "$(vm_now)")" "rejoin: Online"

# --- 2: live migration while the cluster runs, then fence on the new host --
# The destination gets host 3's socket directory, console file and address
# (shared storage: the overlay path is the same for both).
pm_check s2_b_channel_on_host2 vm_wait_for 20 eval \
	'[ "$(grep -c "h2/fence/nodeb.sock.*connected" "$PM/d2.ts")" -ge 2 ]'
vsh 2 dumpxml --migratable pm-nodeb | sed -e "s|$PM/h2/|$PM/h3/|g" \
	-e "s|address='$RIG_NET.2'|address='$RIG_NET.3'|" >"$PM/nodeb-h3.xml"
T0=$(vm_now)
if timeout 120 virsh -q -c "$(lv_uri 2)" migrate --live --unsafe pm-nodeb "$(lv_uri 3)" \
	--migrateuri "tcp://$RIG_NET.3" --xml "$PM/nodeb-h3.xml" >"$PM/migrate.out" 2>&1; then
	vm_ok s2_migrate_live_2_to_3
else
	vm_fail s2_migrate_live_2_to_3 "$(tr '\n' ' ' <"$PM/migrate.out")"
fi
T_MIG=$(vm_now)
PM_CTL_OF[nodeb]=$PM/h3/ctl/nodeb.ctl
pm_follow nodeb
pm_check s2_b_runs_on_host3_only vm_wait_for 10 eval \
	'[ "$(vsh 3 domstate pm-nodeb 2>/dev/null | head -1)" = running ] &&
	! vsh 2 domstate pm-nodeb >/dev/null 2>&1'
pm_check s2_hub_learned_new_address vm_wait_for 10 grep -q "52:54:00:15:00:02 $RIG_NET.3:" "$PM/hub.log"
pm_check s2_daemon3_has_b_channel vm_wait_for 20 grep -qs "h3/fence/nodeb.sock.*connected" "$PM/d3.ts"
pm_check s2_b_answers_on_host3 pm_wait_ctl 30 nodeb
# Membership survives: corosync in the guests (token 4000) would lose the
# token within ~5 s and the member within ~12 s of a broken link; watch for
# 15 s after the move, and crm_mon on both guests must show both Online.
lost_lines() { awk -v t="$T0" '$1 >= t && /Token has not been received|Members left|A new membership/' \
	"$PM/guest.log"; }
lost() { lost_lines | grep -q .; }
if vm_wait_for 15 lost; then
	vm_fail s2_membership_survives "$(lost_lines | head -3 | tr '\n' '|')"
else
	vm_ok s2_membership_survives
fi
pm_check s2_crm_mon_online_on_a pm_wait_online 60 nodea "${CL[@]}"
pm_check s2_crm_mon_online_on_b pm_wait_online 60 nodeb "${CL[@]}"
pm_timeline "$T0" "2a virsh migrate --live pm-nodeb host 2 -> host 3 (cluster running)" \
	"migrating@events3@$(pm_ev nodeb 'Started Migrated')" \
	"source paused@events2@$(pm_ev nodeb 'Suspended Migrated')" \
	"resumed on host 3@events3@$(pm_ev nodeb 'Resumed Migrated')" \
	"left host 2@events2@$(pm_ev nodeb 'Stopped Migrated')" \
	"daemon 3 channel@d3@h3/fence/nodeb.sock.*connected" \
	"token lost@any@Token has not been received" \
	"membership change@any@A new membership|Members left"
printf '  %+8.2f s  %-22s (virsh)\n' "$(pm_dt "$T0" "$T_MIG")" "migrate returned"
BENCH+=("live migration host 2->3: virsh migrate wall $(pm_dt "$T0" "$T_MIG") s, paused->resumed $(pm_dt "${PM_AT[source paused]}" "${PM_AT[resumed on host 3]}") s")
[ -n "${PM_AT[resumed on host 3]}" ] && [ -n "${PM_AT[source paused]}" ] &&
	pm_log "migration downtime (host stamps of libvirt events) $(pm_dt "${PM_AT[source paused]}" "${PM_AT[resumed on host 3]}") s"

fence_on 3 s2
steps 3
pm_timeline "$T0" "2b hang of migrated nodeb on host 3, fenced from nodea on host 1 (CPG)" "${STEPS[@]}"
BENCH+=("cross-host hang after migration: fence request->pacemaker OK $(pm_dt "${PM_AT[fence requested]}" "${PM_AT[pacemaker OK]}") s")
BENCH+=("cross-host hang after migration: daemon request->domain destroyed $(pm_dt "${PM_AT[daemon request]}" "${PM_AT[domain destroyed]}") s, hang->OK $(pm_dt "$T0" "${PM_AT[pacemaker OK]}") s")

pm_bench_report "${BENCH[@]}"
pm_log "tier took $(vm_elapsed "$T_ALL") s"
vm_report
