# SPDX-License-Identifier: Apache-2.0
# bpf/: datapath programs. Each bpf/<name>.bpf.c becomes
# $(GEN_DIR)/bpf/<name>.bpf.o and a libbpf skeleton $(GEN_DIR)/bpf/<name>.skel.h
# (struct gnt_<name>) that the dataplane library and the BPF tests include.
# No vmlinux.h: the programs only need UAPI headers.
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(GEN_DIR)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(GEN_DIR)/bpf/%.skel.h)
BPF_ARCH  := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
BPF_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS ?= -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
	-Wno-unused-function -I. $(if $(BPF_MULTIARCH),-I/usr/include/$(BPF_MULTIARCH))

$(GEN_DIR)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/lib/*.h)
	$(call msg,BPF,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(GEN_DIR)/bpf/%.skel.h: $(GEN_DIR)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gnt_$* > $@

.PHONY: bpf
bpf: $(BPF_OBJS) $(BPF_SKELS)
all: bpf
