# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Exact instruction profiles for make bench (FASTRPC_BENCH_IPROF=1),
# sourced by bench.sh after lib.sh. The icount run loads the TCG plugin
# iprof.so, which counts every translation block the guest executes; the
# guest runs each fastrpc-bench command line under iprof-mark, whose marker
# instructions open and close one window per command line, and prints the
# module symbols from /proc/kallsyms. After the run, report.py turns the
# windows into instructions per call by symbol. vmlinux's symbols come
# from the guest once per kernel package (Debian's System.map is a stub)
# and are cached in $CACHE/iprof/. See Documentation/benchmarks.rst.
#
#   FASTRPC_IPROF_TOP   symbols per window in the report (default 30)

IPROF_DIR=$VMDIR/iprof
IPROF_OUT=$BUILD/iprof

# iprof_setup ABI KDIR: build the plugin and iprof-mark (copied into the
# initramfs through GUEST_IPROF).
iprof_setup() {
	local abi=$1 kdir=$2
	command -v python3 >/dev/null || apt_install python3
	mkdir -p "$IPROF_OUT" "$CACHE/iprof"
	gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -shared -fPIC -fvisibility=hidden \
		-o "$IPROF_OUT/iprof.so" "$IPROF_DIR/iprof.c" -lpthread ||
		die "iprof: the plugin does not build"
	gcc -O2 -Wall -Wextra -Werror -static -o "$IPROF_OUT/iprof-mark" "$IPROF_DIR/iprof-mark.c" ||
		die "iprof: iprof-mark does not build"
	export GUEST_IPROF=$IPROF_OUT/iprof-mark
	IPROF_KALLSYMS=$CACHE/iprof/kallsyms-$(basename "$kdir").txt
	IPROF_ABI=$abi
	IPROF_APPEND_SAVED=${BOOT_APPEND:-}
}

# iprof_mode MODE: in the icount run load the plugin (one TCG thread, so
# its counters are exact), boot with nokaslr and, while vmlinux's symbols
# are not cached, have the guest print them. Other modes run as usual.
iprof_mode() {
	BOOT_APPEND=$IPROF_APPEND_SAVED
	[[ $1 == icount ]] || return 0
	rm -rf "${IPROF_OUT:?}/win-$IPROF_ABI" && mkdir -p "$IPROF_OUT/win-$IPROF_ABI"
	ACCEL_ARGS+=(-plugin "file=$IPROF_OUT/iprof.so,out=$IPROF_OUT/win-$IPROF_ABI/win")
	BOOT_APPEND="${BOOT_APPEND:+$BOOT_APPEND }nokaslr"
	[[ -s $IPROF_KALLSYMS ]] || BOOT_APPEND+=" iprof.vmlinux=1"
}

# iprof_report LOG: instructions by symbol for each window of the run.
iprof_report() {
	python3 "$IPROF_DIR/report.py" --log "$1" --kallsyms-cache "$IPROF_KALLSYMS" \
		--top "${FASTRPC_IPROF_TOP:-30}" || die "iprof: no report"
}
