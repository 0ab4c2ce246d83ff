# SPDX-License-Identifier: Apache-2.0
# dataplane/: libgannet-dataplane.a (BPF loading/pinning/maps + link set-up
# through libnl) and the gannet-dp inspection/control CLI. Users link with
# $(DP_LIB) $(COMMON_LIB) $(DP_LIBS).
DP_SRCS := $(wildcard dataplane/*.c)
DP_OBJS := $(DP_SRCS:%.c=$(OBJ_DIR)/%.o)
DP_LIB  := $(BUILD)/lib/libgannet-dataplane.a
DP_LIBS := $(shell pkg-config --libs libbpf libnl-3.0 libnl-route-3.0) -lelf -lz
CFLAGS_dataplane := $(shell pkg-config --cflags libbpf libnl-3.0 libnl-route-3.0 jansson)

# The library compiles the generated skeletons.
$(DP_OBJS) $(OBJ_DIR)/dataplane/tool/gannet-dp.o: $(BPF_SKELS)

$(DP_LIB): $(DP_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN_DIR)/gannet-dp: $(OBJ_DIR)/dataplane/tool/gannet-dp.o $(DP_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DP_LIBS) $(shell pkg-config --libs jansson)

BINS += $(BIN_DIR)/gannet-dp
.PHONY: dataplane
dataplane: $(DP_LIB) $(BIN_DIR)/gannet-dp

# Maglev unit test (pure, no root): tests/suites/19-unit-maglev.sh
$(BUILD)/tests/unit/maglev_test: $(OBJ_DIR)/tests/unit/maglev_test.o $(OBJ_DIR)/dataplane/maglev.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

TEST_BINS += $(BUILD)/tests/unit/maglev_test
