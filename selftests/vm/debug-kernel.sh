#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# debug-kernel.sh [kasan|kcsan]: build (once) a debug kernel for make check:
# x86_64, from Debian's linux-source-6.12, make tinyconfig + the shared base
# selftests/vm/debug.config + the flavour's debug-<flavour>.config
# (merge_config.sh) + make olddefconfig. Every option the two fragments
# set must come out exactly as written, or the build stops.
#
#   kasan (default)  KASAN, UBSAN, lockdep, kmemleak, debugobjects, KUnit,
#                    failslab: make check's debug tier
#   kcsan            KCSAN, the data-race detector: make check's KCSAN tier
#                    (KCSAN and KASAN cannot share a kernel)
#
# The result lives outside the repository, one directory per flavour, in
#   $CACHE/debug-kernel/<key>/         (kasan)
#   $CACHE/debug-kernel-kcsan/<key>/   (kcsan)
#     src/                       the unpacked linux-source-6.12
#     obj/                       the O= build tree: make -C obj M=... modules
#     boot/vmlinuz-<release>     bzImage, laid out like an unpacked linux-image
#     lib/modules/<release>/     empty: everything the tests need is built in
#     build.log, .done
# where <key> hashes the linux-source-6.12 package version, both fragments,
# this script and the compiler version, so any change to those rebuilds and
# nothing else does. After a build, the flavour's other keys are deleted;
# the other flavour's directory is never touched. A lock per flavour
# serialises concurrent runs; an interrupted build resumes (make is
# incremental) and only .done marks it usable.
#
# Prints "<dir> <release>" on stdout; progress on stderr.
# Needs linux-source-6.12 and the kbuild tools (lib.sh's vm_setup installs them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FLAVOUR=${1:-kasan}
case $FLAVOUR in
kasan) TOP=$CACHE/debug-kernel ;;
kcsan) TOP=$CACHE/debug-kernel-kcsan ;;
*) die "usage: $0 [kasan|kcsan]" ;;
esac
BASE=$VMDIR/debug.config
FRAGMENT=$VMDIR/debug-$FLAVOUR.config
SRC_TAR=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[[ -n $SRC_TAR ]] || die "linux-source-6.12 is not installed (selftests/vm/lib.sh installs it)"

debug_kernel_key() {
	{
		echo "linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12)"
		echo "gcc $(gcc -dumpfullversion) $(dpkg-query -W -f='${Version}' gcc 2>/dev/null || true)"
		echo "flavour $FLAVOUR"
		sha256sum <"$BASE"
		sha256sum <"$FRAGMENT"
		sha256sum <"${BASH_SOURCE[0]}"
	} | sha256sum | cut -c1-16
}

# config_opts FRAGMENT: the options a fragment names, one per line.
config_opts() {
	sed -nE 's/^(CONFIG_[A-Za-z0-9_]+)=.*/\1/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set.*/\1/p' "$1"
}

# verify_config DOTCONFIG FRAGMENT: each "CONFIG_X=v" of the fragment must
# be in .config verbatim, each "# CONFIG_X is not set" must not be set.
verify_config() {
	local cfg=$1 frag=$2 line opt bad=0 name=${2##*/}
	while IFS= read -r line; do
		if [[ $line =~ ^CONFIG_[A-Za-z0-9_]+= ]]; then
			grep -qxF "$line" "$cfg" || {
				log "$name: '$line' did not survive olddefconfig (have: $(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo unset))"
				bad=1
			}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			opt=${BASH_REMATCH[1]}
			if grep -qE "^$opt=" "$cfg"; then
				log "$name: $opt must stay off, olddefconfig set $(grep -E "^$opt=" "$cfg")"
				bad=1
			fi
		fi
	done <"$frag"
	return "$bad"
}

build_debug_kernel() {
	local key top dir obj rel jobs t0 dup
	# The flavour adds to the base and overrides nothing: an option in both
	# would silently take the flavour's value.
	dup=$(sort <(config_opts "$BASE" | sort -u) <(config_opts "$FRAGMENT" | sort -u) | uniq -d)
	[[ -z $dup ]] || die "${FRAGMENT##*/} repeats options of ${BASE##*/}: ${dup//$'\n'/ }"
	key=$(debug_kernel_key)
	top=$TOP
	dir=$top/$key
	obj=$dir/obj
	mkdir -p "$top"
	exec 9>"$top/.lock"
	if ! flock -n 9; then
		log "$FLAVOUR debug kernel: waiting for another build to finish (lock $top/.lock)"
		flock 9
	fi
	if [[ -f $dir/.done ]]; then
		echo "$dir $(cat "$dir/release")"
		return
	fi
	t0=$SECONDS
	log "building $FLAVOUR debug kernel $key (cold: tens of minutes; log $dir/build.log)"
	mkdir -p "$dir"
	if [[ ! -f $dir/src/.unpacked ]]; then
		rm -rf "$dir/src" && mkdir -p "$dir/src"
		tar -xf "$SRC_TAR" -C "$dir/src" --strip-components=1
		touch "$dir/src/.unpacked"
	fi
	mkdir -p "$obj"
	jobs=$(nproc)
	local mk=(make -C "$dir/src" O="$obj" ARCH=x86_64 -j"$jobs")
	{
		"${mk[@]}" tinyconfig
		"$dir/src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$BASE" "$FRAGMENT"
		"${mk[@]}" olddefconfig
	} >"$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log" >&2; die "$FLAVOUR debug kernel configuration failed"; }
	local bad=0
	verify_config "$obj/.config" "$BASE" || bad=1
	verify_config "$obj/.config" "$FRAGMENT" || bad=1
	((bad == 0)) || die "$FLAVOUR debug kernel config does not match selftests/vm/${BASE##*/} + ${FRAGMENT##*/}"
	# bzImage, plus "modules" for Module.symvers (external modules link
	# against it) and modules_prepare; the fragment builds in all it needs.
	if ! "${mk[@]}" bzImage modules >>"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		die "$FLAVOUR debug kernel build failed (log $dir/build.log)"
	fi
	rel=$("${mk[@]}" -s kernelrelease 2>/dev/null)
	[[ -n $rel && -f $obj/arch/x86/boot/bzImage && -f $obj/Module.symvers ]] ||
		die "debug kernel build left no bzImage/Module.symvers"
	mkdir -p "$dir/boot" "$dir/lib/modules/$rel/kernel"
	cp "$obj/arch/x86/boot/bzImage" "$dir/boot/vmlinuz-$rel"
	cp "$obj/.config" "$dir/boot/config-$rel"
	echo "$rel" >"$dir/release"
	echo "$((SECONDS - t0))" >"$dir/build-seconds"
	touch "$dir/.done"
	log "$FLAVOUR debug kernel $rel built in $((SECONDS - t0))s"
	# Older keys of this flavour are dead weight (several GiB each).
	local old
	for old in "$top"/*/; do
		old=${old%/}
		[[ $old == "$dir" ]] || { log "removing stale $FLAVOUR debug kernel $old"; rm -rf "$old"; }
	done
	echo "$dir $rel"
}

build_debug_kernel
