# SPDX-License-Identifier: Apache-2.0
# apiserver/controllers/: the controllers as a static library (the API server
# links it to run them as threads) plus the standalone
# gannet-controller-manager and the unit tests of their pure parts.
CTRL_SRCS := $(filter-out apiserver/controllers/main.c,$(wildcard apiserver/controllers/*.c))
CTRL_OBJS := $(CTRL_SRCS:%.c=$(OBJ_DIR)/%.o)
CTRL_LIB  := $(BUILD)/lib/libgannet-controllers.a
CTRL_LDLIBS := $(shell pkg-config --libs libcurl jansson yaml-0.1 libcrypto) -lpthread

$(CTRL_LIB): $(CTRL_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

GANNET_CM := $(BIN_DIR)/gannet-controller-manager
BINS += $(GANNET_CM)

$(GANNET_CM): $(OBJ_DIR)/apiserver/controllers/main.o $(CTRL_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CTRL_LDLIBS)

TEST_BINS += $(BIN_DIR)/test-controllers
$(BIN_DIR)/test-controllers: $(OBJ_DIR)/tests/unit/controllers_test.o $(CTRL_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CTRL_LDLIBS)

.PHONY: controllers
controllers: $(GANNET_CM) $(BIN_DIR)/test-controllers
