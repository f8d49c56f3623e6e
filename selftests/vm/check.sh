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

# One make check per checkout at a time: two runs would overwrite each
# other's build/ (modules, initramfs images, logs) mid-run.
mkdir -p "$BUILD"
exec 8>"$BUILD/.check.lock"
flock -n 8 || { log "another make check is running in this checkout; waiting"; flock 8; }

vm_setup
log "setup done in $((SECONDS - T0))s"

# -k: one test that does not compile must not hide the results of the
# others; the build failure itself still counts.
# Stale test binaries must not stand in for ones that no longer build.
rm -f "$BUILD"/tests/t_*
if ! make -s -k -j"$JOBS" lib tests; then
	infra_fail userspace "make lib tests failed"
fi
mkdir -p "$BUILD/logs"

# make lint (checkpatch, sparse, W=1): one failure if it finds anything.
run_lint() {
	local t=$SECONDS
	if "$VMDIR/lint.sh" >"$BUILD/logs/lint.log" 2>&1; then
		SUMMARY+=("lint: PASS ($((SECONDS - t))s)")
	else
		infra_fail lint "$(tail -n1 "$BUILD/logs/lint.log"), see build/logs/lint.log"
		sed -n '/^==== make lint/,$p' "$BUILD/logs/lint.log" | head -n 60 >&2
	fi
}

# oops_digest LABEL CONSOLE: the few lines that tell what a splat was (the
# first bad line, the test case running, RIP, the call trace as one line
# without the frames the unwinder is unsure of),
# kept for the end of the summary: CI shows only the end of the output.
DIGEST=()
oops_digest() {
	# the pipelines below stop reading early (grep -m1, head): a writer
	# killed by SIGPIPE must not fail the run under pipefail
	local -
	set +o pipefail
	local label=$1 clean from test rip trace
	clean=$(grep -vE "${KERNEL_BAD_SKIP:-^$}" <<<"$2")
	from=$(grep -m1 -nE "$KERNEL_BAD" <<<"$clean" | cut -d: -f1)
	[[ -n $from ]] || return 0
	test=$(head -n "$from" <<<"$clean" | grep -E '^#  RUN|^FASTRPC-TEST-BEGIN' | tail -n1)
	rip=$(tail -n "+$from" <<<"$clean" | grep -m1 -E 'RIP: 0010:' | sed -E 's/.*RIP: 0010://')
	trace=$(tail -n "+$from" <<<"$clean" | sed -n '/Call Trace:/,/<\/TASK>\|---\[ end/p' |
		sed -nE 's/.*\] +([A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+)( \[[a-z_]+\])?.*/\1\2/p' |
		head -n 14 | paste -sd' ' -)
	DIGEST+=("$label: $(sed -n "${from}p" <<<"$clean" | sed -E 's/.*\[ *[0-9]+\.[0-9]+\] *//' | cut -c1-160)")
	DIGEST+=("  during: ${test:-before the first test}")
	DIGEST+=("  RIP: ${rip:-none printed}")
	DIGEST+=("  trace: ${trace:-none printed}")
}

# judge_log LABEL LOG QEMU_STATUS: count TAP results, look for kernel trouble.
judge_log() {
	local -
	set +o pipefail		# as in oops_digest: grep -q, grep -m1 stop early
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
	# KERNEL_BAD_SKIP: lines a tier judges itself (the KCSAN tier's reports).
	if grep -vE "${KERNEL_BAD_SKIP:-^$}" <<<"$clean" | grep -qE "$KERNEL_BAD"; then
		why+=("kernel: $(grep -vE "${KERNEL_BAD_SKIP:-^$}" <<<"$clean" | grep -m1 -E "$KERNEL_BAD" |
			sed -E 's/.*\[ *[0-9]+\.[0-9]+\] *//' | cut -c1-120)")
		counted=$((counted + 1))
		oops_digest "$label" "$clean"
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

# One stock kernel's tier: its module, its guest, every test.
run_stock_tier() {
	local k=$1 abi=${KERNEL_ABI[$1]} kdir=${KERNEL_DIR[$1]} initrd logf qrc=0
	if ! build_module "$abi"; then
		infra_fail "$abi" "module build (see build/logs/mod-$abi.log)"
		return
	fi
	initrd=$BUILD/initramfs-$abi.cpio
	# The stock 6.12 guest runs the tests twice: with the same-host short
	# cut (the default) and with it off (TCP), so both paths are covered.
	GUEST_TCP_PASS=$([[ $k == 6.12 ]] && echo 1 || echo 0) \
		make_initramfs "$initrd" "$kdir" "$abi" check "$BUILD/mod-$abi/kmod/af_fastrpc.ko"
	logf=$BUILD/logs/$abi.log
	boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?
	# A KVM guest that never reached init is the known KVM hang: retry on TCG.
	if [[ $ACCEL == kvm ]] && ! grep -q FASTRPC-INIT "$logf"; then
		log "KVM guest never reached init; retrying with TCG"
		use_tcg
		qrc=0
		boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?
	fi
	judge_log "$abi" "$logf" "$qrc"
}

# Performance gate (selftests/vm/perf-gate.sh): a few fastrpc-bench rows
# in one short icount guest, compared with selftests/vm/perf-baseline.json;
# fails when a row is more than 5 % slower. Icount figures do not depend
# on the host's load, so while debug or KCSAN tiers follow, the gate's
# guest runs beside them (one host thread) and is judged at the end.
# It reuses the 6.12 module built above, or sets up and builds its own.
# FASTRPC_PERF_GATE=0 skips it.
GATE_PID='' GATE_OUT=$BUILD/logs/perf-gate.out GATE_T0=0
start_perf_gate() {
	local abi=${KERNEL_ABI[6.12]} args=()
	if [[ -n ${KERNEL_DIR[6.12]:-} && -f $BUILD/mod-$abi/kmod/af_fastrpc.ko ]]; then
		args=(--abi "$abi" --kdir "${KERNEL_DIR[6.12]}" --ko "$BUILD/mod-$abi/kmod/af_fastrpc.ko")
	fi
	GATE_T0=$SECONDS
	"$VMDIR/perf-gate.sh" "${args[@]}" >"$GATE_OUT" 2>&1 &
	GATE_PID=$!
}
judge_perf_gate() {
	local rc=0
	wait "$GATE_PID" || rc=$?
	if ((rc == 0)); then
		local again=''
		grep -q 'ended without a result' "$GATE_OUT" && again=', second boot: the first guest crashed, see build/logs/perf-gate.out'
		SUMMARY+=("perf-gate: PASS, $(grep -c '^  ' "$GATE_OUT") rows within 5 % of the baseline ($((SECONDS - GATE_T0))s$again)")
		return
	fi
	infra_fail perf-gate "$(grep -m1 -E '^(perf gate: FAIL|ERROR)' "$GATE_OUT" | cut -c1-200), see build/logs/perf-gate.out"
	echo "---- perf gate ----" >&2
	# the rows that moved, or what the guest printed last before it failed
	if grep -q '^ERROR' "$GATE_OUT"; then
		tail -n 70 "$GATE_OUT" >&2
	else
		grep -E '^(perf gate|  )' "$GATE_OUT" >&2 || tail -n 40 "$GATE_OUT" >&2
	fi
	echo "----" >&2
}

# count_kunit LOG: KUnit cases from the guest's "KUNIT: " lines (debugfs
# KTAP: suite lines at column 0, case lines indented by 4, parameters by 8).
# Adds them to PASSED/FAILED/SKIPPED; a failed suite without a failed case
# (suite init failure) counts once.
count_kunit() {
	local clean ok notok skip snotok
	clean=$(tr -d '\r' <"$1" | sed -n 's/^KUNIT: //p')
	ok=$(grep -cE '^    ok [0-9]+ ' <<<"$clean" || true)
	skip=$(grep -cE '^    ok [0-9]+ .*# SKIP' <<<"$clean" || true)
	notok=$(grep -cE '^    not ok [0-9]+ ' <<<"$clean" || true)
	snotok=$(grep -cE '^not ok [0-9]+ ' <<<"$clean" || true)
	((notok > 0 || snotok == 0)) || notok=1
	PASSED=$((PASSED + ok - skip)) SKIPPED=$((SKIPPED + skip)) FAILED=$((FAILED + notok))
	KUNIT_SUMMARY="KUnit $((ok - skip)) ok, $notok not ok, $skip skipped"
	if ((notok)); then
		echo "---- failed KUnit cases ----" >&2
		grep -E '^ *not ok|^    # .*(Expected|ASSERT|EXPECT|FAIL)' <<<"$clean" | head -n 60 >&2
	fi
}

# Third tier: the selftests (debug_tests) on a debug 6.12 kernel built from Debian's
# linux-source-6.12 with KASAN, UBSAN, lockdep, kmemleak, debugobjects and
# KUnit (selftests/vm/debug.config + debug-kasan.config, built once by
# debug-kernel.sh and cached in $CACHE/debug-kernel/<key>). The guest also loads the KUnit module,
# scans kmemleak before and after rmmod and checks for leftovers; any
# kernel splat fails the run. FASTRPC_DEBUG_KERNEL=0 skips the tier.
# Every selftest but t_ctl, which tests the user-space tool: its hundreds of
# fastrpcctl processes and fresh namespaces took 56 s alone and 134 s beside
# another guest on this kernel, the longest tier, while the kernel paths it
# reaches (netlink requests, dumps and events, namespace teardown) are
# t_netlink's and t_netns's, which run here.  FASTRPC_DEBUG_TESTS (globs)
# chooses others.
debug_tests() {
	local t
	for t in "$BUILD"/tests/t_*; do
		t=${t##*/}
		[[ $t == t_ctl ]] || printf '%s ' "$t"
	done
}

run_debug_tier() {
	local out dkdir rel label logf initrd qrc=0 ko
	if ! out=$("$VMDIR/debug-kernel.sh"); then
		infra_fail debug "debug kernel build (see $CACHE/debug-kernel/*/build.log)"
		return
	fi
	read -r dkdir rel <<<"$out"
	label=debug-$rel
	[[ $ACCEL != none ]] || pick_accel "$dkdir" "$rel"
	if ! build_module "$label" "$dkdir/obj"; then
		infra_fail "$label" "module build (see build/logs/mod-$label.log)"
		return
	fi
	ko=$BUILD/mod-$label/kmod/af_fastrpc.ko
	initrd=$BUILD/initramfs-$label.cpio
	# Once kmod/tests/ exists its KUnit module is part of the run.
	GUEST_DEBUG_CHECKS=1 GUEST_KUNIT_REQUIRED=$([[ -d $REPO/kmod/tests ]] && echo 1 || echo 0) \
		FASTRPC_TESTS=${FASTRPC_DEBUG_TESTS:-${FASTRPC_TESTS:-$(debug_tests)}} \
		FASTRPC_TEST_TIMEOUT=${FASTRPC_DEBUG_TEST_TIMEOUT:-900} make_initramfs "$initrd" "$dkdir" "$rel" check "$ko"
	logf=$BUILD/logs/$label.log
	# KASAN and lockdep under TCG are several times slower than the stock
	# kernels: generous limits, more memory for shadow and kmemleak.
	# watchdog_thresh=5: soft lockups reported after 10 s, not 20, so
	# t_teardown's loads (sized by time budgets on this kernel) provoke a
	# teardown that never yields in half the time.
	BOOT_APPEND=${FASTRPC_DEBUG_BOOT_APPEND-watchdog_thresh=5} \
		FASTRPC_VM_TIMEOUT=${FASTRPC_DEBUG_VM_TIMEOUT:-2400} \
		FASTRPC_VM_MEM=${FASTRPC_DEBUG_VM_MEM:-2048} \
		boot_vm "$dkdir" "$rel" "$initrd" "$logf" || qrc=$?
	KUNIT_SUMMARY=
	count_kunit "$logf"
	judge_log "$label" "$logf" "$qrc"
	SUMMARY[-1]+=" [$KUNIT_SUMMARY]"
}

# The selftests that race the module against itself: many threads on one
# socket and one shared connection, streaming and flow control (credit
# from softirq against senders), deadlines and cancellation (timers
# against replies), server close, lifecycle and namespace deletion
# (teardown against traffic), hostile peers (reader errors against
# users), rings (the kernel's ring work against system calls and
# threads scribbling over the shared pages), the Go package's
# goroutines. The at-scale t_teardown stays in
# the other tiers: under KCSAN and TCG it alone would take longer than
# all of these together.
KCSAN_TESTS="t_basic t_concurrency t_shared_conn t_netns t_server_close t_hostile t_stream t_deadline t_flow t_lifecycle t_memory t_ring t_go"

# KCSAN's run-time knobs (kernel/kcsan/core.c), as kernel parameters: a
# watchpoint every 2000 accesses at most instead of 4000 (twice the
# chances, within the time budget), and watchers that softirqs and
# interrupts on the same CPU can hit (the receive path runs in softirq).
KCSAN_BOOT_APPEND="kcsan.skip_watch=2000 kcsan.interrupt_watcher=1"

# KCSAN tier: the concurrency-heavy selftests on a KCSAN 6.12 kernel
# (debug.config + debug-kcsan.config, built once by "debug-kernel.sh kcsan"
# and cached in $CACHE/debug-kernel-kcsan/<key>). kcsan-judge.sh reads the
# reports: any data race that names af_fastrpc fails the tier, one failure
# per distinct race, unless kcsan-exceptions.txt lists it; races wholly in
# the core kernel are listed but do not fail. Other splats fail as in every
# tier. The tier also fails if KCSAN's boot self-test did not pass or it set
# up no watchpoints, and first checks the judge on a canned log.
# FASTRPC_KCSAN=0 skips the tier.
run_kcsan_tier() {
	local out dkdir rel label logf initrd qrc=0 ko jlog rc nmod rest idx
	if ! "$VMDIR/kcsan-judge.sh" --self-test >"$BUILD/logs/kcsan-judge-selftest.log" 2>&1; then
		infra_fail kcsan "kcsan-judge.sh self-test (see build/logs/kcsan-judge-selftest.log)"
		return
	fi
	if ! out=$("$VMDIR/debug-kernel.sh" kcsan); then
		infra_fail kcsan "KCSAN kernel build (see $CACHE/debug-kernel-kcsan/*/build.log)"
		return
	fi
	read -r dkdir rel <<<"$out"
	label=kcsan-$rel
	[[ $ACCEL != none ]] || pick_accel "$dkdir" "$rel"
	if ! build_module "$label" "$dkdir/obj"; then
		infra_fail "$label" "module build (see build/logs/mod-$label.log)"
		return
	fi
	ko=$BUILD/mod-$label/kmod/af_fastrpc.ko
	initrd=$BUILD/initramfs-$label.cpio
	# DEBUG_CHECKS: the leftover checks after rmmod (no kmemleak or KUnit here).
	GUEST_DEBUG_CHECKS=1 GUEST_KUNIT_REQUIRED=0 FASTRPC_TESTS=${FASTRPC_KCSAN_TESTS:-${FASTRPC_TESTS:-$KCSAN_TESTS}} \
		FASTRPC_TEST_TIMEOUT=${FASTRPC_KCSAN_TEST_TIMEOUT:-300} make_initramfs "$initrd" "$dkdir" "$rel" check "$ko"
	logf=$BUILD/logs/$label.log
	# slab_nomerge: without KASAN, SLUB merges the module's caches into
	# others, and their aliases outlive rmmod in /sys/kernel/slab, which the
	# leftover check would take for ours.
	BOOT_APPEND="slab_nomerge ${FASTRPC_KCSAN_BOOT_APPEND-$KCSAN_BOOT_APPEND}" \
		FASTRPC_VM_TIMEOUT=${FASTRPC_KCSAN_VM_TIMEOUT:-900} \
		boot_vm "$dkdir" "$rel" "$initrd" "$logf" || qrc=$?
	KERNEL_BAD_SKIP='BUG: KCSAN: ' judge_log "$label" "$logf" "$qrc"
	idx=$((${#SUMMARY[@]} - 1))
	jlog=$BUILD/logs/$label-races.txt
	rc=0
	"$VMDIR/kcsan-judge.sh" "$logf" >"$jlog" 2>&1 || rc=$?
	nmod=$(sed -nE 's/^kcsan-judge: ([0-9]+) module.*/\1/p' "$jlog")
	if ((rc == 1)) && [[ -n $nmod ]]; then
		FAILED=$((FAILED + nmod))
		rest=${SUMMARY[idx]#"$label: "} rest=${rest#PASS, } rest=${rest#FAIL, }
		SUMMARY[idx]="$label: FAIL, $nmod KCSAN data race(s) in af_fastrpc (see ${jlog#"$REPO/"}), $rest"
		echo "---- KCSAN reports naming af_fastrpc, $label ----" >&2
		grep -A1 '^  MODULE' "$jlog" >&2
	elif ((rc != 0)); then
		infra_fail "$label" "kcsan-judge.sh: $(tail -n1 "$jlog")"
	fi
	# A detector that did not run proves nothing.
	if ! grep -qE '^FASTRPC-KCSAN: .*kcsan: selftest: ([0-9]+)/\1 tests passed' <(tr -d '\r' <"$logf"); then
		infra_fail "$label" "no passed KCSAN boot self-test in the log"
	elif grep -q '^FASTRPC-RESULT:' "$logf" &&
		! grep -qE '^FASTRPC-KCSAN: setup_watchpoints: [1-9]' <(tr -d '\r' <"$logf"); then
		infra_fail "$label" "KCSAN set up no watchpoints during the run"
	fi
	SUMMARY[idx]+=" [KCSAN: $(tail -n1 "$jlog" | sed 's/^kcsan-judge: //');"
	SUMMARY[idx]+=" $(tr -d '\r' <"$logf" | sed -n 's/^FASTRPC-KCSAN: setup_watchpoints: //p' | tail -n1) watchpoints]"
}

# The debug tier, the longest, runs in a lane of its own beside the
# others: a guest keeps one of the two cores busy and the other part of
# the time (its tests wait on each other, on timers and on the network),
# so two guests at once take less time than one after the other.  The
# lane hands its counts and summary lines back through a file; this
# shell runs lint, the stock kernels with the performance gate, and
# KCSAN, which comes last, mostly after the debug guest, since KCSAN
# sets up fewer watchpoints on a busy host.  The summary lists the debug
# tier after KCSAN.  FASTRPC_CHECK_LANES=1 runs the tiers one after the
# other; so does a run on KVM, whose hang (a guest that never reaches
# init) moves every later tier to TCG, which one lane could not tell the
# other, and a run with no stock kernel, whose tiers each pick their
# accelerator.
LANES=2
[[ ${FASTRPC_CHECK_LANES:-2} != [01] ]] || LANES=1
LANE_STATE=$BUILD/logs/lane-debug.state

# lane_save FILE: this shell's counts and summary lines, to be added to
# the parent's (lane_merge).
lane_save() {
	local s
	# shellcheck disable=SC2016 # expanded where lane_merge sources it
	{
		printf 'PASSED=$((PASSED + %d)) FAILED=$((FAILED + %d)) SKIPPED=$((SKIPPED + %d))\n' \
			"$PASSED" "$FAILED" "$SKIPPED"
		for s in "${SUMMARY[@]}"; do printf 'SUMMARY+=(%q)\n' "$s"; done
		for s in "${DIGEST[@]}"; do printf 'DIGEST+=(%q)\n' "$s"; done
	} >"$1.tmp"
	mv "$1.tmp" "$1"
}

lane_merge() {
	local rc=0
	wait "$1" || rc=$?
	if [[ -f $2 ]]; then
		# shellcheck disable=SC1090 # written by lane_save above
		. "$2"
	else
		infra_fail "debug lane" "ended (status $rc) without its results"
	fi
}

# The background lane and the gate, and what they started (qemu runs
# under timeout, in a process group of its own): stopped when this shell
# ends early.  Each process is stopped before its children are killed,
# so that it starts nothing new meanwhile; only jobs still running are
# touched (a reaped one's PID may be another process's by now).
tree_kill() {
	local c
	kill -STOP "$1" 2>/dev/null || return 0
	for c in $(pgrep -P "$1" || true); do tree_kill "$c"; done
	kill -TERM "$1" 2>/dev/null || true
	kill -CONT "$1" 2>/dev/null || true
}
end_jobs() {
	local j
	for j in $(jobs -pr); do
		[[ $j != "$LANE_PID" && $j != "$GATE_PID" ]] || tree_kill "$j"
	done
}
LANE_PID=''
trap end_jobs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One accelerator for every tier, chosen before they part.
for k in ${FASTRPC_KERNELS-6.1 6.12}; do
	pick_accel "${KERNEL_DIR[$k]}" "${KERNEL_ABI[$k]}"
	break
done
[[ $ACCEL == tcg ]] || LANES=1

rm -f "$LANE_STATE"
if [[ $LANES != 1 && ${FASTRPC_DEBUG_KERNEL:-1} == 1 ]]; then
	# shellcheck disable=SC2030,SC2031 # the lane's own, handed back
	(
		PASSED=0 FAILED=0 SKIPPED=0 SUMMARY=() DIGEST=()
		run_debug_tier
		lane_save "$LANE_STATE"
	) &
	LANE_PID=$!
fi
[[ ${FASTRPC_LINT:-1} != 1 ]] || run_lint
for k in ${FASTRPC_KERNELS-6.1 6.12}; do run_stock_tier "$k"; done
[[ ${FASTRPC_PERF_GATE:-1} != 1 ]] || start_perf_gate
[[ $LANES != 1 || ${FASTRPC_DEBUG_KERNEL:-1} != 1 ]] || run_debug_tier
[[ ${FASTRPC_KCSAN:-1} != 1 ]] || run_kcsan_tier
if [[ -n $LANE_PID ]]; then
	lane_merge "$LANE_PID" "$LANE_STATE"
	LANE_PID=''
fi
[[ -z $GATE_PID ]] || judge_perf_gate

echo
echo "==== FastRPC check summary ($ACCEL, $((SECONDS - T0))s) ===="
for s in "${SUMMARY[@]}"; do echo "  $s"; done
((SKIPPED == 0)) || echo "  ($SKIPPED test cases skipped)"
if ((${#DIGEST[@]})); then
	echo "  kernel trouble (the whole console is in build/logs/):"
	for s in "${DIGEST[@]}"; do echo "    $s"; done
fi
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
