# SPDX-License-Identifier: Apache-2.0
# ingress/: the Ingress controller core as a static library (render.c: pure
# snapshot -> nginx.conf renderer; nginx.c: validate/start/reload/stop of a
# private nginx instance), the gannet-ingress-render CLI and the renderer's
# unit test, and gannet-ingress-controller (controller.c: informers over the
# API, debounce, render, apply, status/annotations/events).
INGRESS_PKGS := jansson yaml-0.1 libcrypto
CFLAGS_ingress := $(shell pkg-config --cflags $(INGRESS_PKGS))
INGRESS_LIBS := $(shell pkg-config --libs $(INGRESS_PKGS))
INGRESS_OBJS := $(OBJ_DIR)/ingress/render.o $(OBJ_DIR)/ingress/nginx.o
INGRESS_LIB  := $(BUILD)/lib/libgannet-ingress.a
INGRESS_BIN  := $(BIN_DIR)/gannet-ingress-render
INGRESS_TEST := $(BUILD)/tests/unit/ingress_render_test

INGRESS_CTRL := $(BIN_DIR)/gannet-ingress-controller
INGRESS_CTRL_LIBS := $(INGRESS_LIBS) $(shell pkg-config --libs libcurl) -lpthread

BINS      += $(INGRESS_BIN) $(INGRESS_CTRL)
TEST_BINS += $(INGRESS_TEST)

$(INGRESS_LIB): $(INGRESS_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(INGRESS_BIN): $(OBJ_DIR)/ingress/main.o $(INGRESS_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(INGRESS_LIBS)

$(INGRESS_CTRL): $(OBJ_DIR)/ingress/controller.o $(INGRESS_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(INGRESS_CTRL_LIBS)

$(INGRESS_TEST): $(OBJ_DIR)/tests/unit/ingress_render_test.o $(INGRESS_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(INGRESS_LIBS)

.PHONY: ingress
ingress: $(INGRESS_LIB) $(INGRESS_BIN) $(INGRESS_CTRL) $(INGRESS_TEST)
