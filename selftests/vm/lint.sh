#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make lint: kernel-side static checks of kmod/ and uapi/linux/fastrpc.h,
# and gofmt + go vet over the Go modules under gobind/.
#
#   checkpatch  scripts/checkpatch.pl --strict --no-tree --file, from Debian's
#               linux-source-6.12 (with spelling.txt, const_structs.checkpatch),
#               extracted once into $CACHE/checkpatch/<package version>/
#   sparse      make C=2 against Debian's 6.12 headers, sparse from Debian
#   W=1         make W=1 against Debian's 6.1 and 6.12 headers
#   ynl-check   Documentation/netlink/specs/fastrpc.yaml against the header
#   gofmt, vet  gofmt -l and go vet over gobind/ (fastrpc.dev/gobind) and
#               gobind/protocodec/ (its own module), Debian's Go 1.23
#
# Every finding becomes one line "<tool>: <path>:<line>: <message>" (paths
# relative to the repository). Zero findings pass; a finding matching an
# exception in selftests/vm/lint-exceptions.txt is listed as excepted.
# Exit status 1 on any other finding or a check that could not run.
#
# Lints the working tree (tracked and untracked, non-ignored files) by
# default; FASTRPC_LINT_REV=<git rev> lints a commit instead. Needs the
# packages lib.sh installs (run as root it installs them itself).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$REPO"

EXCEPTIONS=$VMDIR/lint-exceptions.txt
OUT=$BUILD/lint
T0=$SECONDS

if [[ $(id -u) == 0 ]]; then
	# Same setup as make check (packages, kernel headers); cheap when warm.
	FASTRPC_KERNELS=" " vm_setup # " ": no guest kernels needed
else
	resolve_kernels
fi

# --- the sources to lint -----------------------------------------------------

rm -rf "$OUT" && mkdir -p "$OUT/src"
if [[ -n ${FASTRPC_LINT_REV:-} ]]; then
	git archive "$FASTRPC_LINT_REV" Kbuild kmod uapi | tar -x -C "$OUT/src"
else
	git ls-files -z -co --exclude-standard -- Kbuild kmod uapi | xargs -0 cp --parents -t "$OUT/src"
fi
mapfile -t FILES < <(cd "$OUT/src" && find kmod uapi/linux/fastrpc.h -name '*.[ch]' | sort)
((${#FILES[@]})) || die "nothing to lint under kmod/ and uapi/"

FINDINGS=$OUT/findings.txt
: >"$FINDINGS"
BROKEN=()

# --- checkpatch ---------------------------------------------------------------

fetch_checkpatch() {
	local src ver dir
	src=$(ls /usr/src/linux-source-6.12.tar.* | head -n1)
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	dir=$CACHE/checkpatch/${ver//[:~+]/_}
	if [[ ! -f $dir/.done ]]; then
		log "extracting checkpatch.pl from $src"
		rm -rf "$dir" && mkdir -p "$dir"
		tar -xf "$src" -C "$dir" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
		touch "$dir/.done"
	fi
	echo "$dir/scripts/checkpatch.pl"
}

run_checkpatch() {
	local cp rc=0
	cp=$(fetch_checkpatch)
	log "checkpatch --strict over ${#FILES[@]} files"
	(cd "$OUT/src" && perl "$cp" --strict --no-tree --file --terse --show-types --no-summary \
		--no-color "${FILES[@]}") >"$OUT/checkpatch.log" 2>&1 || rc=$?
	# --terse: "path:line: TYPE:NAME: message"; rc is 1 on findings.
	grep -E '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' "$OUT/checkpatch.log" | sed 's/^/checkpatch: /' >>"$FINDINGS" || true
	if ((rc != 0)) && ! grep -qE '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' "$OUT/checkpatch.log"; then
		BROKEN+=("checkpatch exited $rc without findings (see $OUT/checkpatch.log)")
	fi
}

# --- kbuild-driven checks: sparse (C=2) and W=1 ---------------------------------

# kbuild_check NAME KDIR ARGS...: build a private copy of the module with
# extra kbuild arguments, collect compiler/sparse diagnostics on our files.
kbuild_check() {
	local name=$1 kdir=$2 dir
	shift 2
	dir=$OUT/$name
	cp -a "$OUT/src" "$dir"
	log "$name: make $* against $kdir"
	if ! make -j"$JOBS" -C "$kdir" M="$dir" "$@" modules >"$OUT/$name.log" 2>&1; then
		BROKEN+=("$name: build failed (see $OUT/$name.log)")
	fi
	# "file:line:col: warning|error: msg", rewritten relative to the repo.
	# Diagnostics in kernel headers count too: W=1 and sparse report them
	# against whatever our code pulled in.
	grep -E '^[^ :]+:[0-9]+(:[0-9]+)?: (warning|error):' "$OUT/$name.log" |
		sed -E "s|^$dir/||; s|^/usr/src/linux-headers-[^/]+/||; s|^|$name: |" |
		sort -u >>"$FINDINGS" || true
}

headers_of() {
	local abi=$1 kdir=/usr/src/linux-headers-$1
	[[ -d $kdir ]] || kdir=/lib/modules/$abi/build
	[[ -d $kdir ]] || die "no headers for $abi"
	echo "$kdir"
}

# --- the netlink spec against the header -------------------------------------

# ynl-check.py: Documentation/netlink/specs/fastrpc.yaml and the generic
# netlink enums of uapi/linux/fastrpc.h name and number the same things.
run_ynl_check() {
	local src=$REPO
	if [[ -n ${FASTRPC_LINT_REV:-} ]]; then
		src=$OUT/ynl && mkdir -p "$src"
		git archive "$FASTRPC_LINT_REV" Documentation/netlink uapi | tar -x -C "$src"
	fi
	log "ynl-check: the netlink spec against the header"
	if ! python3 "$VMDIR/ynl-check.py" "$src/Documentation/netlink/specs/fastrpc.yaml" \
		"$src/uapi/linux/fastrpc.h" >"$OUT/ynl-check.log" 2>&1; then
		if grep -q ' difference(s)$' "$OUT/ynl-check.log"; then
			grep -v ' difference(s)$' "$OUT/ynl-check.log" | sed 's/^/ynl: uapi\/linux\/fastrpc.h: /' >>"$FINDINGS"
		else
			BROKEN+=("ynl-check.py failed (see $OUT/ynl-check.log)")
		fi
	fi
}

# --- Go: gofmt and go vet over each module under gobind/ ----------------------

GO_MODULES="gobind gobind/protocodec"
run_go_lint() {
	local go=/usr/lib/go-1.23/bin/go src=$OUT/go m rc
	[[ -x $go ]] || { BROKEN+=("go: $go is not installed (golang-1.23-go)"); return; }
	mkdir -p "$src"
	if [[ -n ${FASTRPC_LINT_REV:-} ]]; then
		git archive "$FASTRPC_LINT_REV" gobind | tar -x -C "$src"
	else
		git ls-files -z -co --exclude-standard -- gobind | xargs -0 cp --parents -t "$src"
	fi
	log "gofmt and go vet over $GO_MODULES"
	(cd "$src" && "$("$go" env GOROOT)/bin/gofmt" -l gobind) >"$OUT/gofmt.log" 2>&1 ||
		BROKEN+=("gofmt failed (see $OUT/gofmt.log)")
	sed 's/$/: not gofmt-formatted (gofmt -l)/; s/^/gofmt: /' "$OUT/gofmt.log" >>"$FINDINGS"
	for m in $GO_MODULES; do
		[[ -f $src/$m/go.mod ]] || continue # FASTRPC_LINT_REV older than the module
		rc=0
		(cd "$src/$m" && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
			GOCACHE="${GOCACHE_DIR:-$BUILD/go/cache}" GOPATH="$BUILD/go/path" "$go" vet ./...) \
			>"$OUT/vet-${m//\//-}.log" 2>&1 || rc=$?
		# "path:line:col: message", relative to the module: made relative to the repository
		grep -E '^[^# ][^ :]*:[0-9]+:[0-9]+: ' "$OUT/vet-${m//\//-}.log" |
			sed -E "s|^(\./)?|vet: $m/|" >>"$FINDINGS" || true
		if ((rc != 0)) && ! grep -qE '^[^# ][^ :]*:[0-9]+:[0-9]+: ' "$OUT/vet-${m//\//-}.log"; then
			BROKEN+=("go vet in $m exited $rc without findings (see $OUT/vet-${m//\//-}.log)")
		fi
	done
}

run_ynl_check
run_checkpatch
run_go_lint
command -v sparse >/dev/null || die "sparse is not installed"
# Debian bookworm's sparse 0.6.4 parses Debian's 6.12 headers without
# complaints of its own, so sparse runs against the newer kernel.
kbuild_check sparse-6.12 "$(headers_of "${KERNEL_ABI[6.12]}")" C=2
kbuild_check w1-6.1 "$(headers_of "${KERNEL_ABI[6.1]}")" W=1
kbuild_check w1-6.12 "$(headers_of "${KERNEL_ABI[6.12]}")" W=1

# --- judge against the exceptions ------------------------------------------------

# lint-exceptions.txt: "<tool>|<ERE over the finding line>|<reason>" per line;
# the reason is required. Blank lines and # comments are ignored.
declare -a EX_PAT=() EX_WHY=() EX_USED=()
n=0
while IFS= read -r line || [[ -n $line ]]; do
	n=$((n + 1))
	[[ -z ${line//[[:space:]]/} || $line == \#* ]] && continue
	IFS='|' read -r tool pat why <<<"$line"
	if [[ -z $tool || -z $pat || -z ${why//[[:space:]]/} ]]; then
		BROKEN+=("lint-exceptions.txt:$n: want <tool>|<regex>|<reason>")
		continue
	fi
	EX_PAT+=("^$tool: .*$pat") EX_WHY+=("$why") EX_USED+=(0)
done < <(cat "$EXCEPTIONS" 2>/dev/null || true)

BAD=() EXCEPTED=()
while IFS= read -r f; do
	hit=
	for i in "${!EX_PAT[@]}"; do
		if grep -qE -- "${EX_PAT[$i]}" <<<"$f"; then
			hit=$i EX_USED[i]=1
			break
		fi
	done
	if [[ -n $hit ]]; then EXCEPTED+=("$f  [excepted: ${EX_WHY[$hit]}]"); else BAD+=("$f"); fi
done <"$FINDINGS"

echo
echo "==== make lint ($((SECONDS - T0))s): ${#FILES[@]} files, checkpatch --strict, sparse C=2 (6.12), W=1 (6.1, 6.12); gofmt, go vet ($GO_MODULES) ===="
for f in "${EXCEPTED[@]}"; do echo "  $f"; done
for i in "${!EX_PAT[@]}"; do
	((EX_USED[i])) || echo "  note: unused exception: ${EX_PAT[$i]}"
done
for b in "${BROKEN[@]}"; do echo "  BROKEN: $b"; done
for f in "${BAD[@]}"; do echo "  $f"; done
echo "lint: ${#BAD[@]} findings, ${#EXCEPTED[@]} excepted, ${#BROKEN[@]} checks broken (logs in $OUT)"
((${#BAD[@]} == 0 && ${#BROKEN[@]} == 0))
