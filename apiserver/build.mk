# SPDX-License-Identifier: Apache-2.0
# apiserver/: gannet-apiserver (REST, watch, discovery, HTTPS) and its unit
# tests. The store (store*.c, store.mk) and security (pki/authn/rbac/secretbox,
# auth.mk) modules live in the same directory and are linked in here; their
# fragments export STORE_LIBS / AUTH_LIBS (recursively expanded, so the
# include order of the fragments does not matter).
APISERVER_PKGS := libmicrohttpd gnutls jansson yaml-0.1
APISERVER_LIBS  = $(shell pkg-config --libs $(APISERVER_PKGS)) $(STORE_LIBS) $(AUTH_LIBS) -lpthread -lm
CFLAGS_apiserver = $(shell pkg-config --cflags $(APISERVER_PKGS))

APISERVER_SRCS := $(wildcard apiserver/*.c)
APISERVER_OBJS := $(APISERVER_SRCS:%.c=$(OBJ_DIR)/%.o)
# Everything but main(): also linked into the unit tests.
APISERVER_LIBOBJS := $(filter-out $(OBJ_DIR)/apiserver/main.o,$(APISERVER_OBJS))

ifneq ($(wildcard apiserver/main.c),)
BINS += $(BIN_DIR)/gannet-apiserver
endif
# The scheduler and the controllers run in-process (main.c). Their fragments
# (apiserver/*/*.mk) are included after this one and prerequisites expand at
# parse time, so the library paths are spelled out here.
APISERVER_LOOP_LIBS := $(BUILD)/lib/libgannet-scheduler.a $(BUILD)/lib/libgannet-controllers.a \
	$(BUILD)/lib/libgannet-policy.a   # NetworkPolicy validation (registry.c)
$(BIN_DIR)/gannet-apiserver: $(APISERVER_OBJS) $(APISERVER_LOOP_LIBS) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(APISERVER_LIBS)

# Pure-module unit tests (no server, no root).
APISERVER_UNIT := test-yamljson test-apiserver-units
TEST_BINS += $(APISERVER_UNIT:%=$(BIN_DIR)/%)
$(BIN_DIR)/test-yamljson: $(OBJ_DIR)/tests/unit/test-yamljson.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs jansson yaml-0.1)
$(BIN_DIR)/test-apiserver-units: $(OBJ_DIR)/tests/unit/test-apiserver-units.o $(APISERVER_LIBOBJS) \
		$(BUILD)/lib/libgannet-policy.a $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(APISERVER_LIBS)

.PHONY: gannet-apiserver
gannet-apiserver: $(BIN_DIR)/gannet-apiserver

# Load generator for tests/bench/bench-apiserver.sh.
TEST_BINS += $(BIN_DIR)/apiserver-bench
$(BIN_DIR)/apiserver-bench: $(OBJ_DIR)/tests/bench/apiserver_bench.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libcurl) -lpthread
