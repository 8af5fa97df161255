# tests/vm/guest/idle.sh - rig.test=idle: a guest that only stays up (a
# fencing target).  It reports once, then waits to be destroyed.
info idle_up "$(cut -d' ' -f1 /proc/uptime)"
while :; do sleep 3600; done
