#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make vm: boot a guest (FASTRPC_VM_KERNEL=6.12 by default, or 6.1) with
# af_fastrpc loaded, the tests and tools inside, and an interactive shell
# on the console for poking at the module by hand. Ctrl-A X quits qemu.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

k=${FASTRPC_VM_KERNEL:-6.12}
FASTRPC_KERNELS=$k vm_setup
abi=${KERNEL_ABI[$k]} kdir=${KERNEL_DIR[$k]}
make -s lib tests || log "make lib tests failed; booting without them"
ko=
build_module "$abi" && ko=$BUILD/mod-$abi/kmod/af_fastrpc.ko || log "no module; booting without it"
pick_accel "$kdir" "$abi"
initrd=$BUILD/initramfs-shell-$abi.cpio
make_initramfs "$initrd" "$kdir" "$abi" shell "$ko"
# Interactive, so no tee; still bounded so a forgotten guest goes away.
exec timeout -k 10 "${FASTRPC_VM_TIMEOUT:-7200}" qemu-system-x86_64 "${ACCEL_ARGS[@]}" \
	-m "${FASTRPC_VM_MEM:-1024}" -smp 2 -nodefaults -no-user-config \
	-kernel "$kdir/boot/vmlinuz-$abi" -initrd "$initrd" \
	-append "console=ttyS0 loglevel=5 panic=-1 rdinit=/init" \
	-display none -serial mon:stdio -no-reboot
