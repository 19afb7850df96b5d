# SPDX-License-Identifier: GPL-2.0
# kvm-quanta top-level Makefile.
#
#   make [KDIR=/path/to/headers]   build kvm_quanta.ko (default: running kernel)
#   make install                   install it and run depmod
#   make demo                      the rig: VMs of different character, shown
#   make check                     every test suite, ends with "N passed, N failed"
#   make deb                       Debian packages into build/deb/, lintian-checked
#   make deb-check                 make deb, then install them into throwaway roots
#   make stress                    every rig suite plus the long stress suites on a KASAN/
#                                  lockdep debug kernel (scripts/stress.sh; slow, not in check)
#   make mutate                    mutation testing of src/core (minutes)
#
# The kernel module itself is described by Kbuild.

KDIR ?= /lib/modules/$(shell uname -r)/build
KRELEASE := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
KQ_CONF := $(CURDIR)/conf/$(or $(KRELEASE),unknown)

.PHONY: all modules configure install install-userspace clean userspace testvmm \
	kunit rig \
	check stress demo deps checkpatch deb deb-check mutate bench

all: modules

$(KQ_CONF)/compat_config.h: scripts/configure.sh
	scripts/configure.sh $(KDIR) $(KQ_CONF)

configure: $(KQ_CONF)/compat_config.h

modules: configure
	$(MAKE) -C $(KDIR) M=$(CURDIR) KQ_CONF=$(KQ_CONF) modules

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) KQ_CONF=$(KQ_CONF) modules_install
	depmod -a $(KRELEASE)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf conf

deps:
	scripts/deps.sh

userspace:
	cmake -S userspace -B build/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKQ_WERROR=ON
	cmake --build build/userspace -j2

# quantad (/usr/sbin), its unit, quantactl (/usr/bin); PREFIX=/usr by default.
PREFIX ?= /usr
install-userspace:
	cmake -S userspace -B build/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build build/userspace -j2 --target quantad quantactl
	cmake --install build/userspace

testvmm:
	cmake -S tests/vmm -B build/testvmm -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build/testvmm -j2

kunit:
	scripts/kunit.sh

checkpatch:
	scripts/checkpatch.sh

check:
	scripts/check.sh

deb:
	scripts/deb.sh

deb-check: deb
	tests/pkg/install.sh

stress:
	scripts/stress.sh

# What the module costs, counted (instructions per exit); KERNELS= picks kernels.
bench:
	scripts/bench.sh $(KERNELS)

# Mutants of src/core/policy.c and state.c against the core's tests; FILES=
# picks others (src/core/*.c).
mutate:
	scripts/mutate.sh $(FILES)

demo:
	scripts/demo.sh
