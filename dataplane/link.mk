# SPDX-License-Identifier: Apache-2.0
# dataplane/link.c benchmark (tests/bench/bench-link.sh): the agent's
# per-pod netlink calls timed against a plain netlink call. Links link.o
# alone (libnl only), not the whole dataplane library.
LINK_BENCH := $(BUILD)/tests/bench/link_bench
$(LINK_BENCH): $(OBJ_DIR)/tests/bench/link_bench.o $(OBJ_DIR)/dataplane/link.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libnl-3.0 libnl-route-3.0) -lpthread
TEST_BINS += $(LINK_BENCH)
$(OBJ_DIR)/tests/bench/link_bench.o: CFLAGS += $(shell pkg-config --cflags libnl-route-3.0)
