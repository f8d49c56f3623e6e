# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # variables are used by the sourcing scripts
#
# Shared helpers for the QEMU harness (check.sh, demo.sh, vm.sh).
# Sourced, not executed. Everything downloaded lives under $CACHE, outside
# the repository, keyed by package version so a warm run fetches nothing.
#
# Environment knobs:
#   FASTRPC_CACHE        cache root (default /var/cache/fastrpc)
#   FASTRPC_ACCEL        kvm | tcg | auto (default auto: short KVM trial boot)
#   FASTRPC_VM_TIMEOUT   seconds before a guest is killed (default 1200)
#   FASTRPC_TEST_TIMEOUT seconds per test program in the guest (default 300)
#   FASTRPC_VM_MEM       guest memory in MiB (default 1024)
#   FASTRPC_KERNELS      kernels to use, subset of "6.1 6.12" (default both; empty: none)
#   FASTRPC_TESTS        guest test programs to run, space-separated globs (default t_*)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMDIR=$REPO/selftests/vm
CACHE=${FASTRPC_CACHE:-${CACHE:-/var/cache/fastrpc}}
BUILD=$REPO/build
# Parallel jobs for the host's builds (module, libfastrpc and tests):
# kbuild is not told -j by make check, and one job left one of the two
# cores of the reference machine idle for about 45 s per module build.
JOBS=${FASTRPC_JOBS:-$(nproc 2>/dev/null || echo 2)}
export CACHE
# Go's build cache (gobind/Makefile), keyed by what goes in: outside the
# checkout, so that a fresh clone does not build the standard library again;
# in the checkout (build/go/cache) for a user who cannot write there.
if [[ -z ${GOCACHE_DIR:-} ]] && mkdir -p "$CACHE/go-build" 2>/dev/null &&
	[[ -w $CACHE/go-build ]]; then
	export GOCACHE_DIR=$CACHE/go-build
fi

# Guest modules besides af_fastrpc: veth is required by the tests, the rest
# are loaded when present so tests can use netem delays, dummy links or kTLS.
GUEST_MODS_REQUIRED="veth"
GUEST_MODS_OPTIONAL="sch_netem dummy tls"

# Host tools copied into the guest with their shared libraries.
# dash becomes /bin/sh: Debian's busybox prefers its own applets (a tiny
# "ip") over PATH, which would break system("ip netns ...") in tests.
GUEST_TOOLS="/usr/bin/dash /usr/sbin/ip /usr/sbin/tc /usr/bin/ss /usr/bin/timeout"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# --- host packages -------------------------------------------------------

# golang-google-protobuf-dev: the sources gobind/protocodec builds from.
# linux-perf: perf stat in the guests of the performance gate (its per-call
# counts) and of make bench.
HOST_PKGS="qemu-system-x86 busybox-static cpio xz-utils zstd bc flex bison
	libelf-dev libssl-dev libnl-genl-3-dev libnl-3-dev pkg-config sparse
	iproute2 kmod gcc make libc6-dev coreutils dpkg-dev
	debian-archive-keyring golang-1.23-go golang-google-protobuf-dev
	linux-source-6.12 python3 python3-yaml linux-perf"

# make bench also plots (the performance gate of make check needs python3 and perf only),
# and its Go rows compare gobind with grpc-go, from Debian (built against
# /usr/share/gocode, see gobind/Makefile).
BENCH_PKGS="gnuplot-nox golang-google-grpc-dev"

# fastrpc-bench's netns topology: the guest init (bench mode) creates this
# namespace and a veth pair to it, 10.99.0.1 here, 10.99.0.2 there.
BENCH_NETNS="-N fastrpc-bench-srv -a 10.99.0.2"

# Fresh bookworm machines often lack backports; 6.12 and Go 1.23 live there.
ensure_backports() {
	if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return
	fi
	log "adding bookworm-backports apt source"
	cat >/etc/apt/sources.list.d/fastrpc-backports.sources <<-'EOF'
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	rm -f "$CACHE/apt-updated"
}

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

# apt-get update at most every 6 hours (and always on a fresh cache), so
# warm runs stay quick while a cold machine gets current package lists.
apt_update() {
	if [[ -z $(find "$CACHE/apt-updated" -mmin -360 2>/dev/null) ]]; then
		log "apt-get update"
		apt-get update -qq
		touch "$CACHE/apt-updated"
	fi
}

apt_install() {
	local miss
	miss=$(missing_pkgs "$@")
	[[ -z $miss ]] && return
	log "installing:" $miss
	# shellcheck disable=SC2086 # word splitting wanted
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $miss >&2
}

# --- kernels ---------------------------------------------------------------

# The ABI of linux-image-amd64 at a given version, e.g. "6.1.0-56-amd64",
# found via the metapackage so no ABI number is hard-coded here.
abi_of_meta_version() {
	apt-cache depends "linux-headers-amd64=$1" 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(.*\)$/\1/p' | head -n1
}

# Sets KERNEL_ABI[6.1] and KERNEL_ABI[6.12].
declare -gA KERNEL_ABI
resolve_kernels() {
	local v61 v612
	# bookworm's own candidate (main or security) is 6.1; backports is 6.12.
	v61=$(apt-cache madison linux-headers-amd64 | awk -F' [|] ' '$2 !~ /bpo/ {print $2}' |
		sort -V | tail -n1 | tr -d ' ')
	v612=$(apt-cache madison linux-headers-amd64 | awk -F' [|] ' '$2 ~ /bpo/ {print $2}' |
		sort -V | tail -n1 | tr -d ' ')
	[[ -n $v61 && -n $v612 ]] || die "cannot find linux-headers-amd64 in bookworm and bookworm-backports"
	KERNEL_ABI[6.1]=$(abi_of_meta_version "$v61")
	KERNEL_ABI[6.12]=$(abi_of_meta_version "$v612")
	[[ -n ${KERNEL_ABI[6.1]} && -n ${KERNEL_ABI[6.12]} ]] || die "cannot resolve kernel ABIs"
}

# Download and unpack linux-image-<abi> once per package version.
# Prints the cache directory holding vmlinuz, config and lib/modules.
fetch_kernel() {
	local abi=$1 pkg ver dir tmp deb
	pkg=linux-image-$abi
	# Some ABIs only exist as -unsigned; prefer the signed one like users do.
	if [[ -z $(apt-cache madison "$pkg" 2>/dev/null) ]]; then
		pkg=linux-image-$abi-unsigned
	fi
	ver=$(apt-cache madison "$pkg" | awk -F' [|] ' 'NR==1 {print $2}' | tr -d ' ')
	[[ -n $ver ]] || die "no package for kernel $abi"
	dir=$CACHE/kernels/${pkg}_${ver//[:~+]/_}
	if [[ ! -e $dir/.done ]]; then
		log "fetching $pkg $ver"
		tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
		(cd "$tmp" && apt-get download -qq "$pkg=$ver" 2>/dev/null) ||
			die "apt-get download $pkg=$ver failed"
		deb=$(echo "$tmp"/*.deb)
		rm -rf "$dir" && mkdir -p "$dir"
		# Only /boot and the modules are needed; skip docs.
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/*' './lib/modules/*' \
			2>/dev/null || dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/*' './usr/lib/modules/*'
		[[ -d $dir/usr/lib/modules ]] && mkdir -p "$dir/lib" && mv "$dir/usr/lib/modules" "$dir/lib/"
		rm -rf "$tmp"
		[[ -f $dir/boot/vmlinuz-$abi ]] || die "$pkg has no vmlinuz-$abi"
		check_kernel_config "$dir/boot/config-$abi"
		touch "$dir/.done"
	fi
	echo "$dir"
}

check_kernel_config() {
	local opt
	for opt in CONFIG_VETH=m CONFIG_STREAM_PARSER=y CONFIG_NET_NS=y CONFIG_IPV6=y; do
		grep -qE "^${opt%=*}=[ym]" "$1" || die "$1 lacks ${opt%=*} (needed: $opt)"
	done
	grep -qx CONFIG_STREAM_PARSER=y "$1" || die "$1: CONFIG_STREAM_PARSER must be =y"
}

# Path of a module (possibly compressed) in an unpacked kernel, by name.
find_mod() {
	local kdir=$1 abi=$2 name=$3
	find "$kdir/lib/modules/$abi/kernel" -name "$name.ko" -o -name "$name.ko.xz" \
		-o -name "$name.ko.zst" -o -name "$name.ko.gz" | head -n1
}

# Copy a module decompressed into $dest (busybox insmod cannot read .xz/.zst).
decompress_mod() {
	local src=$1 dest=$2
	case $src in
	*.xz) xz -dc "$src" >"$dest" ;;
	*.zst) zstd -qdc "$src" >"$dest" ;;
	*.gz) gzip -dc "$src" >"$dest" ;;
	*) cp "$src" "$dest" ;;
	esac
}

# Print module names in load order (dependencies first) for the given
# .ko files or module names, resolving names inside the unpacked kernel.
mod_load_order() {
	local kdir=$1 abi=$2
	shift 2
	local -A seen=()
	_visit() {
		local m=$1 f dep
		[[ -n ${seen[$m]:-} ]] && return
		seen[$m]=1
		if [[ -f $m ]]; then f=$m; else f=$(find_mod "$kdir" "$abi" "$m"); fi
		[[ -n $f ]] || return 0
		for dep in $(modinfo -F depends "$f" 2>/dev/null | tr ',' ' '); do
			_visit "$dep"
		done
		[[ -f $m ]] || echo "$m"
	}
	local m
	for m in "$@"; do _visit "$m"; done
}

# --- accelerator -----------------------------------------------------------

# KVM guests have been seen to hang on some hosts, so prove KVM with a tiny
# guest that prints a marker and powers off; otherwise fall back to TCG.
# Sets ACCEL_ARGS and ACCEL.
pick_accel() {
	local want=${FASTRPC_ACCEL:-auto} kdir=$1 abi=$2
	if [[ $want == tcg ]] || [[ $want == auto && ! -w /dev/kvm ]]; then
		ACCEL=tcg
	elif [[ $want == kvm ]]; then
		ACCEL=kvm
	else
		local t=$CACHE/kvmtrial d
		d=$(mktemp -d)
		mkdir -p "$d/bin"
		cp /bin/busybox "$d/bin/busybox"
		ln -s busybox "$d/bin/sh"
		printf '#!/bin/sh\n/bin/busybox echo FASTRPC-KVM-OK\n/bin/busybox poweroff -f\n' >"$d/init"
		chmod +x "$d/init"
		(cd "$d" && find . | cpio -o -H newc --quiet) >"$t.cpio"
		rm -rf "$d"
		log "KVM trial boot (45 s limit)"
		# In a subshell so bash's "Aborted" note for a crashing qemu stays quiet.
		(timeout -k 5 45 qemu-system-x86_64 -enable-kvm -cpu host -m 512 -smp 1 \
			-kernel "$kdir/boot/vmlinuz-$abi" -initrd "$t.cpio" \
			-append "console=ttyS0 quiet panic=-1" -display none -monitor none \
			-serial "file:$t.log" -no-reboot </dev/null >/dev/null 2>&1 || true) 2>/dev/null
		if grep -q FASTRPC-KVM-OK "$t.log" 2>/dev/null; then ACCEL=kvm; else ACCEL=tcg; fi
		log "KVM trial: $( [[ $ACCEL == kvm ]] && echo ok || echo 'no marker, using TCG')"
	fi
	if [[ $ACCEL == kvm ]]; then
		ACCEL_ARGS=(-enable-kvm -cpu host)
	else
		use_tcg
	fi
}

# bench_accel icount|wall: the benchmark guests' emulator settings, always
# TCG so that both modes (and the performance gate) run the same emulator.
bench_accel() {
	ACCEL=tcg
	if [[ $1 == icount ]]; then
		# No RDRAND/RDSEED: the host's random numbers would seed the
		# guest's (hash tables, ports, ASLR) differently on every boot.
		# No CMPXCHG16B: single-threaded TCG under icount now and then
		# corrupts EFLAGS in SLUB's per-CPU cmpxchg16b and the guest
		# dies of a double fault (two in about ten boots on
		# 2026-12-03, always at that instruction); without the flag
		# the kernel takes its cmpxchg16b_emu path, which moves the
		# gate's rows by under 1 %.
		# shellcheck disable=SC2054 # commas are qemu's
		ACCEL_ARGS=(-accel tcg,thread=single -icount shift=0,sleep=off -cpu max,-rdrand,-rdseed,-cx16)
	else
		# shellcheck disable=SC2054
		ACCEL_ARGS=(-accel tcg,thread=multi -cpu max,-cx16)
	fi
}

# "QEMU emulator version 7.2.x (Debian ...)", for results and baselines.
qemu_version() {
	qemu-system-x86_64 --version | head -n1
}

use_tcg() {
	ACCEL=tcg
	# No CMPXCHG16B here either (see bench_accel), as a precaution: a
	# stock 6.12 guest of make check on CI died once of an "Oops: int3"
	# mid-run (2026-12-03), unexplained (CI kept only the first line),
	# while the debug kernels passed the same tests; sixteen local runs
	# of the same tests did not repeat it.  The summary now ends with
	# the RIP and the call trace of any splat, so a next one can be told
	# apart from this emulator's known SLUB flake.  (A next one came on
	# 2026-12-04 and was explained: see tsc=reliable in boot_vm_once.)
	# shellcheck disable=SC2054 # the comma is qemu's, not an array separator
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max,-cx16)
}

# --- setup -------------------------------------------------------------------

# Install everything, fetch both kernels and the kselftest headers.
# Sets KERNEL_DIR[6.1|6.12] (unpacked image) next to KERNEL_ABI.
declare -gA KERNEL_DIR
vm_setup() {
	[[ $(id -u) == 0 ]] || die "run as root (installs packages, builds initramfs)"
	mkdir -p "$CACHE"
	ensure_backports
	[[ -z $(missing_pkgs $HOST_PKGS) ]] || apt_update
	resolve_kernels || { rm -f "$CACHE/apt-updated"; apt_update; resolve_kernels; }
	local k pkgs=$HOST_PKGS
	for k in 6.1 6.12; do pkgs+=" linux-headers-${KERNEL_ABI[$k]}"; done
	# shellcheck disable=SC2086
	apt_install $pkgs || { rm -f "$CACHE/apt-updated"; apt_update; apt_install $pkgs; }
	fetch_kselftest
	for k in ${FASTRPC_KERNELS-6.1 6.12}; do
		KERNEL_DIR[$k]=$(fetch_kernel "${KERNEL_ABI[$k]}")
	done
}

# kselftest_harness.h and kselftest.h from Debian's 6.12 source, for the
# selftests Makefile (-I$(CACHE)/kselftest).
fetch_kselftest() {
	local src ver stamp
	src=$(ls /usr/src/linux-source-6.12.tar.* | head -n1)
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	stamp=$CACHE/kselftest/.version
	[[ -f $stamp && $(cat "$stamp") == "$ver" ]] && return
	log "extracting kselftest headers from $src"
	rm -rf "$CACHE/kselftest" && mkdir -p "$CACHE/kselftest"
	tar -xf "$src" -C "$CACHE/kselftest" --strip-components=4 --wildcards \
		'*/tools/testing/selftests/kselftest_harness.h' '*/tools/testing/selftests/kselftest.h'
	echo "$ver" >"$stamp"
}

# --- module build --------------------------------------------------------------

# build_module ABI [KDIR]: build af_fastrpc.ko (and kmod/tests/'s KUnit
# module where the kernel has CONFIG_KUNIT) against one kernel's headers, or
# the build tree KDIR, in build/mod-<abi>.
# Fails on any compiler warning. Output goes to build/logs/mod-<abi>.log.
build_module() {
	local abi=$1 kdir=${2:-} dir out
	dir=$BUILD/mod-$abi
	if [[ -z $kdir ]]; then
		kdir=/usr/src/linux-headers-$abi
		[[ -d $kdir ]] || kdir=/lib/modules/$abi/build
	fi
	mkdir -p "$BUILD/logs"
	out=$BUILD/logs/mod-$abi.log
	rm -rf "$dir" && mkdir -p "$dir"
	cp -a "$REPO/Kbuild" "$REPO/kmod" "$REPO/uapi" "$dir/"
	log "building af_fastrpc.ko for $abi"
	if ! make -j"$JOBS" -C "$kdir" M="$dir" modules >"$out" 2>&1; then
		tail -n 40 "$out" >&2
		return 1
	fi
	if grep -q 'warning:' "$out"; then
		grep -B2 -A4 'warning:' "$out" | head -n 60 >&2
		log "module build for $abi has warnings (full log: $out)"
		return 1
	fi
	[[ -f $dir/kmod/af_fastrpc.ko ]] || { log "no kmod/af_fastrpc.ko for $abi"; return 1; }
}

# --- initramfs -------------------------------------------------------------------

# Copy a dynamic executable or library and everything ldd says it needs,
# at the same absolute paths, into the guest root $1.
copy_with_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		for lib in $(LD_LIBRARY_PATH=$BUILD/lib ldd "$f" 2>/dev/null |
			awk '/=> \// {print $3} /^\t\// {print $1}'); do
			[[ -e $root$lib ]] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
}

# make_initramfs OUT KDIR ABI MODE [AF_FASTRPC_KO]
# MODE is what the guest init does: check, demo or shell-free "smoke".
make_initramfs() {
	local out=$1 kdir=$2 abi=$3 mode=$4 ko=${5:-} root m f order=()
	root=$(mktemp -d)
	# Debian is merged-/usr: keep the same layout so ldd paths just work.
	mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,proc,sys,dev,tmp,run,etc,root,mods,fastrpc}
	ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
	cp /bin/busybox "$root/usr/bin/busybox"
	for f in $(/bin/busybox --list); do
		[[ $f == busybox ]] || ln -sf busybox "$root/usr/bin/$f"
	done
	# Real iproute2 (ip netns, veth) and coreutils timeout replace applets.
	for f in $GUEST_TOOLS; do rm -f "$root/usr/bin/$(basename "$f")"; done
	copy_with_libs "$root" $GUEST_TOOLS
	ln -sf dash "$root/usr/bin/sh"
	# perf for benchmark runs: perf stat counts, profiles (bench.sh)
	if [[ ${GUEST_PERF:-0} == 1 ]]; then
		copy_with_libs "$root" "$(command -v perf)"
	fi
	# iprof-mark (static) for instruction profiles (bench.sh, FASTRPC_BENCH_IPROF=1)
	[[ -z ${GUEST_IPROF:-} ]] || cp "$GUEST_IPROF" "$root/usr/bin/iprof-mark"

	# Kernel modules, decompressed, with their load order.
	for m in $(mod_load_order "$kdir" "$abi" $GUEST_MODS_REQUIRED $GUEST_MODS_OPTIONAL ${ko:+"$ko"}); do
		f=$(find_mod "$kdir" "$abi" "$m")
		[[ -n $f ]] || continue
		decompress_mod "$f" "$root/mods/$m.ko"
		order+=("$m")
	done
	[[ -n $ko ]] && cp "$ko" "$root/mods/af_fastrpc.ko"
	# The KUnit module (kmod/tests/, built only where CONFIG_KUNIT=y).
	if [[ -n $ko && -f $(dirname "$ko")/tests/af_fastrpc_kunit.ko ]]; then
		cp "$(dirname "$ko")/tests/af_fastrpc_kunit.ko" "$root/mods/"
	fi

	# Project binaries, libraries and tests.
	if [[ -d $BUILD/lib ]]; then
		mkdir -p "$root/fastrpc/lib"
		cp -a "$BUILD"/lib/*.so* "$root/fastrpc/lib/" 2>/dev/null || true
	fi
	for d in tests bin; do
		mkdir -p "$root/fastrpc/$d"
		for f in "$BUILD/$d"/*; do
			[[ -f $f && -x $f ]] || continue
			copy_with_libs "$root" "$f"
			mv "$root$f" "$root/fastrpc/$d/"
		done
	done
	rm -rf "${root:?}$BUILD"
	# make bench's Go rows: go-fastrpc-bench (static), only where the
	# guest runs it, so that no other guest carries its 12 MiB
	if [[ $mode == bench && -n ${FASTRPC_BENCH_GO_RUNS:-} ]]; then
		[[ -x $BUILD/gobench/go-fastrpc-bench ]] || die "no $BUILD/gobench/go-fastrpc-bench (make -C gobind bench)"
		cp "$BUILD/gobench/go-fastrpc-bench" "$root/fastrpc/bin/"
	fi

	cp "$VMDIR/init" "$root/init"
	chmod +x "$root/init"
	cat >"$root/etc/fastrpc-vm.conf" <<-EOF
	MODE=$mode
	KVER=$abi
	MODS="${order[*]}"
	MODS_REQUIRED="$GUEST_MODS_REQUIRED"
	TEST_TIMEOUT=${FASTRPC_TEST_TIMEOUT:-300}
	DEMO_SERVER_ARGS="${FASTRPC_DEMO_SERVER_ARGS:-}"
	DEMO_CLIENT_ARGS="${FASTRPC_DEMO_CLIENT_ARGS:-}"
	DEMO_BENCH_ARGS="${FASTRPC_DEMO_BENCH_ARGS:-}"
	BENCH_RUNS="${FASTRPC_BENCH_RUNS:-}"
	BENCH_PERF_RUNS="${FASTRPC_BENCH_PERF_RUNS:-}"
	BENCH_GO_RUNS="${FASTRPC_BENCH_GO_RUNS:-}"
	TESTS="${FASTRPC_TESTS:-}"
	STRESS="${FASTRPC_STRESS:-}"
	DEBUG_CHECKS=${GUEST_DEBUG_CHECKS:-0}
	PROFILE=${GUEST_PROFILE:-0}
	PROFILE_CALLERS="${FASTRPC_BENCH_PERF_CALLERS:-}"
	PROFILE_PROBES="${FASTRPC_BENCH_PERF_PROBES:-}"
	KUNIT_REQUIRED=${GUEST_KUNIT_REQUIRED:-0}
	TCP_PASS=${GUEST_TCP_PASS:-0}
	EOF
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
	# Uncompressed cpio: the kernel unpacks it fastest and it is rebuilt per run.
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
	rm -rf "$root"
}

# --- boot ------------------------------------------------------------------------

# boot_vm KDIR ABI INITRD LOG: boot under timeout, serial to LOG. Guest
# lines worth watching stream to stderr. Returns qemu's status (124 = timeout).
# A guest that dies before reaching init (seen under TCG: a double fault
# in early boot, or "Oops: int3" in sched_clock_cpu when a static key is
# patched at a late initcall, before any of our code runs) is booted
# again, up to four boots: two in a row died so on 2026-12-04.  A guest
# that dies later of the same race is booted once more, its first log
# kept beside the second: an "Oops: int3" (int3_outside_module), or a
# hang in the kernel's own text patching (text_poke_hang).
boot_vm() {
	local try rc reran=0 why
	for try in 1 2 3 4; do
		rc=0
		boot_vm_once "$@" || rc=$?
		if grep -q FASTRPC-INIT "$4"; then
			why=''
			if ((!reran)) && [[ $ACCEL == tcg ]]; then
				if int3_outside_module "$4"; then
					why='an Oops: int3 outside the module'
				elif text_poke_hang "$4"; then
					why='a hang in text patching, outside the module'
				fi
			fi
			[[ -n $why ]] || break
			reran=1
			cp "$4" "$4.first"
			log "guest $2 died of $why (TCG text patching); booting it once more, first log in $4.first"
			continue
		fi
		[[ $ACCEL == kvm ]] && break	# check.sh falls back to TCG itself
		((try < 4)) && log "guest $2 never reached init; booting it again"
	done
	return "$rc"
}

# int3_outside_module LOG: did the guest die of an "Oops: int3" with no
# frame of af_fastrpc in its trace?  The module plants no int3; the kernel
# does, for an instant, in code whose static key or tracepoint it patches,
# and multi-threaded TCG can run that byte on the other vCPU without the
# kernel knowing it is being patched (2026-12-04: in ttwu_do_activate
# while t_trace switched trace events on, the instruction a 2-byte NOP).
int3_outside_module() {
	local oops
	oops=$(tr -d '\r' <"$1" | sed -n '/Oops: int3/,/---\[ end trace/p')
	[[ -n $oops ]] && ! grep -q '\[af_fastrpc' <<<"$oops"
}

# text_poke_hang LOG: was the guest stopped hung (stall_watch) with one
# vCPU in the kernel's text patching, waiting for the other to answer its
# IPI, and no frame of af_fastrpc in any report?  The other vCPU takes no
# interrupt at all (its timers stop too: "kthread timer wakeup didn't
# happen"), which no kernel code does with interrupts on; 2026-12-05 on
# CI, 6.1, in text_poke_bp_batch while t_trace switched trace events on.
text_poke_hang() {
	local trouble
	[[ -e $1.stalled ]] || return 1
	trouble=$(tr -d '\r' <"$1" | sed -nE "/$STALL_RE/,\$p")
	grep -qE 'text_poke(_bp_batch|_bp|_sync)?\+|smp_text_poke' <<<"$trouble" &&
		! grep -q '\[af_fastrpc' <<<"$trouble"
}

# A stall report: RCU's, or the soft-lockup watchdog's.
STALL_RE='rcu: INFO: rcu_[a-z]* (self-)?detected stall|watchdog: BUG: soft lockup|rcu: rcu_[a-z]* kthread (starved|timer wakeup)'

# stall_watch LOG NAME: in the background while a guest runs.  After a
# stall report, a guest whose tests then go 150 s without a result line
# is hung: stop it (qemu -name NAME) rather than wait out the whole limit,
# and leave LOG.stalled for text_poke_hang.  Any stall already fails the
# run (its call traces are kernel trouble); this only ends it sooner.
stall_watch() {
	local logf=$1 name=$2 n last=-1 quiet=0
	while sleep 10; do
		grep -qaE "$STALL_RE" "$logf" 2>/dev/null || continue
		n=$(grep -caE '^(ok|not ok) ' "$logf" || true)
		if [[ $n != "$last" ]]; then
			last=$n quiet=0
			continue
		fi
		quiet=$((quiet + 10))
		((quiet >= 150)) || continue
		: >"$logf.stalled"
		log "guest hung after a stall report, no result for ${quiet}s: stopping it"
		pkill -f -- "-name $name( |\$)" || true
		return 0
	done
}

boot_vm_once() {
	local kdir=$1 abi=$2 initrd=$3 logf=$4 limit=${FASTRPC_VM_TIMEOUT:-1200} rc=0
	local t0=$SECONDS append= name="fastrpc-$BASHPID-$RANDOM" watch
	# Multi-threaded TCG on a loaded host: the clocksource watchdog sees
	# the TSC skew against the HPET (575 us over 479 ms, 2026-12-04),
	# marks it unstable, and the static keys it then flips are patched
	# with int3 while the other vCPU runs that code: "Oops: int3" in
	# sched_clock_cpu (the CI failure of 2026-12-03 noted in use_tcg).
	# The guests' TSC is the emulator's, the same on both vCPUs, so tell
	# the kernel to trust it.  (icount guests keep their settings: their
	# figures are the perf gate's baseline.)
	if [[ $ACCEL == tcg && " ${ACCEL_ARGS[*]} " != *" -icount "* ]]; then
		append=" tsc=reliable"
	fi
	log "booting $abi ($ACCEL, limit ${limit}s), serial log: $logf"
	rm -f "$logf.stalled"
	: >"$logf"
	stall_watch "$logf" "$name" &
	watch=$!
	# qemu's own status is kept in a file: the pipeline only filters output.
	{
		timeout -k 10 "$limit" qemu-system-x86_64 -name "$name" "${ACCEL_ARGS[@]}" \
			-m "${FASTRPC_VM_MEM:-1024}" -smp 2 -nodefaults -no-user-config \
			-kernel "$kdir/boot/vmlinuz-$abi" -initrd "$initrd" \
			-append "console=ttyS0 loglevel=5 panic=-1 rdinit=/init$append${BOOT_APPEND:+ $BOOT_APPEND}" \
			-display none -monitor none -serial stdio -no-reboot </dev/null 2>&1
		echo $? >"$logf.rc"
	} | tee "$logf" | tr -d '\r' |
		grep --line-buffered -E '^(ok |not ok |1\.\.|FASTRPC-|# (FAIL|Totals))' >&2 || true
	kill "$watch" 2>/dev/null || true
	wait "$watch" 2>/dev/null || true
	rc=$(cat "$logf.rc") && rm -f "$logf.rc"
	BOOT_SECS=$((SECONDS - t0))
	log "guest $abi finished in ${BOOT_SECS}s (qemu status $rc)"
	return "$rc"
}

# Kernel trouble on any console/dmesg line (timestamped printk lines only,
# so test output mentioning these words does not count). The debug kernel
# adds lockdep, RCU, debugobjects and list-debugging reports; most of them
# start with WARNING: or BUG:, the rest are named here.
KERNEL_BAD='\[ *[0-9]+\.[0-9]+\].*(WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|Call Trace|refcount_t|list_(add|del) corruption|INFO: task .* blocked|soft lockup|hung_task|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|lock held when returning|ODEBUG:|Kernel panic|kmemleak: .*suspected memory leak)'
