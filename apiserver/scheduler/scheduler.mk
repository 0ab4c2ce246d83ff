# SPDX-License-Identifier: Apache-2.0
# apiserver/scheduler/: the scheduler (pure core sched.c + scheduling loop
# loop.c) as a static library that gannet-apiserver can link to run
# sched_run() in a thread, the standalone gannet-scheduler binary, its unit
# test and its benchmark driver. The label-selector matcher comes from
# common/selectors.c, compiled into the library so that users of the
# library need nothing else from apiserver/.
SCHED_LIBS  := $(shell pkg-config --libs libcurl jansson yaml-0.1 libcrypto) -lpthread
SCHED_SRCS  := apiserver/scheduler/sched.c apiserver/scheduler/loop.c common/selectors.c
SCHED_OBJS  := $(SCHED_SRCS:%.c=$(OBJ_DIR)/%.o)
SCHED_LIB   := $(BUILD)/lib/libgannet-scheduler.a
SCHED_BIN   := $(BIN_DIR)/gannet-scheduler
SCHED_TEST  := $(BUILD)/tests/unit/sched_test
SCHED_BENCH := $(BUILD)/tests/bench/sched_bench

BINS      += $(SCHED_BIN)
TEST_BINS += $(SCHED_TEST) $(SCHED_BENCH)

$(SCHED_LIB): $(SCHED_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SCHED_BIN): $(OBJ_DIR)/apiserver/scheduler/main.o $(SCHED_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SCHED_LIBS)

$(SCHED_TEST): $(OBJ_DIR)/tests/unit/sched_test.o $(SCHED_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SCHED_LIBS)

$(SCHED_BENCH): $(OBJ_DIR)/tests/bench/sched_bench.o $(SCHED_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SCHED_LIBS)

.PHONY: scheduler
scheduler: $(SCHED_LIB) $(SCHED_BIN) $(SCHED_TEST) $(SCHED_BENCH)
