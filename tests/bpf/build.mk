# SPDX-License-Identifier: Apache-2.0
# tests/bpf/: BPF_PROG_RUN datapath tests (run by tests/suites/20-bpf.sh).
$(OBJ_DIR)/tests/bpf/test_bpf.o: $(BPF_SKELS)

$(BUILD)/tests/test_bpf: $(OBJ_DIR)/tests/bpf/test_bpf.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libbpf) -lelf -lz

TEST_BINS += $(BUILD)/tests/test_bpf

# Test packets are byte buffers with headers at arbitrary offsets (x86 is
# fine with it); don't let UBSan flag every header access in SAN builds.
$(OBJ_DIR)/tests/bpf/test_bpf.o: CFLAGS += -fno-sanitize=alignment

# Service LB tests (tests/suites/21-bpf-lb.sh): programmed through the
# dataplane library, packets through BPF_PROG_RUN.
$(OBJ_DIR)/tests/bpf/test_lb.o: $(BPF_SKELS)
$(OBJ_DIR)/tests/bpf/test_lb.o: CFLAGS += -fno-sanitize=alignment

$(BUILD)/tests/test_lb: $(OBJ_DIR)/tests/bpf/test_lb.o $(DP_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DP_LIBS)

TEST_BINS += $(BUILD)/tests/test_lb

# Service benchmark driver (tests/bench/bench-services.sh).
$(OBJ_DIR)/tests/bench/svc_bench.o: $(BPF_SKELS)
$(OBJ_DIR)/tests/bench/svc_bench.o: CFLAGS += -fno-sanitize=alignment
$(BUILD)/tests/svc_bench: $(OBJ_DIR)/tests/bench/svc_bench.o $(DP_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DP_LIBS)

TEST_BINS += $(BUILD)/tests/svc_bench
