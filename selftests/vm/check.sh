#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: install what is needed, build libfastrpc, the tests and the
# module for every supported kernel, boot each kernel in QEMU, run all
# build/tests/t_* inside, and judge the serial logs. Ends with one line
# "N passed, M failed"; exits non-zero if anything failed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

T0=$SECONDS
PASSED=0 FAILED=0 SKIPPED=0 ACCEL=none
SUMMARY=()

# A failure that is not a single test case (build, boot, splat) counts once.
infra_fail() {
	FAILED=$((FAILED + 1))
	SUMMARY+=("$1: FAIL ($2)")
}

vm_setup
log "setup done in $((SECONDS - T0))s"

# -k: one test that does not compile must not hide the results of the
# others; the build failure itself still counts.
# Stale test binaries must not stand in for ones that no longer build.
rm -f "$BUILD"/tests/t_*
if ! make -s -k lib tests; then
	infra_fail userspace "make lib tests failed"
fi
mkdir -p "$BUILD/logs"

# judge_log LABEL LOG QEMU_STATUS: count TAP results, look for kernel trouble.
judge_log() {
	local label=$1 logf=$2 qrc=$3 clean ok notok skip why=()
	clean=$(tr -d '\r' <"$logf")
	ok=$(grep -cE '^ok [0-9]+' <<<"$clean" || true)
	skip=$(grep -cE '^ok [0-9]+ .*# SKIP' <<<"$clean" || true)
	notok=$(grep -cE '^not ok [0-9]+' <<<"$clean" || true)
	PASSED=$((PASSED + ok - skip)) SKIPPED=$((SKIPPED + skip)) FAILED=$((FAILED + notok))
	local marker counted=0
	if [[ $qrc == 124 || $qrc == 137 ]]; then
		why+=("guest killed after ${BOOT_SECS}s") counted=1
	elif [[ $qrc != 0 ]]; then
		why+=("qemu status $qrc") counted=1
	fi
	marker=$(grep -m1 '^FASTRPC-RESULT:' <<<"$clean" || true)
	if [[ -z $marker ]]; then
		# A killed guest has no marker either; count that once.
		why+=("no FASTRPC-RESULT marker")
		((counted)) || counted=1
	elif [[ $marker != 'FASTRPC-RESULT: PASS' ]]; then
		why+=("${marker#FASTRPC-RESULT: }")
		# Each guest reason other than "not ok" lines (already counted):
		# a crashed or hung program, insmod/rmmod trouble, no marker at all.
		counted=$((counted + $(tr ' ' '\n' <<<"${marker#FASTRPC-RESULT: FAIL}" |
			grep -cvE '^$|:not-ok' || true)))
	fi
	if grep -qE "$KERNEL_BAD" <<<"$clean"; then
		why+=("kernel: $(grep -m1 -E "$KERNEL_BAD" <<<"$clean" | sed -E 's/.*\[ *[0-9]+\.[0-9]+\] *//' | cut -c1-120)")
		counted=$((counted + 1))
	fi
	if ((${#why[@]})); then
		FAILED=$((FAILED + counted))
		SUMMARY+=("$label: FAIL, $((ok - skip)) ok, $notok not ok, $skip skipped: ${why[*]}")
		# Each failed case from its "#  RUN" line, then the end of the
		# console without the dmesg dump (the console already has warnings).
		echo "---- failed test cases, $label ----" >&2
		awk '/^#  RUN/ {buf = ""} {buf = buf $0 "\n"} /^not ok/ {printf "%s", buf}' <<<"$clean" >&2
		echo "---- last 80 lines of $logf (dmesg dump left out) ----" >&2
		sed '/^FASTRPC-DMESG-BEGIN/,/^FASTRPC-DMESG-END/d' <<<"$clean" | tail -n 80 >&2
		echo "----" >&2
	else
		SUMMARY+=("$label: PASS, $((ok - skip)) ok, $skip skipped (boot+tests ${BOOT_SECS}s)")
	fi
}

first=1
for k in ${FASTRPC_KERNELS:-6.1 6.12}; do
	abi=${KERNEL_ABI[$k]} kdir=${KERNEL_DIR[$k]}
	if ((first)); then pick_accel "$kdir" "$abi"; first=0; fi
	if ! build_module "$abi"; then
		infra_fail "$abi" "module build (see build/logs/mod-$abi.log)"
		continue
	fi
	initrd=$BUILD/initramfs-$abi.cpio
	make_initramfs "$initrd" "$kdir" "$abi" check "$BUILD/mod-$abi/kmod/af_fastrpc.ko"
	logf=$BUILD/logs/$abi.log
	qrc=0
	boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?
	# A KVM guest that never reached init is the known KVM hang: retry on TCG.
	if [[ $ACCEL == kvm ]] && ! grep -q FASTRPC-INIT "$logf"; then
		log "KVM guest never reached init; retrying with TCG"
		use_tcg
		qrc=0
		boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?
	fi
	judge_log "$abi" "$logf" "$qrc"
done

# Debug-kernel tier (KUnit, KASAN/UBSAN/lockdep kernel built from
# linux-source-6.12) goes here: build the kernel once into $CACHE keyed by
# source version and config, then reuse build_module/make_initramfs/boot_vm
# with the KUnit suites enabled. Tracked in its own issue.

echo
echo "==== FastRPC check summary ($ACCEL, $((SECONDS - T0))s) ===="
for s in "${SUMMARY[@]}"; do echo "  $s"; done
((SKIPPED == 0)) || echo "  ($SKIPPED test cases skipped)"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
