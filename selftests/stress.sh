#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Guest side of stall hunting (installed as build/tests/stress; never run by
# a plain make check, whose default is t_*).  Runs one selftest case over
# and over, in several loops at once, and dumps what the module holds while
# a run is still stuck, not after its teardown:
#
#   FASTRPC_TESTS=stress FASTRPC_STRESS="t_flow fl.no_head_of_line_blocking 3 40" \
#   FASTRPC_TEST_TIMEOUT=2000 FASTRPC_VM_TIMEOUT=2400 FASTRPC_KERNELS=6.1 \
#   FASTRPC_LINT=0 FASTRPC_KCSAN=0 FASTRPC_PERF_GATE=0 FASTRPC_DEBUG_KERNEL=0 make check
#
# FASTRPC_STRESS: PROGRAM FIXTURE.CASE [LOOPS [ROUNDS [SLOW]]]; a run that
# takes over SLOW seconds (default 10) gets one dump: /proc/net/fastrpc,
# fastrpcctl's connections and sockets, and the kernel stacks of the
# program's threads and of the workers in the module.  One TAP result:
# not ok if any run failed.  This is how the connection-window leak that
# kmod/flow.c's frpc_sock_grant_owed() now mends was found.

. /etc/fastrpc-vm.conf
# shellcheck disable=SC2086 # words wanted
set -- $STRESS
prog=$1 case=$2 loops=${3:-2} rounds=${4:-20} slow=${5:-10}
echo "1..1"
if [ -z "$prog" ] || [ -z "$case" ] || [ ! -x "/fastrpc/tests/$prog" ]; then
	echo "not ok 1 stress # FASTRPC_STRESS='$STRESS': PROGRAM CASE [LOOPS [ROUNDS [SLOW]]]"
	exit 1
fi

dump() {
	echo "# === dump: $1"
	sed 's/^/#   /' /proc/net/fastrpc
	fastrpcctl -j -p conn | sed 's/^/#   /'
	fastrpcctl -j -p sock | sed 's/^/#   /'
	for d in /proc/[0-9]*; do
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case $comm in
		"$prog" | fastrpc-*)
			for t in "$d"/task/*; do
				echo "#   --- $comm ${t##*/} $(cat "$t/wchan" 2>/dev/null)"
				sed 's/^/#     /' "$t/stack" 2>/dev/null
			done
			;;
		kworker*)
			if grep -q frpc "$d/stack" 2>/dev/null; then
				echo "#   --- $comm ${d##*/}"
				sed 's/^/#     /' "$d/stack"
			fi
			;;
		esac
	done
	echo "# === end of dump"
}

# loop N: ROUNDS runs; /tmp/stress.N.start holds the running one's start
loop() {
	i=0
	while [ "$i" -lt "$rounds" ]; do
		t0=$(date +%s)
		echo "$t0" >"/tmp/stress.$1.tmp"
		mv "/tmp/stress.$1.tmp" "/tmp/stress.$1.start"
		rm -f "/tmp/stress.$1.dumped"
		if ! "/fastrpc/tests/$prog" -r "$case" >"/tmp/stress.$1.out" 2>&1; then
			echo "# FAILED: loop $1 run $i"
			sed 's/^/#   /' "/tmp/stress.$1.out"
			touch /tmp/stress.failed
		fi
		echo "# loop $1 run $i: $(($(date +%s) - t0)) s"
		i=$((i + 1))
	done
	rm -f "/tmp/stress.$1.start" "/tmp/stress.$1.running"
}

rm -f /tmp/stress.*
n=0
while [ "$n" -lt "$loops" ]; do
	touch "/tmp/stress.$n.running"
	loop "$n" &
	n=$((n + 1))
done
# the watcher: until every loop is done
while ls /tmp/stress.*.running >/dev/null 2>&1; do
	sleep 2
	now=$(date +%s)
	for f in /tmp/stress.*.start; do
		[ -f "$f" ] || continue
		l=${f#/tmp/stress.}
		l=${l%.start}
		t0=$(cat "$f" 2>/dev/null)
		[ -n "$t0" ] || continue
		if [ $((now - t0)) -gt "$slow" ] && [ ! -f "/tmp/stress.$l.dumped" ]; then
			touch "/tmp/stress.$l.dumped"
			dump "loop $l, run going for $((now - t0)) s"
		fi
	done
done
wait
if [ -f /tmp/stress.failed ]; then
	echo "not ok 1 stress $prog $case"
	exit 1
fi
echo "ok 1 stress $prog $case ($loops loops x $rounds runs)"
