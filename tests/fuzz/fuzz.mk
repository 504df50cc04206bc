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
# The archives of build/lib are built by gcc without coverage, so the agent
# sources a target exercises are compiled again with clang and
# -fsanitize=fuzzer-no-link,address,undefined into $(BUILD)/fuzz/obj/.
# FUZZ_SRCS_<target> lists them; the harness itself gets -fsanitize=fuzzer.

.PHONY: fuzz fuzz-build fuzz-replay

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-Iinclude -Iagent -I$(BUILD)/bpf -Itests $(FUZZ_SAN)

# Agent sources per target (each compiled once into $(FUZZ_DIR)/obj/).
FZ_HTTP := agent/http/http1.c agent/http/http1_build.c agent/http/http1_chunk.c
FZ_CORE := agent/core/log.c agent/core/msgs.c
FZ_CONFIG := agent/config/config.c agent/core/addr.c agent/core/units.c \
	agent/core/health.c agent/core/ratelimit.c
FZ_AUTH := agent/auth/jwt.c agent/auth/jwks.c agent/auth/tokcache.c agent/core/b64url.c \
	agent/core/fileid.c agent/core/refslot.c agent/core/loop.c

FUZZ_SRCS_http1_req := $(FZ_HTTP)
FUZZ_SRCS_http1_resp := $(FZ_HTTP)
FUZZ_SRCS_chunk := $(FZ_HTTP)
FUZZ_SRCS_pathnorm := agent/http/pathnorm.c
FUZZ_SRCS_jwt := $(FZ_AUTH) $(FZ_CONFIG) $(FZ_CORE)
FUZZ_SRCS_jwks := $(FZ_AUTH) $(FZ_CONFIG) $(FZ_CORE)
FUZZ_SRCS_apikey := agent/auth/apikey.c $(FZ_AUTH) $(FZ_CONFIG) $(FZ_CORE)
FUZZ_SRCS_config := $(FZ_CONFIG) $(FZ_CORE)
FUZZ_SRCS_cmd := agent/core/cmd.c agent/dp/dp_cmds.c agent/dp/filter.c agent/dp/service.c \
	agent/dp/show.c agent/dp/dp.c agent/dp/ifaddr.c agent/core/maglev.c \
	agent/core/caps.c $(FZ_CONFIG) $(FZ_CORE)
# The XDP/TC target runs the BPF object (no coverage feedback from inside
# it: the verdict counters feed libFuzzer instead); the agent code it uses
# only writes the maps.
FUZZ_SRCS_xdp := tests/bpf/harness.c tests/bpf/pkt.c agent/dp/filter.c agent/dp/service.c \
	agent/core/maglev.c $(FZ_CONFIG) $(FZ_CORE)

FUZZ_LIBS_jwt := -lssl -lcrypto -ljansson
FUZZ_LIBS_jwks := -lssl -lcrypto -ljansson
FUZZ_LIBS_apikey := -lssl -lcrypto -ljansson
FUZZ_LIBS_config := -lyaml
FUZZ_LIBS_cmd := -lyaml -ljansson -lbpf -lxdp -lmnl -lcap-ng -lelf -lz
FUZZ_LIBS_xdp := -lyaml -lbpf -lelf -lz

FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: %.c | $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

# $(call fuzz_rule,NAME): links $(FUZZ_DIR)/fuzz_NAME.
define fuzz_rule
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(wildcard tests/fuzz/*.h) \
		$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(sort $(FUZZ_SRCS_$(1)))) | $(SKELS)
	$$(call msg,FUZZ-LD,$$@)
	$$(Q)$$(CLANG) $$(FUZZ_CFLAGS) -fsanitize=fuzzer $$< \
		$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(sort $(FUZZ_SRCS_$(1)))) -o $$@ $(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz-build: $(FUZZ_BINS)

# Each target runs in $(FUZZ_DIR)/NAME/: new inputs go to its corpus/
# there (the committed corpus is only read), crashes to crashes/.
fuzz: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		d=$(FUZZ_DIR)/$$t; mkdir -p $$d/corpus $(FUZZ_DIR)/crashes; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t- $(FUZZ_ARGS) \
			$$d/corpus tests/fuzz/corpus/$$t >$$d/log 2>&1; \
		rc=$$?; tail -n 3 $$d/log | grep -E 'DONE|cov:|stat::number_of_executed_units' ; \
		if [ $$rc != 0 ]; then echo "fuzz: $$t FAILED (exit $$rc), see $$d/log"; fail=1; fi; \
	done; exit $${fail:-0}

# Replays every committed corpus once (the suite does it through run.sh).
fuzz-replay: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		$(FUZZ_DIR)/fuzz_$$t -runs=0 tests/fuzz/corpus/$$t || exit 1; \
	done
