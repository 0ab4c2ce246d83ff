# SPDX-License-Identifier: Apache-2.0
# agent/runtime/: container runtime library for the node agent (image store,
# OCI bundles, runc lifecycle, shim/logs, exec, probes, volumes) as a static
# library, the gannet-runtime CLI, and its unit test. Link the library with
# $(RUNTIME_LIBS).
RUNTIME_PKGS := jansson libcurl
RUNTIME_LIBS  = $(shell pkg-config --libs $(RUNTIME_PKGS)) -lutil -lpthread
RUNTIME_LIB  := $(BUILD)/lib/libgannet-runtime.a
RUNTIME_SRCS := $(filter-out agent/runtime/main.c,$(wildcard agent/runtime/*.c))
RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(OBJ_DIR)/%.o)
# Our sources fall under CFLAGS_agent (owned by agent/build.mk), so extra
# flags are target-specific. Paths are bounded by PATH_MAX-sized buffers;
# gcc's truncation warnings on composed paths are noise here.
$(RUNTIME_OBJS) $(OBJ_DIR)/agent/runtime/main.o $(OBJ_DIR)/agent/runtime/shim/main.o \
	$(OBJ_DIR)/tests/unit/runtime_test.o $(OBJ_DIR)/tests/unit/runtime_api_test.o: \
	CFLAGS += $(shell pkg-config --cflags $(RUNTIME_PKGS)) -Wno-format-truncation

$(RUNTIME_LIB): $(RUNTIME_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN_DIR)/gannet-runtime: $(OBJ_DIR)/agent/runtime/main.o $(RUNTIME_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(RUNTIME_LIBS)

$(BIN_DIR)/gannet-shim: $(OBJ_DIR)/agent/runtime/shim/main.o $(RUNTIME_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(RUNTIME_LIBS)

BINS += $(BIN_DIR)/gannet-runtime $(BIN_DIR)/gannet-shim

# runtime_test: pure parts (suite 13); runtime_api_test: the library linked
# into a threaded program with real runc (root; run by suite 45).
RUNTIME_TEST := $(BUILD)/tests/unit/runtime_test $(BUILD)/tests/unit/runtime_api_test
TEST_BINS += $(RUNTIME_TEST)
$(RUNTIME_TEST): $(BUILD)/tests/unit/%: $(OBJ_DIR)/tests/unit/%.o $(RUNTIME_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(RUNTIME_LIBS)

.PHONY: runtime
runtime: $(RUNTIME_LIB) $(BIN_DIR)/gannet-runtime $(BIN_DIR)/gannet-shim $(RUNTIME_TEST)
