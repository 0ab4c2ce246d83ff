# SPDX-License-Identifier: Apache-2.0
# apiserver/store*: the API server's storage layer (SQLite and etcd v3
# backends) as a static library, its conformance test and its benchmark.
# apiserver/build.mk also links these objects into gannet-apiserver and uses
# STORE_LIBS for the link flags.
STORE_LIBS  = $(shell pkg-config --libs sqlite3 libcurl jansson libcrypto) -lpthread
STORE_SRCS := apiserver/store.c apiserver/store_sqlite.c apiserver/store_etcd.c
STORE_OBJS := $(STORE_SRCS:%.c=$(OBJ_DIR)/%.o)
STORE_LIB  := $(BUILD)/lib/libgannet-store.a

$(STORE_LIB): $(STORE_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

TEST_BINS += $(BIN_DIR)/store-conformance $(BIN_DIR)/store-bench

$(BIN_DIR)/store-conformance: $(OBJ_DIR)/tests/unit/store_conformance.o $(STORE_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS)

$(BIN_DIR)/store-bench: $(OBJ_DIR)/tests/bench/store_bench.o $(STORE_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS)

.PHONY: store
store: $(STORE_LIB) $(BIN_DIR)/store-conformance $(BIN_DIR)/store-bench
