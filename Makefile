# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gw: `make` builds everything into build/; `make test` installs what is
# missing and runs every suite; `make run` starts the lab. V=1 shows commands.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all check-layers deps bench-deps bench-l7 bench-h2 test test-unit test-bpf test-integ run bench vmtest clean format \
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
	groff-base man-db systemd debhelper lintian zsh fish prometheus gnuplot-nox \
	libnghttp2-dev nghttp2-client python3-h2 python3-grpcio libhiredis-dev redis-server \
	libpcre2-dev libbrotli-dev chromium w3m jq
# The peers `make bench` measures gw against (their services stay stopped).
BENCH_PACKAGES := haproxy nginx

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Iagent -I$(BUILD)/bpf \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2
LDLIBS := -lbpf -lxdp -lmnl -lyaml -lssl -lcrypto -ljansson -lsystemd -lcap-ng -lelf -lz \
	-lhiredis -lpcre2-8 -lbrotlienc -lnghttp2
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
# agent/ is one folder per part (docs/architecture.md); each part but the
# programs' mains is an archive, and a program links only the parts it
# uses: gwctl and gw-dpctl take core, config and dp, never the L7 parts.
# Dependencies go one way; `make check-layers` enforces the table in
# docs/architecture.md.
PARTS := core config dp http auth l7 proxy runtime cluster daemon
AGENT_MAINS := agent/dp/dpctl.c agent/daemon/gwd.c
part_srcs = $(filter-out $(AGENT_MAINS),$(wildcard agent/$(1)/*.c))
part_lib = $(BUILD)/lib/libgw-$(1).a
LIB_SRCS := $(foreach p,$(PARTS),$(call part_srcs,$(p)))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
# Link order: a part before the parts it may use.
GWD_PARTS := daemon cluster runtime proxy l7 auth http dp config core
CTL_PARTS := dp config core
GWD_LIBS := $(foreach p,$(GWD_PARTS),$(call part_lib,$(p)))
CTL_LIBS := $(foreach p,$(CTL_PARTS),$(call part_lib,$(p)))
ALL_LIBS := $(GWD_LIBS)

BINS := $(BUILD)/bin/gw-dpctl $(BUILD)/bin/gwd $(BUILD)/bin/gwctl
CTL_LDLIBS := -lbpf -lxdp -lmnl -lyaml -ljansson -lcap-ng -lelf -lz
LDFLAGS += -Wl,--as-needed

# Header dependencies come from the compiler (-MMD -MP); every object waits
# for the skeletons (order only), which some parts include.
DEPFLAGS = -MMD -MP

$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c | $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -Itests -c $< -o $@

define part_rule
$(call part_lib,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(call part_srcs,$(1)))
	$$(call msg,AR,$$@)
	$$(Q)mkdir -p $$(dir $$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach p,$(PARTS),$(eval $(call part_rule,$(p))))

$(BUILD)/libgw-san.a: $(SAN_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/gwd: $(BUILD)/obj/agent/daemon/gwd.o $(GWD_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bin/gwctl: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c)) $(CTL_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(CTL_LDLIBS)

$(BUILD)/bin/gw-dpctl: $(BUILD)/obj/agent/dp/dpctl.o $(CTL_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(CTL_LDLIBS)

# --- tests -----------------------------------------------------------------
# tests/unit/test_*.c: cmocka unit tests, built plain and with ASan+UBSan.
# tests/bpf/test_*.c: BPF programs through bpf_prog_test_run_opts (cmocka).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_SAN_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit-san/%,$(UNIT_SRCS))
# test_l7rules decodes br to check the encoder.
$(BUILD)/tests/unit/test_l7rules $(BUILD)/tests/unit-san/test_l7rules: LDLIBS += -lbrotlidec
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
BPFT_HELPERS := $(filter-out $(BPFT_SRCS),$(wildcard tests/bpf/*.c))
TEST_DEPS := $(wildcard tests/bpf/*.h tests/unit/*.h)

$(BUILD)/tests/unit/%: tests/unit/%.c $(ALL_LIBS) | $(SKELS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -Itests $< $(ALL_LIBS) -o $@ -lcmocka $(LDLIBS)

$(BUILD)/tests/unit-san/%: tests/unit/%.c $(BUILD)/libgw-san.a | $(SKELS)
	$(call msg,TEST-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -Itests $< $(BUILD)/libgw-san.a -o $@ -lcmocka $(LDLIBS)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(BPFT_HELPERS) $(ALL_LIBS) $(TEST_DEPS) | $(SKELS)
	$(call msg,TEST,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -Itests $< $(BPFT_HELPERS) $(ALL_LIBS) -o $@ -lcmocka $(LDLIBS)

TEST_BINS := $(UNIT_BINS) $(UNIT_SAN_BINS) $(BPFT_BINS)

# --- top-level targets -------------------------------------------------------
all: $(BPF_OBJS) $(SKELS) $(ALL_LIBS) $(BINS) $(TEST_BINS)

# The compiler's header dependencies (-MMD -MP) of every object and test.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Forbidden includes between agent/ parts (the table in docs/architecture.md).
check-layers:
	$(Q)tests/check_layers.sh

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

# prometheus is there for promtool (the alert rules' tests): a server its
# package may have started is stopped.
deps:
	$(call install,$(DEB_PACKAGES))
	-@for s in prometheus redis-server; do service $$s stop >/dev/null 2>&1; done; true

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
	$(Q)bench/plot.sh

bench-l7: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/l7.sh

bench-h2: bench-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bench/h2.sh --runs 3

vmtest: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)vmtests/run.sh $(if $(KERNEL),--kernel $(KERNEL)) $(VMTEST_ARGS)

# --- install -----------------------------------------------------------------
# make install [DESTDIR=/tmp/stage] [PREFIX=/usr]: the programs, the systemd
# unit (its paths rewritten for PREFIX), sysusers/tmpfiles snippets, man
# pages, bash completion, the docs the man pages point to (DATADIR/doc/gw),
# the decap program and the example config (as
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
		$(DESTDIR)$(DATADIR)/zsh/vendor-completions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d \
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
	$(Q)$(INSTALL) -m 0644 cli/_gwctl $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_gwctl
	$(Q)$(INSTALL) -m 0644 cli/gwctl.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/gwctl.fish
	$(Q)$(INSTALL) -m 0644 examples/gateway.example.yaml README.md docs/*.md \
		$(DESTDIR)$(DATADIR)/doc/gw/
	$(Q)$(INSTALL) -m 0640 examples/gateway.example.yaml \
		$(DESTDIR)$(SYSCONFDIR)/gw/gateway.yaml.example

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	$(Q)rm -rf $(BUILD)
include tests/fuzz/fuzz.mk
