# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# libFuzzer targets (tests/fuzz/fuzz_*.c), included by the Makefile.
# docs/testing.md explains them.
#
#   make fuzz-build    builds every target into $(BUILD)/fuzz/
#   make fuzz          runs each target for FUZZ_SECONDS (default 60) on a
#                      copy of its corpus; new inputs and crashes stay
#                      under $(BUILD)/fuzz/, never in tests/fuzz/corpus/
#   make fuzz-replay   runs each target once over its committed corpus
#                      (tests/run.sh unit does this, one test per target)
#   make fuzz FUZZ_TARGETS=http1_req FUZZ_SECONDS=600 FUZZ_ARGS=-jobs=2
#
# The archives of build/lib are built by gcc without coverage, so a
# target links archives of its own: every agent part but the daemon
# compiled again with clang and -fsanitize=fuzzer-no-link,address,undefined
# into $(FUZZ_DIR)/obj/ (the linker takes only the objects a target uses),
# plus the test helpers listed in FUZZ_SRCS_<target>; the harness itself is
# compiled and linked with -fsanitize=fuzzer.

.PHONY: fuzz fuzz-build fuzz-replay

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Werror -Wno-unused-parameter \
	-Iinclude -Iagent -I$(BUILD)/bpf -Itests $(FUZZ_SAN)

# Link order: a part before the parts it may use (as GWD_PARTS).
FUZZ_PARTS := runtime proxy l7 auth http dp cluster config core
fuzz_lib = $(FUZZ_DIR)/lib/libfz-$(1).a
FUZZ_LIBS := $(foreach p,$(FUZZ_PARTS),$(call fuzz_lib,$(p)))

define fuzz_part_rule
$(call fuzz_lib,$(1)): $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(call part_srcs,$(1)))
	$$(call msg,AR,$$@)
	$$(Q)mkdir -p $$(dir $$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach p,$(FUZZ_PARTS),$(eval $(call fuzz_part_rule,$(p))))

# Test helpers a target needs besides the agent (the BPF test harness).
FUZZ_SRCS_xdp := tests/bpf/harness.c tests/bpf/pkt.c
# pkt.c reads headers at the offsets of a frame (2 mod 4), as the kernel's
# own parsers do; not what is under test.
$(FUZZ_DIR)/obj/tests/%.o: FUZZ_CFLAGS += -fno-sanitize=alignment

# Every target links the agent's libraries (unused ones dropped).
FUZZ_LDLIBS := -Wl,--as-needed $(LDLIBS)

FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

# $(call fuzz_rule,NAME): links $(FUZZ_DIR)/fuzz_NAME.
define fuzz_rule
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(wildcard tests/fuzz/*.h) \
		$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRCS_$(1))) $(FUZZ_LIBS) | $(SKELS)
	$$(call msg,FUZZ-LD,$$@)
	$$(Q)$$(CLANG) $$(FUZZ_CFLAGS) -fsanitize=fuzzer $$< \
		$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRCS_$(1))) $(FUZZ_LIBS) -o $$@ $$(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz-build: $(FUZZ_BINS)

# Each target runs in $(FUZZ_DIR)/NAME/: new inputs go to its corpus/
# there (the committed corpus is only read), crashes to crashes/; a
# dictionary tests/fuzz/fuzz_NAME.dict is used when there is one.
fuzz: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		d=$(FUZZ_DIR)/$$t; mkdir -p $$d/corpus $(FUZZ_DIR)/crashes; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		dict=; [ -f tests/fuzz/fuzz_$$t.dict ] && dict=-dict=tests/fuzz/fuzz_$$t.dict; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t- $(FUZZ_ARGS) \
			$$d/corpus tests/fuzz/corpus/$$t >$$d/log 2>&1; \
		rc=$$?; grep -E '^#[0-9]+.*cov:' $$d/log | tail -n 1; \
		grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' $$d/log; \
		if [ $$rc != 0 ]; then echo "fuzz: $$t FAILED (exit $$rc), see $$d/log"; fail=1; fi; \
	done; exit $${fail:-0}

# Replays every committed corpus once (the suite does it through run.sh).
fuzz-replay: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/crashes; \
		$(FUZZ_DIR)/fuzz_$$t -runs=0 -artifact_prefix=$(FUZZ_DIR)/crashes/$$t- \
			tests/fuzz/corpus/$$t || exit 1; \
	done
