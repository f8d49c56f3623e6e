# SPDX-License-Identifier: GPL-2.0-only
#
# FastRPC top-level build.
#
#   make                 module (against KDIR), libfastrpc, tools and tests
#   make module KDIR=..  just the kernel module
#   make check           lint, then every test in QEMU guests: Debian 6.1, Debian 6.12,
#                        and a debug 6.12 (KASAN, lockdep, kmemleak, KUnit); see selftests/vm/
#   make lint            checkpatch --strict, sparse (C=2), W=1 over kmod/ and uapi/
#   make demo            build, boot a VM, run the example server and client
#   make vm              interactive shell in a QEMU guest with the module loaded
#
# KDIR defaults to the running kernel's build tree, or to the newest
# Debian kernel headers installed when the running kernel has none.

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
		$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))
CACHE ?= $(or $(FASTRPC_CACHE),/var/cache/fastrpc)
export CACHE

.PHONY: all module lib tests clean check demo vm lint

all: module lib tests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib:
	$(MAKE) -C libuser

tests: lib
	$(MAKE) -C selftests

check:
	selftests/vm/check.sh

lint:
	selftests/vm/lint.sh

demo:
	selftests/vm/demo.sh

# Interactive guest shell with the module loaded (FASTRPC_VM_KERNEL=6.1|6.12).
vm:
	selftests/vm/vm.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C libuser clean
	$(MAKE) -C selftests clean
