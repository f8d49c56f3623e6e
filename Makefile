# SPDX-License-Identifier: GPL-2.0-only
#
# FastRPC top-level build.
#
#   make                 module (against KDIR), libfastrpc, tools and tests
#   make module KDIR=..  just the kernel module
#   make lib             libfastrpc and its programs (build/lib, build/bin)
#   make tools           just the programs, fastrpcctl and fastrpc-bench among them
#   make install         libfastrpc, its header, programs and fastrpcctl(8)
#                        under PREFIX (/usr/local; DESTDIR for staging)
#   make check           lint, then every test in QEMU guests: Debian 6.1, Debian 6.12,
#                        a debug 6.12 (KASAN, lockdep, kmemleak, KUnit) and a KCSAN
#                        6.12 (data races); see selftests/vm/
#   make bench           the benchmark matrix in QEMU guests (icount and wall
#                        modes): build/bench/, Documentation/benchmarks.rst
#   make bench-baseline  rerun make check's performance gate rows and write
#                        selftests/vm/perf-baseline.json (commit it alone)
#   make lint            checkpatch --strict, sparse (C=2), W=1 over kmod/ and uapi/
#   make gobind          Go package: guest test binary + t_go wrapper, Go example
#   make demo            build, boot a VM, run the C and Go examples and the benchmark
#   make vm              interactive shell in a QEMU guest with the module loaded
#
# KDIR defaults to the running kernel's build tree, or to the newest
# Debian kernel headers installed when the running kernel has none.

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
		$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))
CACHE ?= $(or $(FASTRPC_CACHE),/var/cache/fastrpc)
export CACHE
# Debian's golang-1.23-go (bookworm-backports), else a go on PATH.
GO ?= $(firstword $(wildcard /usr/lib/go-1.23/bin/go) $(shell command -v go 2>/dev/null))

.PHONY: all module lib tools install tests go-tests gobind clean check demo vm lint bench bench-baseline

all: module lib tests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib:
	$(MAKE) -C libuser

tools:
	$(MAKE) -C libuser progs

install:
	$(MAKE) -C libuser install

tests: lib go-tests
	$(MAKE) -C selftests

# Its own target so that make -k still builds the Go tests when a C test fails.
go-tests:
	$(if $(GO),$(MAKE) -C gobind tests example GO=$(GO),@echo "gobind: no Go toolchain, Go tests not built")

gobind:
	$(MAKE) -C gobind GO=$(GO)

check:
	selftests/vm/check.sh

lint:
	selftests/vm/lint.sh

bench:
	selftests/vm/bench.sh

bench-baseline:
	selftests/vm/perf-gate.sh --update

demo:
	selftests/vm/demo.sh

# Interactive guest shell with the module loaded (FASTRPC_VM_KERNEL=6.1|6.12).
vm:
	selftests/vm/vm.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C libuser clean
	$(MAKE) -C selftests clean
	$(MAKE) -C gobind clean
