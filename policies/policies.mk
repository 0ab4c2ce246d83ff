# SPDX-License-Identifier: Apache-2.0
# policies/: the NetworkPolicy engine (pure C, no kernel) as a static
# library, its unit test, benchmark driver and libFuzzer target. The
# label-selector matcher is common/selectors.c and the RFC 1123 name checks
# common/names.c, archived into the library so that its users (agent,
# apiserver, gannetctl) need nothing else.
#
#   make policy-engine   library + unit test + bench driver
#   make fuzz-policy     libFuzzer+ASan target (clang), not in `all`
POL_SRCS   := policies/engine.c policies/parse.c policies/hmap.c policies/encode.c
POL_OBJS   := $(POL_SRCS:%.c=$(OBJ_DIR)/%.o) $(OBJ_DIR)/common/selectors.o \
	      $(OBJ_DIR)/common/names.o
POL_LIB    := $(BUILD)/lib/libgannet-policy.a
POL_LIBS   := $(shell pkg-config --libs jansson)
POL_TEST   := $(BUILD)/tests/unit/policy_test
POL_BENCH  := $(BUILD)/tests/bench/policy_bench
POL_FUZZ   := $(BUILD)/fuzz/policy_fuzz

TEST_BINS += $(POL_TEST) $(POL_BENCH)

$(POL_LIB): $(POL_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(POL_TEST): $(OBJ_DIR)/tests/unit/policy_test.o $(POL_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(POL_LIBS)

$(POL_BENCH): $(OBJ_DIR)/tests/bench/policy_bench.o $(POL_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(POL_LIBS)

# The fuzzer compiles the sources itself with clang's libFuzzer and ASan
# (gcc has no -fsanitize=fuzzer).
POL_FUZZ_SRCS := tests/fuzz/policy_fuzz.c $(POL_SRCS) common/selectors.c common/names.c \
		 common/log.c
$(POL_FUZZ): $(POL_FUZZ_SRCS) policies/policy.h policies/internal.h policies/hmap.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
		-o $@ $(POL_FUZZ_SRCS) $(POL_LIBS)

.PHONY: policy-engine fuzz-policy
policy-engine: $(POL_LIB) $(POL_TEST) $(POL_BENCH)
fuzz-policy: $(POL_FUZZ)
