#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build (once) the debug kernel for make check's third tier: x86_64, from
# Debian's linux-source-6.12, make tinyconfig + selftests/vm/debug.config
# (merge_config.sh) + make olddefconfig. Every option the fragment sets
# must come out exactly as written, or the build stops.
#
# The result lives outside the repository in
#   $CACHE/debug-kernel/<key>/
#     src/                       the unpacked linux-source-6.12
#     obj/                       the O= build tree: make -C obj M=... modules
#     boot/vmlinuz-<release>     bzImage, laid out like an unpacked linux-image
#     lib/modules/<release>/     empty: everything the tests need is built in
#     build.log, .done
# where <key> hashes the linux-source-6.12 package version, the fragment,
# this script and the compiler version, so any change to those rebuilds and
# nothing else does. A lock serialises concurrent runs; an interrupted
# build resumes (make is incremental) and only .done marks it usable.
#
# Prints "<dir> <release>" on stdout; progress on stderr.
# Needs linux-source-6.12 and the kbuild tools (lib.sh's vm_setup installs them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FRAGMENT=$VMDIR/debug.config
SRC_TAR=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[[ -n $SRC_TAR ]] || die "linux-source-6.12 is not installed (selftests/vm/lib.sh installs it)"

debug_kernel_key() {
	{
		echo "linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12)"
		echo "gcc $(gcc -dumpfullversion) $(dpkg-query -W -f='${Version}' gcc 2>/dev/null || true)"
		sha256sum <"$FRAGMENT"
		sha256sum <"${BASH_SOURCE[0]}"
	} | sha256sum | cut -c1-16
}

# verify_config DOTCONFIG FRAGMENT: each "CONFIG_X=v" of the fragment must
# be in .config verbatim, each "# CONFIG_X is not set" must not be set.
verify_config() {
	local cfg=$1 frag=$2 line opt bad=0
	while IFS= read -r line; do
		if [[ $line =~ ^CONFIG_[A-Za-z0-9_]+= ]]; then
			grep -qxF "$line" "$cfg" || {
				log "debug.config: '$line' did not survive olddefconfig (have: $(grep -E "^(# )?${line%%=*}[= ]" "$cfg" || echo unset))"
				bad=1
			}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			opt=${BASH_REMATCH[1]}
			if grep -qE "^$opt=" "$cfg"; then
				log "debug.config: $opt must stay off, olddefconfig set $(grep -E "^$opt=" "$cfg")"
				bad=1
			fi
		fi
	done <"$frag"
	return "$bad"
}

build_debug_kernel() {
	local key top dir obj rel jobs t0
	key=$(debug_kernel_key)
	top=$CACHE/debug-kernel
	dir=$top/$key
	obj=$dir/obj
	mkdir -p "$top"
	exec 9>"$top/.lock"
	if ! flock -n 9; then
		log "debug kernel: waiting for another build to finish (lock $top/.lock)"
		flock 9
	fi
	if [[ -f $dir/.done ]]; then
		echo "$dir $(cat "$dir/release")"
		return
	fi
	t0=$SECONDS
	log "building debug kernel $key (cold: tens of minutes; log $dir/build.log)"
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
		"$dir/src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$FRAGMENT"
		"${mk[@]}" olddefconfig
	} >"$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log" >&2; die "debug kernel configuration failed"; }
	verify_config "$obj/.config" "$FRAGMENT" || die "debug kernel config does not match selftests/vm/debug.config"
	# bzImage, plus "modules" for Module.symvers (external modules link
	# against it) and modules_prepare; the fragment builds in all it needs.
	if ! "${mk[@]}" bzImage modules >>"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		die "debug kernel build failed (log $dir/build.log)"
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
	log "debug kernel $rel built in $((SECONDS - t0))s"
	# Older keys are dead weight (several GiB each).
	local old
	for old in "$top"/*/; do
		old=${old%/}
		[[ $old == "$dir" ]] || { log "removing stale debug kernel $old"; rm -rf "$old"; }
	done
	echo "$dir $rel"
}

build_debug_kernel
