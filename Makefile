# SPDX-License-Identifier: Apache-2.0
# Gannet top-level build. Each component has a <dir>/build.mk fragment that
# appends to BINS / LIBS / TEST_BINS; everything lands under $(BUILD).
#
#   make            build everything
#   make deps       install Debian packages (root, idempotent)
#   make demo       main job: local cluster demo in network namespaces
#   make demo-down  remove the cluster make demo left running
#   make test       the whole test suite (what CI runs)
#   make bench      benchmarks (tables printed, ratios vs baselines)
#   make SAN=1 ...  build with ASan+UBSan into build-san/
#   make V=1 ...    verbose

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
           -I. -I$(BUILD)/gen $(SANFLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BINS      :=
TEST_BINS :=
BIN_DIR   := $(BUILD)/bin
OBJ_DIR   := $(BUILD)/obj
GEN_DIR   := $(BUILD)/gen

.DELETE_ON_ERROR:
.PHONY: all deps demo demo-down test test-unit bench clean

all:

# Generic rule: any .c in the tree -> object under $(OBJ_DIR)
$(OBJ_DIR)/%.o: %.c
	$(call msg,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(CFLAGS_$(firstword $(subst /, ,$<))) -c $< -o $@

include common/build.mk
# Every other <dir>/*.mk (and <dir>/<sub>/*.mk) fragment, so that several
# components can live in one directory, each with its own fragment.
include $(filter-out common/build.mk,$(sort $(wildcard */*.mk */*/*.mk)))

all: $(BINS) $(TEST_BINS)

deps:
	./scripts/deps.sh

# demo and test re-invoke make after deps so that a fresh machine needs
# nothing but this checkout: `sudo make demo`, then `sudo make test`.
demo:
	./scripts/deps.sh
	$(MAKE) -j2 all
	BUILD=$(BUILD) ./scripts/demo.sh

demo-down:
	BUILD=$(BUILD) ./scripts/demo.sh down

test:
	$(MAKE) -j2 all
	BUILD=$(BUILD) ./tests/run.sh

test-unit:
	$(MAKE) -j2 all
	BUILD=$(BUILD) ./tests/run.sh unit

bench:
	$(MAKE) -j2 all
	BUILD=$(BUILD) ./tests/bench/run.sh

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
