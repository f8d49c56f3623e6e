#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kcsan-judge.sh LOG [EXCEPTIONS]: judge the KCSAN reports in a guest's
# serial log (make check's KCSAN tier).
# kcsan-judge.sh --self-test: judge a canned log and check the verdict.
#
# A report runs from its "BUG: KCSAN: <kind> in <a> / <b>" line to the
# closing "=====" line; only timestamped kernel lines count, so test
# output interleaved on the console cannot add to or cut a report. The
# console copy and the end-of-run dmesg copy of one report carry the same
# timestamp and count once; one race reported several times (KCSAN
# repeats a race at most every CONFIG_KCSAN_REPORT_ONCE_IN_MS) counts once
# per title.
#
# A report that names af_fastrpc anywhere (a "[af_fastrpc]" frame or a
# frpc_* function, in the title or either stack) fails, unless its title
# matches an entry of EXCEPTIONS (default kcsan-exceptions.txt beside this
# script; "<ERE over the title>|<reason>", reason required). A report
# wholly inside the core kernel is listed but does not fail: the stock
# kernel has data races of its own that are not ours to judge.
#
# Prints the reports by class and ends with one line
#   kcsan-judge: M module, E excepted, C core-only (R reports)
# Exit status 0 if M is 0, 1 if not, 2 if the log or exceptions are unusable.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# kcsan_reports LOG: one line per distinct report,
# "<module 0|1><TAB><title><TAB><stack frames, ' < '-separated>".
kcsan_reports() {
	tr -d '\r' <"$1" | awk '
	function flush() {
		if (title != "" && !(title in seen_title)) {
			seen_title[title] = 1
			printf "%d\t%s\t%s\n", mod, title, frames
		}
		title = ""; inrep = 0
	}
	# Kernel lines only: "[    12.345678] text".
	!/^\[ *[0-9]+\.[0-9]+\]( |$)/ { next }
	{
		ts = $0; sub(/\].*/, "]", ts)
		text = $0; sub(/^\[ *[0-9]+\.[0-9]+\] ?/, "", text)
	}
	text ~ /^BUG: KCSAN: / {
		flush()
		t = text; sub(/^BUG: KCSAN: /, "", t)
		# The dmesg dump repeats the console: same timestamp, same title.
		if ((ts t) in seen_line) next
		seen_line[ts t] = 1
		title = t; inrep = 1; frames = ""; first = 1
		mod = (t ~ /\[af_fastrpc[a-z_]*\]|(^| )frpc_[A-Za-z0-9_]+/)
		next
	}
	!inrep { next }
	text ~ /^=+$/ { flush(); next }
	{
		# Only stack frames name the code that raced; the context lines
		# ("Workqueue: fastrpc frpc_tp_rx_workfn [af_fastrpc]" when the
		# reader was a kworker running our item) only say whose item it was.
		# Seen in CI: process_one_work() reading worker->task->
		# se.sum_exec_runtime (process_scheduled_works+0x1b3 in the KCSAN
		# kernel) while the scheduler tick updated it.
		if (text ~ /^ +[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/ &&
		    (text ~ /\[af_fastrpc[a-z_]*\]/ || text ~ /^ +frpc_[A-Za-z0-9_]+\+0x/)) mod = 1
		# "write to 0x... of 4 bytes by task 211 on cpu 0:" starts a stack.
		if (text ~ / to 0x[0-9a-f]+ of [0-9]+ bytes by /) {
			a = text; sub(/ to 0x.*/, "", a); sub(/^.*, with /, "", a)
			frames = frames (frames == "" ? "" : "; ") a ": "
			first = 1
		}
		# Stack frames: " func+0x1a/0x40 [mod]".
		if (text ~ /^ +[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/) {
			f = text; sub(/^ +/, "", f); sub(/\+0x.*/, "", f)
			frames = frames (first ? "" : " < ") f
			first = 0
		}
	}
	END { flush() }
	'
}

# judge LOG EXCEPTIONS
judge() {
	local logf=$1 exf=$2 line n=0 re why mod title frames hit i
	local -a ex_re=() ex_why=() module=() excepted=() core=()
	[[ -r $logf ]] || { echo "kcsan-judge: cannot read $logf" >&2; return 2; }
	if [[ -e $exf ]]; then
		while IFS= read -r line || [[ -n $line ]]; do
			n=$((n + 1))
			[[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
			re=${line%%|*} why=${line#*|}
			if [[ $line != *'|'* || -z $re || -z ${why//[[:space:]]/} ]]; then
				echo "kcsan-judge: $exf:$n: want <regex>|<reason>" >&2
				return 2
			fi
			ex_re+=("$re") ex_why+=("$why")
		done <"$exf"
	fi
	while IFS=$'\t' read -r mod title frames; do
		if ((mod == 0)); then
			core+=("$title")
			continue
		fi
		hit=
		for i in "${!ex_re[@]}"; do
			if grep -qE -- "${ex_re[$i]}" <<<"$title"; then hit=$i; break; fi
		done
		if [[ -n $hit ]]; then
			excepted+=("$title [excepted: ${ex_why[$hit]}]")
		else
			module+=("$title"$'\n'"      stack: $frames")
		fi
	done < <(kcsan_reports "$logf")
	for line in "${module[@]}"; do echo "  MODULE   $line"; done
	for line in "${excepted[@]}"; do echo "  excepted $line"; done
	for line in "${core[@]}"; do echo "  core     $line"; done
	echo "kcsan-judge: ${#module[@]} module, ${#excepted[@]} excepted, ${#core[@]} core-only" \
		"($((${#module[@]} + ${#excepted[@]} + ${#core[@]})) reports)"
	((${#module[@]} == 0))
}

# A judge that could not fail would prove nothing: feed it a log with one
# race in the module (reported on the console and again in the dmesg
# dump, with test output interleaved), two core-only races (one read by
# a kworker running our work item), one excepted
# race and a look-alike line from user space, and check each verdict.
self_test() {
	local d rc=0 out
	d=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$d'" RETURN
	cat >"$d/log" <<-'EOF'
	FASTRPC-TEST-BEGIN: t_stream
	[   41.203117] ==================================================================
	[   41.203548] BUG: KCSAN: data-race in frpc_call_credit [af_fastrpc] / frpc_rx_data [af_fastrpc]
	[   41.204001] 
	[   41.204120] write to 0xffff88800a1c2e40 of 4 bytes by interrupt on cpu 1:
	[   41.204560]  frpc_rx_data+0x3a1/0x6c0 [af_fastrpc]
	# t_stream: BUG: KCSAN: data-race in user_space_says_so / not_a_report
	[   41.205002]  frpc_reader_recv+0x21c/0x4a0 [af_fastrpc]
	[   41.205330]  tcp_read_sock+0x10e/0x3c0
	[   41.205777] 
	[   41.205901] read to 0xffff88800a1c2e40 of 4 bytes by task 211 on cpu 0:
	[   41.206300]  frpc_call_credit+0x5b/0x120 [af_fastrpc]
	[   41.206700]  frpc_sendmsg+0x812/0xd40 [af_fastrpc]
	[   41.207100]  __sys_sendmsg+0x9c/0x100
	[   41.207500] 
	[   41.207600] value changed: 0x00001000 -> 0x00000f00
	[   41.207900] 
	[   41.208000] Reported by Kernel Concurrency Sanitizer on:
	[   41.208300] CPU: 0 UID: 0 PID: 211 Comm: t_stream Tainted: G           O       6.12.118 #1
	[   41.208700] ==================================================================
	[   52.000000] ==================================================================
	[   52.000100] BUG: KCSAN: data-race in frpc_conn_stats [af_fastrpc] / tcp_sendmsg_locked
	[   52.000200] 
	[   52.000300] read to 0xffff88800b000010 of 8 bytes by task 230 on cpu 1:
	[   52.000400]  frpc_conn_stats+0x10/0x80 [af_fastrpc]
	[   52.000500] 
	[   52.000600] Reported by Kernel Concurrency Sanitizer on:
	[   52.000700] ==================================================================
	[   58.300000] ==================================================================
	[   58.300100] BUG: KCSAN: data-race in process_scheduled_works+0x1b3/0x434
	[   58.300200] 
	[   58.300300] race at unknown origin, with read to 0xffff88800c2a1d40 of 8 bytes by task 77 on cpu 1:
	[   58.300400]  process_scheduled_works+0x1b3/0x434
	[   58.300500]  worker_thread+0x2b5/0x3c0
	[   58.300600] 
	[   58.300700] value changed: 0x0000000012a4c1f0 -> 0x0000000012a5b000
	[   58.300800] 
	[   58.300900] Reported by Kernel Concurrency Sanitizer on:
	[   58.301000] CPU: 1 UID: 0 PID: 77 Comm: kworker/u8:3 Tainted: G           O       6.12.118 #1
	[   58.301100] Workqueue: fastrpc frpc_tp_rx_workfn [af_fastrpc]
	[   58.301200] ==================================================================
	[   60.100000] ==================================================================
	[   60.100100] BUG: KCSAN: data-race in tick_nohz_idle_stop_tick / tick_nohz_next_event
	[   60.100200] 
	[   60.100300] write to 0xffffffff82a0c0a8 of 4 bytes by task 0 on cpu 0:
	[   60.100400]  tick_nohz_idle_stop_tick+0x1c3/0x4e0
	[   60.100500]  do_idle+0x11b/0x190
	[   60.100600] 
	[   60.100700] Reported by Kernel Concurrency Sanitizer on:
	[   60.100800] ==================================================================
	FASTRPC-DMESG-BEGIN
	[   41.203548] BUG: KCSAN: data-race in frpc_call_credit [af_fastrpc] / frpc_rx_data [af_fastrpc]
	[   41.204560]  frpc_rx_data+0x3a1/0x6c0 [af_fastrpc]
	[   41.208700] ==================================================================
	FASTRPC-DMESG-END
	EOF
	printf '%s\n' '# canned exception' 'frpc_conn_stats .* / tcp_sendmsg_locked$|self-test entry' >"$d/ex"
	out=$(judge "$d/log" "$d/ex") && rc=0 || rc=$?
	printf '%s\n' "$out"
	if ((rc != 1)) || [[ $(tail -n1 <<<"$out") != 'kcsan-judge: 1 module, 1 excepted, 2 core-only (4 reports)' ]] ||
		! grep -q 'MODULE   data-race in frpc_call_credit \[af_fastrpc\] / frpc_rx_data \[af_fastrpc\]' <<<"$out" ||
		! grep -q 'stack: write: frpc_rx_data < frpc_reader_recv < tcp_read_sock; read: frpc_call_credit < frpc_sendmsg < __sys_sendmsg' <<<"$out"; then
		echo "kcsan-judge: self-test FAILED (rc $rc)" >&2
		return 1
	fi
	# Without the exception the second race fails too; a clean log passes.
	out=$(judge "$d/log" /dev/null) || true
	[[ $(tail -n1 <<<"$out") == 'kcsan-judge: 2 module, 0 excepted, 2 core-only (4 reports)' ]] ||
		{ echo "kcsan-judge: self-test FAILED (no exceptions: $(tail -n1 <<<"$out"))" >&2; return 1; }
	grep -v KCSAN "$d/log" >"$d/clean"
	judge "$d/clean" "$d/ex" >/dev/null ||
		{ echo "kcsan-judge: self-test FAILED (a clean log failed)" >&2; return 1; }
	echo "kcsan-judge: self-test passed"
}

if [[ ${1:-} == --self-test ]]; then
	self_test
else
	[[ $# -ge 1 ]] || { echo "usage: $0 LOG [EXCEPTIONS] | --self-test" >&2; exit 2; }
	judge "$1" "${2:-$HERE/kcsan-exceptions.txt}"
fi
