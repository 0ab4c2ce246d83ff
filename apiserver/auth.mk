# SPDX-License-Identifier: Apache-2.0
# API security (apiserver/{pki,authn,rbac,secretbox}.c): these sources are
# linked into gannet-apiserver by apiserver/build.mk, which adds $(AUTH_LIBS).
# This fragment only exports the link flags and builds the unit tests.
AUTH_SRCS := apiserver/pki.c apiserver/authn.c apiserver/rbac.c apiserver/secretbox.c
AUTH_OBJS := $(AUTH_SRCS:%.c=$(OBJ_DIR)/%.o)
AUTH_LIBS := $(shell pkg-config --libs libcrypto yaml-0.1 jansson) -lpthread

AUTH_TEST_DIR  := $(BUILD)/tests/unit
# auth_tool: test driver so the suite can check PKI output with openssl,
# curl and kubectl.
AUTH_TEST_BINS := $(AUTH_TEST_DIR)/auth_test $(AUTH_TEST_DIR)/rbac_test \
                  $(AUTH_TEST_DIR)/secretbox_test $(AUTH_TEST_DIR)/auth_tool
TEST_BINS += $(AUTH_TEST_BINS)

.PHONY: auth-tests
auth-tests: $(AUTH_TEST_BINS)

$(AUTH_TEST_BINS): $(AUTH_TEST_DIR)/%: $(OBJ_DIR)/tests/unit/%.o $(AUTH_OBJS) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(AUTH_LIBS)

# Benchmark driver for tests/bench/bench-auth.sh.
AUTH_BENCH := $(BUILD)/tests/bench/auth_bench
TEST_BINS += $(AUTH_BENCH)
auth-tests: $(AUTH_BENCH)
$(AUTH_BENCH): $(OBJ_DIR)/tests/bench/auth_bench.o $(AUTH_OBJS) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(AUTH_LIBS)
