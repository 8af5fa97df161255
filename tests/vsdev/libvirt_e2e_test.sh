#!/bin/bash
# tests/vsdev/libvirt_e2e_test.sh - real libvirtd (tests/vm/realvirt_ours_test.sh:
# private namespaces, guest A fences persistent guest B through our
# vserial-fenced) with libvirt's unchanged <channel type='unix'> XML driving
# OUR virtio-serial device: libvirt's own virtio-serial-pci / virtserialport
# command line (bus=virtio-serial0.0, nr=1, name=...) on our QEMU build.
# Two guests; about two minutes under TCG.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/on-our-qemu.sh" "$here/../vm/realvirt_ours_test.sh"
