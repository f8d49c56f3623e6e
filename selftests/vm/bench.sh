#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: the benchmark matrix. FastRPC (one call per system call,
# batched through sendmmsg/recvmmsg with 16 and 64 in flight, and through
# rings at 64 B and 16 KiB with 16 and 64 in flight) beside TCP with 4-byte length
# framing (one write per message, and pipelined: every ready message in one
# write) and AF_UNIX SOCK_SEQPACKET, all in one guest, for two topologies
# (same-host over loopback; netns: the servers in another network namespace
# behind a veth pair), sizes 64 B to 1 MiB, 1, 16 and 64 calls in flight,
# plus small calls while 64 MiB streams on the same FastRPC connection.
# Each mode boots the guest once:
#
#  - icount: QEMU counts guest time in executed instructions
#    (-icount shift=0,sleep=off, one vCPU thread), so the ratios between
#    transports repeat exactly on a noisy host; absolute numbers are not
#    real time.
#  - wall: ordinary TCG with 2 vCPUs in wall-clock time: real concurrency,
#    noisier.
#
# Kernel allocations and system calls per call come from separate runs
# of a few rows under perf stat (kmem and raw_syscalls tracepoints).
#
# Writes build/bench/results.json (one object per row), PNG plots in
# build/bench/ (copied to Documentation/bench/) and the generated section
# of Documentation/benchmarks.rst (selftests/vm/bench-report.py).
#
# FASTRPC_BENCH_RUNS overrides the matrix ('|' between fastrpc-bench
# command lines; add -j so that rows reach results.json);
# FASTRPC_BENCH_GO_RUNS the Go rows, go-fastrpc-bench command lines run
# after them in the same guest (gobind/bench: go-fastrpc, go-fastrpc-ring,
# go-netrpc, go-grpc; set and empty: none, and no Go perf stat lines);
# FASTRPC_BENCH_PERF_RUNS the perf stat lines (empty: none);
# FASTRPC_BENCH_MODES picks "icount wall" or one of them;
# FASTRPC_BENCH_REPORT=0 leaves Documentation/ alone.
# FASTRPC_BENCH_PERF=1 runs each command under perf record (Debian's
# linux-perf, copied into the guest) and prints where the samples fell, by
# symbol; in icount mode cpu-clock samples are instruction samples, so the
# profile repeats.  The figures of a profiled run include perf's overhead.
# FASTRPC_BENCH_PERF_CALLERS=sym,sym (with FASTRPC_BENCH_PERF=1) also
# records call chains and prints the callers of those symbols.
# FASTRPC_BENCH_PERF_PROBES=sym,sym (with FASTRPC_BENCH_PERF=1) records
# every entry of those kernel functions instead (a kprobe each, with its
# call chain), not cpu-clock samples, and prints who called them: exact
# counts and callers, where TCG's samples fall only where interrupts
# are enabled again.
# FASTRPC_BENCH_IPROF=1: exact instructions by symbol per command line in
# the icount run, counted by a QEMU plugin (selftests/vm/iprof/).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

T0=$SECONDS
k=${FASTRPC_BENCH_KERNEL:-6.12}
FASTRPC_KERNELS=$k vm_setup
# shellcheck disable=SC2086 # a list of packages
apt_install $BENCH_PKGS
abi=${KERNEL_ABI[$k]} kdir=${KERNEL_DIR[$k]}
make -s lib tests
# the Go rows' program (grpc-go from BENCH_PKGS' golang-google-grpc-dev)
if [[ ${FASTRPC_BENCH_GO_RUNS-unset} != "" ]]; then
	make -s -C gobind bench || die "go-fastrpc-bench does not build"
fi
build_module "$abi" || die "af_fastrpc.ko does not build for $abi"
if [[ ${FASTRPC_BENCH_IPROF:-0} == 1 ]]; then
	. "$VMDIR/iprof/iprof.sh"
	iprof_setup "$abi" "$kdir"
fi

# The matrix: sizes x calls in flight, where -c requests fit in half of
# fastrpc-bench's 40 MiB socket buffers, as fastrpc-bench requires (so
# 256 KiB up to 64 in flight and 1 MiB up to 16). Fewer calls for large sizes keep the icount
# run within its time budget; p99.9 of a row with fewer than 1000 calls
# is close to its maximum. In icount mode -C pins client and server
# threads to CPUs 0 and 1: the scheduler's placement would otherwise vary
# from boot to boot. Not in wall mode, where a wakeup across vCPUs waits
# for the host to run the other vCPU's thread (pinned, 64 B calls took
# 4 ms there instead of 0.3 ms).  With -H, -C puts the small calls'
# client and server on CPU 0 and the streamer on CPU 1: unpinned, the
# small calls waited for a CPU the streamer or a work item held (up to a
# scheduler tick, 4 ms), which is not the connection's head of line.
bench_matrix() {
	local pin topo size c n w t ts ns ring runs=()
	pin=$([[ $1 == icount ]] && echo "-C ")
	for topo in same-host netns; do
		# fastrpc-tcp: the same host over TCP, short cut off
		ts=fastrpc,fastrpc-tcp,tcp,tcp-pipelined,unix ns=
		[[ $topo == netns ]] && ts=fastrpc,tcp,tcp-pipelined ns=" $BENCH_NETNS"
		for size in 64 1024 16384 262144 1048576; do
			case $size in
			64 | 1024) n=5000 w=500 ;;
			16384) n=2000 w=200 ;;
			262144) n=300 w=30 ;;
			*) n=100 w=10 ;;
			esac
			for c in 1 16 64; do
				((c * (size + 1024) <= 20 << 20)) || continue
				# batching needs more than one call in flight;
				# rings at 64 B, 16 KiB and 1 MiB (issue 9's
				# bulk row), to keep the run short
				t=$ts ring=
				[[ $size == 64 || $size == 16384 || $size == 1048576 ]] &&
					ring=fastrpc-ring,
				((c == 1)) || t=fastrpc,fastrpc-batch,$ring${ts#fastrpc,}
				# and one at a time at 64 B, sleeping in the
				# doorbell (MSG_WAITALL), in poll() and
				# busy-polling
				((c > 1 || size > 64)) ||
					t=fastrpc,fastrpc-ring,fastrpc-ring-poll,fastrpc-ring-busy,${ts#fastrpc,}
				runs+=("$pin-j -n $n -w $w -s $size -c $c -t $t$ns")
			done
		done
		runs+=("$pin-j -n 2000 -w 200 -s 64 -c 1 -H -t none$ns")
	done
	local IFS='|'
	echo "${runs[*]}"
}

# The Go rows (issue 11's comparison): gobind's client against net/rpc
# and grpc-go, 64 B unary echo with one call in flight and from 64
# goroutines, same host and across the namespaces; -C as above (each
# side's process pinned, GOMAXPROCS 1).  go-fastrpc-ring is listed
# already: go-fastrpc-bench leaves it out until gobind has a ring client.
bench_go_matrix() {
	local pin topo ns c runs=()
	pin=$([[ $1 == icount ]] && echo "-C ")
	for topo in same-host netns; do
		ns=
		[[ $topo == netns ]] && ns=" $BENCH_NETNS"
		for c in 1 64; do
			runs+=("$pin-j -n 5000 -w 500 -s 64 -c $c -t go-fastrpc,go-fastrpc-ring,go-netrpc,go-grpc$ns")
		done
	done
	local IFS='|'
	echo "${runs[*]}"
}

# perf stat: 64 B, one call in flight, each transport, at two call counts
# (and the Go rows of gobind at 1 and 64 in flight);
# bench-report.py divides the difference of the counts by the difference
# of the calls, so setup, warm-up and teardown cancel out. fastrpc-batch
# and fastrpc-ring, which save system calls only with many in flight,
# with 64 in flight instead.  $2 = 0 leaves the Go lines out (the Go rows
# were turned off: FASTRPC_BENCH_GO_RUNS set and empty).
bench_perf_matrix() {
	local pin topo t n ns runs=()
	pin=$([[ $1 == icount ]] && echo "-C ")
	for topo in same-host netns; do
		for t in fastrpc fastrpc-ring-busy fastrpc-tcp tcp tcp-pipelined unix; do
			ns=
			if [[ $topo == netns ]]; then
				[[ $t == unix || $t == fastrpc-tcp ]] && continue
				ns=" $BENCH_NETNS"
			fi
			for n in 500 1500; do
				runs+=("$pin-n $n -w 100 -s 64 -c 1 -t $t$ns")
			done
		done
		for t in fastrpc-batch fastrpc-ring; do
			ns=
			[[ $topo == netns ]] && ns=" $BENCH_NETNS"
			for n in 1000 3000; do
				runs+=("$pin-n $n -w 200 -s 64 -c 64 -t $t$ns")
			done
		done
		# gobind's two transports, the Go process's system calls
		# (runtime's included) at 1 and 64 in flight
		[[ ${2:-1} == 1 ]] || continue
		for t in go-fastrpc go-fastrpc-ring; do
			ns=
			[[ $topo == netns ]] && ns=" $BENCH_NETNS"
			for c in 1 64; do
				for n in 1000 3000; do
					runs+=("go $pin-n $n -w 200 -s 64 -c $c -t $t$ns")
				done
			done
		done
	done
	local IFS='|'
	echo "${runs[*]}"
}

user_runs=${FASTRPC_BENCH_RUNS:-} user_perf_runs=${FASTRPC_BENCH_PERF_RUNS-unset}
user_go_runs=${FASTRPC_BENCH_GO_RUNS-unset}
if [[ ${FASTRPC_BENCH_PERF:-0} == 1 || -n $user_perf_runs ]]; then
	command -v perf >/dev/null || apt_install linux-perf
	export GUEST_PERF=1 GUEST_PROFILE=${FASTRPC_BENCH_PERF:-0}
fi

logs=()
for mode in ${FASTRPC_BENCH_MODES:-icount wall}; do
	export FASTRPC_BENCH_RUNS=${user_runs:-$(bench_matrix "$mode")}
	export FASTRPC_BENCH_PERF_RUNS=$user_perf_runs
	go=1
	[[ $user_go_runs != '' ]] || go=0
	[[ $user_perf_runs != unset ]] || FASTRPC_BENCH_PERF_RUNS=$(bench_perf_matrix "$mode" $go)
	export FASTRPC_BENCH_GO_RUNS=$user_go_runs
	[[ $user_go_runs != unset ]] || FASTRPC_BENCH_GO_RUNS=$(bench_go_matrix "$mode")
	initrd=$BUILD/initramfs-bench-$mode-$abi.cpio
	make_initramfs "$initrd" "$kdir" "$abi" bench "$BUILD/mod-$abi/kmod/af_fastrpc.ko"
	bench_accel "$mode"
	[[ ${FASTRPC_BENCH_IPROF:-0} != 1 ]] || iprof_mode "$mode"
	logf=$BUILD/logs/bench-$mode-$abi.log
	qrc=0
	FASTRPC_VM_TIMEOUT=${FASTRPC_VM_TIMEOUT:-1800} boot_vm "$kdir" "$abi" "$initrd" "$logf" || qrc=$?
	echo
	echo "==== fastrpc-bench, guest $abi, $mode mode (${BOOT_SECS}s) ===="
	tr -d '\r' <"$logf" | sed -n '/^FASTRPC-BENCH-BEGIN/,/^FASTRPC-BENCH-END/{/^FASTRPC-\(BENCH\|ROW\|PERF:\)/d;p}'
	result=$(tr -d '\r' <"$logf" | grep -m1 '^FASTRPC-RESULT:' || echo 'FASTRPC-RESULT: none')
	if [[ $qrc != 0 || $result != 'FASTRPC-RESULT: PASS' ]]; then
		tail -n 40 "$logf"
		die "bench ($mode) failed: ${result#FASTRPC-RESULT: } (qemu status $qrc)"
	fi
	[[ ${FASTRPC_BENCH_IPROF:-0} != 1 || $mode != icount ]] || iprof_report "$logf"
	logs+=("$mode=$logf")
done

out=$BUILD/bench
mkdir -p "$out"
rst=()
[[ ${FASTRPC_BENCH_REPORT:-1} == 1 ]] && rst=(--rst Documentation/benchmarks.rst --images Documentation/bench)
python3 "$VMDIR/bench-report.py" report --out "$out" --qemu "$(qemu_version)" \
	--commit "$(git describe --always --dirty 2>/dev/null || echo unknown)" "${rst[@]}" "${logs[@]}"
log "make bench done in $((SECONDS - T0))s: $out/results.json"
