#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make demo: same setup as make check, then boot one kernel (6.12 by
# default, FASTRPC_DEMO_KERNEL=6.1 for the other), load af_fastrpc, start
# fastrpc-echo-server, make a few calls with fastrpc-echo-client and with
# the Go echo example (fastrpc-go-echo, client and server), run the Go
# key-value example (fastrpc-go-kv), the C client against
# fastrpc-ring-echo-server (several clients at once), and run
# fastrpc-bench. Extra arguments: FASTRPC_DEMO_{SERVER,CLIENT,BENCH}_ARGS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

k=${FASTRPC_DEMO_KERNEL:-6.12}
FASTRPC_KERNELS=$k vm_setup
abi=${KERNEL_ABI[$k]} kdir=${KERNEL_DIR[$k]}

# The demo needs only the library and examples: a test that does not build
# is make check's business, so keep going (-k) and check what came out.
rm -f "$BUILD"/bin/fastrpc-*
make -s -k lib tests || log "make lib tests had errors; the demo goes on if its programs built"
for b in fastrpc-echo-server fastrpc-echo-client fastrpc-ring-echo-server fastrpc-bench \
	fastrpc-go-echo fastrpc-go-kv; do
	[[ -x $BUILD/bin/$b ]] || die "build/bin/$b was not built (make tests); the demo needs it"
done
build_module "$abi" || die "af_fastrpc.ko does not build for $abi (build/logs/mod-$abi.log)"

pick_accel "$kdir" "$abi"
initrd=$BUILD/initramfs-demo-$abi.cpio
make_initramfs "$initrd" "$kdir" "$abi" demo "$BUILD/mod-$abi/kmod/af_fastrpc.ko"
logf=$BUILD/logs/demo-$abi.log
qrc=0
FASTRPC_VM_TIMEOUT=${FASTRPC_VM_TIMEOUT:-900} boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?

echo
echo "==== FastRPC demo: guest $abi ($ACCEL) ===="
tr -d '\r' <"$logf" | sed -n '/^FASTRPC-DEMO-BEGIN/,/^FASTRPC-DEMO-END/{/^FASTRPC-DEMO/d;p}'
echo "===="
result=$(tr -d '\r' <"$logf" | grep -m1 '^FASTRPC-RESULT:' || echo 'FASTRPC-RESULT: none')
if [[ $qrc != 0 || $result != 'FASTRPC-RESULT: PASS' ]] || tr -d '\r' <"$logf" | grep -qE "$KERNEL_BAD"; then
	tr -d '\r' <"$logf" | tail -n 80
	die "demo failed: ${result#FASTRPC-RESULT: } (qemu status $qrc, full log $logf)"
fi
echo "demo passed (${BOOT_SECS}s in the guest, log $logf)"
