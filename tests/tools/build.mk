# SPDX-License-Identifier: Apache-2.0
# tests/tools/: netcheck, the server/prober of the NetworkPolicy suites
# (69-policy-matrix, 70-policy-stateful) and bench-policy-apply. Linked
# statically, without the project's libraries and without the sanitizers
# (static ASan does not exist): its servers run inside busybox containers.
NETCHECK_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter

$(BUILD)/tests/netcheck: tests/tools/netcheck.c
	$(call msg,CC-LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(NETCHECK_CFLAGS) -static -o $@ $<

TEST_BINS += $(BUILD)/tests/netcheck
