# SPDX-License-Identifier: Apache-2.0
# agent/dns/: cluster DNS as a static library (dns.c: pure Services +
# Endpoints -> dnsmasq files renderer and pod resolv.conf policy; dnsmasq.c:
# the node's dnsmasq front/back instances), the gannet-dns-render CLI and the
# renderer's unit test. Link the library with $(DNS_LIBS).
DNS_PKGS := jansson yaml-0.1
DNS_LIBS  = $(shell pkg-config --libs $(DNS_PKGS))
DNS_LIB  := $(BUILD)/lib/libgannet-dns.a
DNS_OBJS := $(OBJ_DIR)/agent/dns/dns.o $(OBJ_DIR)/agent/dns/dnsmasq.o
DNS_BIN  := $(BIN_DIR)/gannet-dns-render
DNS_TEST := $(BUILD)/tests/unit/dns_test

# Our sources fall under CFLAGS_agent (agent/build.mk); add ours per target.
$(DNS_OBJS) $(OBJ_DIR)/agent/dns/main.o $(OBJ_DIR)/tests/unit/dns_test.o: \
	CFLAGS += $(shell pkg-config --cflags $(DNS_PKGS)) -Wno-format-truncation

$(DNS_LIB): $(DNS_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(DNS_BIN): $(OBJ_DIR)/agent/dns/main.o $(DNS_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS)

$(DNS_TEST): $(OBJ_DIR)/tests/unit/dns_test.o $(DNS_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DNS_LIBS)

BINS      += $(DNS_BIN)
TEST_BINS += $(DNS_TEST)

.PHONY: dns
dns: $(DNS_LIB) $(DNS_BIN) $(DNS_TEST)
