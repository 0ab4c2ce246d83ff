# SPDX-License-Identifier: Apache-2.0
# agent/: gannet-agent (node agent, CNI host, IPAM, metrics) and gannet-cni
# (the CNI plugin), plus their unit tests (no root needed).
AGENT_PKGS   := jansson yaml-0.1 libmicrohttpd libcrypto
CFLAGS_agent := $(shell pkg-config --cflags $(AGENT_PKGS))
AGENT_LIBS   := $(shell pkg-config --libs $(AGENT_PKGS)) -lpthread

# Pure modules shared by the daemon, the plugin and the unit tests.
AGENT_CORE_OBJS := $(addprefix $(OBJ_DIR)/agent/,ipam.o config.o proto.o cni/cni.o)
AGENT_OBJS := $(AGENT_CORE_OBJS) \
	$(addprefix $(OBJ_DIR)/agent/,main.o pods.o cnisrv.o metrics.o kubelet.o kubelet_tls.o \
	services.o svcmodel.o dnssync.o dpview.o policy.o)
CNI_OBJS   := $(OBJ_DIR)/agent/cni/main.o $(OBJ_DIR)/agent/ipam.o \
	$(OBJ_DIR)/agent/proto.o $(OBJ_DIR)/agent/cni/cni.o

# dataplane/build.mk is included after this file, so name its library
# directly (prerequisites expand immediately; DP_LIBS in the recipe is late).
# API mode links the runtime library (agent/runtime/runtime.mk, included
# later: name the archive directly) and the API client's libcurl.
$(BIN_DIR)/gannet-agent: $(AGENT_OBJS) $(BUILD)/lib/libgannet-dataplane.a \
		$(BUILD)/lib/libgannet-policy.a \
		$(BUILD)/lib/libgannet-runtime.a $(BUILD)/lib/libgannet-dns.a $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DP_LIBS) $(RUNTIME_LIBS) $(AGENT_LIBS) \
		$(shell pkg-config --libs libcurl openssl gnutls)

$(BIN_DIR)/gannet-cni: $(CNI_OBJS) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

BINS += $(BIN_DIR)/gannet-agent $(BIN_DIR)/gannet-cni

# Unit tests: tests/unit/<name>.c -> $(BUILD)/tests/unit/<name>
AGENT_TEST_DIR  := $(BUILD)/tests/unit
AGENT_TEST_BINS := $(AGENT_TEST_DIR)/ipam_test $(AGENT_TEST_DIR)/agentcfg_test \
	$(AGENT_TEST_DIR)/cni_test
TEST_BINS += $(AGENT_TEST_BINS)

$(AGENT_TEST_BINS): $(AGENT_TEST_DIR)/%: $(OBJ_DIR)/tests/unit/%.o $(AGENT_CORE_OBJS) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

.PHONY: agent agent-tests
agent: $(BIN_DIR)/gannet-agent $(BIN_DIR)/gannet-cni
agent-tests: $(AGENT_TEST_BINS)

# kubelet.c composes messages from API strings into fixed buffers on
# purpose (truncation is fine there).
$(OBJ_DIR)/agent/kubelet.o: CFLAGS += -Wno-format-truncation

# Services model (pure): tests/unit/svcmodel_test.c, run by suite 65-services-unit.
SVCMODEL_TEST := $(AGENT_TEST_DIR)/svcmodel_test
TEST_BINS += $(SVCMODEL_TEST)
$(SVCMODEL_TEST): $(OBJ_DIR)/tests/unit/svcmodel_test.o $(OBJ_DIR)/agent/svcmodel.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)
$(OBJ_DIR)/tests/unit/svcmodel_test.o: CFLAGS += $(CFLAGS_agent)
