# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gw: `make` builds everything into build/; `make test` installs what is
# missing and runs every suite; `make run` starts the lab. V=1 shows commands.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all deps bench-deps bench-l7 test test-unit test-bpf test-integ run bench vmtest clean format \
	install

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

BUILD ?= build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
MULTIARCH := $(shell $(CC) -dumpmachine)

# Every Debian package the build, the tests, the lab and the benchmarks use.
DEB_PACKAGES := build-essential clang llvm libbpf-dev libxdp-dev xdp-tools bpftool \
	libelf-dev zlib1g-dev libmnl-dev libyaml-dev libssl-dev libjansson-dev \
	libcmocka-dev libclang-rt-14-dev linux-libc-dev pkg-config iproute2 ethtool \
	iputils-ping netcat-openbsd socat tcpdump procps psmisc python3 \
	qemu-system-x86 busybox-static cpio xz-utils linux-image-amd64 \
	libsystemd-dev libcap-ng-dev curl openssl wrk python3-websockets python3-cryptography \
	groff-base man-db systemd
# The peers `make bench` measures gw against (their services stay stopped).
BENCH_PACKAGES := haproxy nginx-light

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Iagent -I$(BUILD)/bpf \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2
LDLIBS := -lbpf -lxdp -lmnl -lyaml -lssl -lcrypto -ljansson -lsystemd -lcap-ng -lelf -lz
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-Wno-unused-function -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)

# --- BPF objects and skeletons -------------------------------------------
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
BPF_DEPS := $(wildcard bpf/lib/*.h include/gw/*.h)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_DEPS) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# --- user space ------------------------------------------------------------
# agent/*.c except the programs' mains form libgw, shared by gwd, the CLI
# and the tests.
AGENT_MAINS := agent/dpctl.c agent/gwd.c
LIB_SRCS := $(filter-out $(AGENT_MAINS),$(wildcard agent/*.c))
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
USER_DEPS := $(wildcard include/gw/*.h agent/*.h) $(SKELS)

BINS := $(BUILD)/bin/gw-dpctl $(BUILD)/bin/gwd $(BUILD)/bin/gwctl

$(BUILD)/obj/%.o: %.c $(USER_DEPS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(USER_DEPS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests -c $< -o $@

$(BUILD)/libgw.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libgw-san.a: $(SAN_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/gwd: $(BUILD)/obj/agent/gwd.o $(BUILD)/libgw.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/gwctl: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c)) $(BUILD)/libgw.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/gw-dpctl: $(BUILD)/obj/agent/dpctl.o $(BUILD)/libgw.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# --- tests -----------------------------------------------------------------
# tests/unit/test_*.c: cmocka unit tests, built plain and with ASan+UBSan.
# tests/bpf/test_*.c: BPF programs through bpf_prog_test_run_opts (cmocka).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_SAN_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit-san/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
BPFT_HELPERS := $(filter-out $(BPFT_SRCS),$(wildcard tests/bpf/*.c))
TEST_DEPS := $(wildcard tests/bpf/*.h tests/unit/*.h)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libgw.a $(TEST_DEPS) $(USER_DEPS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(BUILD)/libgw.a -o $@ -lcmocka $(LDLIBS)

$(BUILD)/tests/unit-san/%: tests/unit/%.c $(BUILD)/libgw-san.a $(TEST_DEPS) $(USER_DEPS)
	$(call msg,TEST-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests $< $(BUILD)/libgw-san.a -o $@ -lcmocka $(LDLIBS)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(BPFT_HELPERS) $(BUILD)/libgw.a $(TEST_DEPS) $(USER_DEPS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(BPFT_HELPERS) $(BUILD)/libgw.a -o $@ -lcmocka $(LDLIBS)

TEST_BINS := $(UNIT_BINS) $(UNIT_SAN_BINS) $(BPFT_BINS)

# --- top-level targets -------------------------------------------------------
all: $(BPF_OBJS) $(SKELS) $(BUILD)/libgw.a $(BINS) $(TEST_BINS)

$(BUILD)/bpf:
	$(Q)mkdir -p $@

# Installs the Debian packages that are missing (root; apt-get update once).
# $(call install,PACKAGES): apt-get install those not installed yet.
define install
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install,$(DEB_PACKAGES))

# The peers are run by bench/ with their own configs on loopback; the
# services the packages start are stopped.
bench-deps: deps
	$(call install,$(BENCH_PACKAGES))
	-@for s in haproxy nginx; do service $$s stop >/dev/null 2>&1; done; true

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh

test-unit test-bpf test-integ: all
	$(Q)tests/run.sh $(patsubst test-%,%,$@)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)examples/lab.sh

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/run.sh
	$(Q)bench/l7.sh

bench-l7: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/l7.sh

vmtest: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)vmtests/run.sh $(if $(KERNEL),--kernel $(KERNEL)) $(VMTEST_ARGS)

# --- install -----------------------------------------------------------------
# make install [DESTDIR=/tmp/stage] [PREFIX=/usr]: the programs, the systemd
# unit (its paths rewritten for PREFIX), sysusers/tmpfiles snippets, man
# pages, bash completion, the decap program and the example config (as
# SYSCONFDIR/gw/gateway.yaml.example: it names eth0, so it is never made
# the live file by an install).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
LIBDIR ?= $(PREFIX)/lib
UNITDIR ?= $(LIBDIR)/systemd/system
INSTALL ?= install

install: $(BINS) $(BUILD)/bpf/decap.bpf.o
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(LIBDIR)/sysusers.d $(DESTDIR)$(LIBDIR)/tmpfiles.d \
		$(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/doc/gw \
		$(DESTDIR)$(LIBDIR)/gw
	$(Q)$(INSTALL) -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/gw
	$(Q)$(INSTALL) -m 0755 $(BUILD)/bin/gwd $(BUILD)/bin/gw-dpctl $(DESTDIR)$(SBINDIR)/
	$(Q)$(INSTALL) -m 0755 $(BUILD)/bin/gwctl $(DESTDIR)$(BINDIR)/
	$(Q)$(INSTALL) -m 0644 $(BUILD)/bpf/decap.bpf.o $(DESTDIR)$(LIBDIR)/gw/
	$(Q)$(INSTALL) -m 0644 docs/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)$(INSTALL) -m 0644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)sed -e 's#/usr/sbin/#$(SBINDIR)/#g' -e 's#/etc/gw/#$(SYSCONFDIR)/gw/#g' \
		examples/systemd/gwd.service >$(DESTDIR)$(UNITDIR)/gwd.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/gwd.service
	$(Q)$(INSTALL) -m 0644 examples/systemd/gw.sysusers $(DESTDIR)$(LIBDIR)/sysusers.d/gw.conf
	$(Q)$(INSTALL) -m 0644 examples/systemd/gw.tmpfiles $(DESTDIR)$(LIBDIR)/tmpfiles.d/gw.conf
	$(Q)$(INSTALL) -m 0644 cli/gwctl.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/gwctl
	$(Q)$(INSTALL) -m 0644 examples/gateway.example.yaml $(DESTDIR)$(DATADIR)/doc/gw/
	$(Q)$(INSTALL) -m 0640 examples/gateway.example.yaml \
		$(DESTDIR)$(SYSCONFDIR)/gw/gateway.yaml.example

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	$(Q)rm -rf $(BUILD)
