# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy datapath tests (tests/suites/22-bpf-policy.sh) and the
# per-packet policy benchmark driver (tests/bench/bench-policy.sh).
$(OBJ_DIR)/tests/bpf/policy_test.o: $(BPF_SKELS)
$(OBJ_DIR)/tests/bpf/policy_test.o: CFLAGS += -fno-sanitize=alignment
$(BUILD)/tests/bpf_policy_test: $(OBJ_DIR)/tests/bpf/policy_test.o $(DP_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DP_LIBS) -lpthread

TEST_BINS += $(BUILD)/tests/bpf_policy_test

$(OBJ_DIR)/tests/bench/policy_dp_bench.o: $(BPF_SKELS)
$(OBJ_DIR)/tests/bench/policy_dp_bench.o: CFLAGS += -fno-sanitize=alignment $(shell pkg-config --cflags jansson)
$(BUILD)/tests/policy_dp_bench: $(OBJ_DIR)/tests/bench/policy_dp_bench.o $(POL_LIB) $(DP_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DP_LIBS) $(POL_LIBS)

TEST_BINS += $(BUILD)/tests/policy_dp_bench

# Allow-set encoding micro-benchmark (hash vs LPM trie), loaded by
# policy_dp_bench -L from the build directory.
$(GEN_DIR)/tests/policy_lookup.bpf.o: tests/bpf/policy_lookup.bpf.c $(wildcard bpf/lib/*.h)
	$(call msg,BPF,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/policy_dp_bench: | $(GEN_DIR)/tests/policy_lookup.bpf.o
