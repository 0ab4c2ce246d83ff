# SPDX-License-Identifier: Apache-2.0
# ctl/: gannetctl, the command-line client, and its unit tests.
CTL_LIBS := $(shell pkg-config --libs libcurl jansson yaml-0.1 libcrypto) -lpthread -lm
CTL_SRCS := $(wildcard ctl/*.c)
CTL_OBJS := $(CTL_SRCS:%.c=$(OBJ_DIR)/%.o)

GANNETCTL := $(BIN_DIR)/gannetctl
BINS += $(GANNETCTL)

# policy trace runs the NetworkPolicy engine (policies/policies.mk, included
# later: the archive is named directly).
CTL_POL_LIB := $(BUILD)/lib/libgannet-policy.a
$(GANNETCTL): $(CTL_OBJS) $(CTL_POL_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) $(CTL_POL_LIB) $(COMMON_LIB) $(CTL_LIBS)

.PHONY: gannetctl
gannetctl: $(GANNETCTL)

# Unit tests of the pure parts: kubeconfig parsing (test-kubeconfig) and
# tables, ages, kind mapping, apply's merge and the workload logic of
# scale/rollout/set image/top (test-ctl).
TEST_BINS += $(BIN_DIR)/test-kubeconfig $(BIN_DIR)/test-ctl

$(BIN_DIR)/test-kubeconfig: $(OBJ_DIR)/tests/unit/kubeconfig_test.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(BIN_DIR)/test-ctl: $(OBJ_DIR)/tests/unit/ctl_test.o $(OBJ_DIR)/ctl/table.o $(OBJ_DIR)/ctl/workload.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)
