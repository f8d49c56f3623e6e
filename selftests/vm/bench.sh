#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: FastRPC beside TCP loopback (4-byte length framing) and
# AF_UNIX SOCK_SEQPACKET, all in one guest, in two runs:
#
#  - icount: QEMU counts guest time in executed instructions
#    (-icount shift=0,sleep=off, one vCPU thread), so the ratios between
#    transports repeat exactly on a noisy host; absolute numbers are not
#    real time.
#  - wall: ordinary TCG with 2 vCPUs in wall-clock time: real concurrency,
#    noisier.
#
# FASTRPC_BENCH_RUNS overrides the list ('|' between fastrpc-bench command
# lines); FASTRPC_BENCH_MODES picks "icount wall" or one of them.
# FASTRPC_BENCH_PERF=1 runs each command under perf record (Debian's
# linux-perf, copied into the guest) and prints where the samples fell, by
# symbol; in icount mode cpu-clock samples are instruction samples, so the
# profile repeats.  The figures of a profiled run include perf's overhead.
# FASTRPC_BENCH_IPROF=1: exact instructions by symbol per command line in
# the icount run, counted by a QEMU plugin (selftests/vm/iprof/).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

k=${FASTRPC_BENCH_KERNEL:-6.12}
FASTRPC_KERNELS=$k vm_setup
if [[ ${FASTRPC_BENCH_PERF:-0} == 1 ]]; then
	command -v perf >/dev/null || apt_install linux-perf
	export GUEST_PERF=1
fi
abi=${KERNEL_ABI[$k]} kdir=${KERNEL_DIR[$k]}
make -s lib tests
build_module "$abi" || die "af_fastrpc.ko does not build for $abi"
if [[ ${FASTRPC_BENCH_IPROF:-0} == 1 ]]; then
	. "$VMDIR/iprof/iprof.sh"
	iprof_setup "$abi" "$kdir"
fi

export FASTRPC_BENCH_RUNS=${FASTRPC_BENCH_RUNS:-"-n 20000 -s 64 -c 1|-n 20000 -s 64 -c 16|-n 5000 -s 16384 -c 1|-n 3000 -s 64 -c 1 -H -t fastrpc"}
initrd=$BUILD/initramfs-bench-$abi.cpio
make_initramfs "$initrd" "$kdir" "$abi" bench "$BUILD/mod-$abi/kmod/af_fastrpc.ko"

for mode in ${FASTRPC_BENCH_MODES:-icount wall}; do
	ACCEL=tcg
	if [[ $mode == icount ]]; then
		# shellcheck disable=SC2054 # commas are qemu's
		ACCEL_ARGS=(-accel tcg,thread=single -icount shift=0,sleep=off -cpu max)
	else
		# shellcheck disable=SC2054
		ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
	fi
	[[ ${FASTRPC_BENCH_IPROF:-0} != 1 ]] || iprof_mode "$mode"
	logf=$BUILD/logs/bench-$mode-$abi.log
	qrc=0
	FASTRPC_VM_TIMEOUT=${FASTRPC_VM_TIMEOUT:-1800} boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?
	echo
	echo "==== fastrpc-bench, guest $abi, $mode mode ===="
	tr -d '\r' <"$logf" | sed -n '/^FASTRPC-BENCH-BEGIN/,/^FASTRPC-BENCH-END/{/^FASTRPC-BENCH/d;p}'
	result=$(tr -d '\r' <"$logf" | grep -m1 '^FASTRPC-RESULT:' || echo 'FASTRPC-RESULT: none')
	if [[ $qrc != 0 || $result != 'FASTRPC-RESULT: PASS' ]]; then
		tail -n 40 "$logf"
		die "bench ($mode) failed: ${result#FASTRPC-RESULT: } (qemu status $qrc)"
	fi
	[[ ${FASTRPC_BENCH_IPROF:-0} != 1 || $mode != icount ]] || iprof_report "$logf"
done
