# SPDX-License-Identifier: Apache-2.0
# tools/pktgen: gannet-pktgen, the in-kernel packet generator and delivered
# packet counter (BPF_PROG_RUN live frames; kernel pktgen when present).
# Its BPF object is built here (not in bpf/) because it is a tool of its
# own, not part of the node datapath.
PKTGEN_BPF_OBJ := $(GEN_DIR)/tools/pktgen/pktgen.bpf.o
PKTGEN_SKEL    := $(GEN_DIR)/pktgen.skel.h
PKTGEN_ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
PKTGEN_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

$(PKTGEN_BPF_OBJ): tools/pktgen/pktgen.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) -O2 -g -target bpf -D__TARGET_ARCH_$(PKTGEN_ARCH) \
		$(if $(PKTGEN_MULTIARCH),-I/usr/include/$(PKTGEN_MULTIARCH)) -c $< -o $@

$(PKTGEN_SKEL): $(PKTGEN_BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) gen skeleton $< name pktgen_bpf > $@

$(OBJ_DIR)/tools/pktgen/pktgen.o: $(PKTGEN_SKEL)
CFLAGS_tools += $(shell pkg-config --cflags libbpf jansson)

$(BIN_DIR)/gannet-pktgen: $(OBJ_DIR)/tools/pktgen/pktgen.o $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libbpf jansson) -lpthread

BINS += $(BIN_DIR)/gannet-pktgen
