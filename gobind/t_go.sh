#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# t_go: run the gobind Go tests (go-fastrpc.test, next to this script) in
# the guest and report each top-level Go test as one TAP line, then those
# of the protobuf codec (go-protocodec.test, named protocodec.TestX), then
# the example fastrpc-go-kv (in ../bin) as one more.  The module
# must be loaded: FASTRPC_REQUIRE_MODULE=1 turns the tests' "not loaded"
# skip into a failure.  The Go output is kept as TAP comments.
dir=$(dirname "$0")
bin=$dir/go-fastrpc.test
pbin=$dir/go-protocodec.test
echo "TAP version 13"
# Dial resolves host names: the guest's initramfs has no /etc/hosts, so
# give "localhost" its usual entries there (only where the file is absent).
if [ ! -e /etc/hosts ]; then
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >/etc/hosts
fi
# make check's pass with the same-host short cut off (over TCP) runs the
# Go tests against ring listeners (ListenRing) instead of plain ones, so
# that the ring server meets every test too.
if [ "$(cat /sys/module/af_fastrpc/parameters/loopback 2>/dev/null)" = 0 ]; then
	export FASTRPC_GO_RING_LISTEN=1
	echo "# listeners with rings (FASTRPC_GO_RING_LISTEN=1)"
fi
for b in "$bin" "$pbin"; do
	if [ ! -x "$b" ]; then
		echo "1..1"
		echo "not ok 1 $(basename "$b") is missing next to $0"
		exit 1
	fi
done
{
	FASTRPC_REQUIRE_MODULE=1 "$bin" -test.v -test.count=1 \
		-test.timeout="${FASTRPC_GO_TEST_TIMEOUT:-240s}" 2>&1
	echo "GO-EXIT-STATUS go-fastrpc.test $?"
	{
		FASTRPC_REQUIRE_MODULE=1 "$pbin" -test.v -test.count=1 \
			-test.timeout="${FASTRPC_GO_TEST_TIMEOUT:-240s}" 2>&1
		echo "GO-EXIT-STATUS go-protocodec.test $?"
	} | sed -e 's/^--- PASS: /--- PASS: protocodec./' \
		-e 's/^--- SKIP: /--- SKIP: protocodec./' -e 's/^--- FAIL: /--- FAIL: protocodec./'
	kv=$dir/../bin/fastrpc-go-kv
	if [ -x "$kv" ]; then
		# the typed calls, metadata, status codes and the watch stream
		# of the kv example, as it prints them
		out=$(timeout 120 "$kv" 2>&1)
		rc=$?
		echo "$out"
		if [ $rc -eq 0 ] &&
			echo "$out" | grep -q 'watch: greeting = "bonjour"' &&
			echo "$out" | grep -q 'get: greeting = "bonjour" (version 2)' &&
			echo "$out" | grep -q 'NotFound: true' &&
			echo "$out" | grep -q 'without a tenant: UNAUTHENTICATED'; then
			echo "--- PASS: example-kv"
		else
			echo "--- FAIL: example-kv"
		fi
	fi
} | awk '
/^GO-EXIT-STATUS / { if ($3 != 0) failed[$2] = $3; next }
{ print "# " $0 }
/^--- (PASS|SKIP|FAIL): / {
	n++
	if ($2 == "PASS:") res[n] = "ok " n " " $3
	else if ($2 == "SKIP:") res[n] = "ok " n " " $3 " # SKIP"
	else { res[n] = "not ok " n " " $3; bad++ }
}
END {
	# a binary that failed without a failed test line (a panic, a
	# timeout, a build problem) is a failure of its own
	if (!bad) for (b in failed) { n++; res[n] = "not ok " n " " b " exit status " failed[b]; bad++ }
	if (n == 0) { n = 1; res[1] = "not ok 1 no Go test results"; bad++ }
	for (i = 1; i <= n; i++) print res[i]
	print "1.." n
	exit bad ? 1 : 0
}'
