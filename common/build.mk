# SPDX-License-Identifier: Apache-2.0
# common/: small helpers shared by every daemon and tool (logging, errors).
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(OBJ_DIR)/%.o)
COMMON_LIB  := $(BUILD)/lib/libgannet-common.a

$(COMMON_LIB): $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
