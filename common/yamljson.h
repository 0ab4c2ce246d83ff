/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON (jansson) conversion, shared by the API server and the CLI.
 * Parsing accepts multi-document YAML (JSON is valid YAML, so JSON input works
 * too) and resolves plain scalars with the YAML 1.2 core schema, the way
 * Kubernetes manifests expect (true/false, null/~, ints, floats; quoted
 * scalars stay strings). Anchors/aliases are supported but the expanded size
 * is bounded (alias bombs), as is nesting depth.
 * Link with: $(shell pkg-config --libs yaml-0.1 jansson). */
#ifndef GANNET_COMMON_YAMLJSON_H
#define GANNET_COMMON_YAMLJSON_H

#include <stddef.h>

#include <jansson.h>

#include "common/log.h"

#define YJ_MAX_DEPTH_DEFAULT 100
#define YJ_MAX_NODES_DEFAULT 1000000

struct yj_limits {
	int max_depth;        /* nesting of mappings/sequences; 0 = default */
	size_t max_nodes;     /* expanded node count (aliases count again) */
};

/* Parses every document in buf[0..len) into a new JSON array (one element
 * per document; empty documents, e.g. a trailing "---", are skipped).
 * Errors carry "line N, column M: ..." and return -EINVAL (syntax),
 * -E2BIG (depth/size limit). limits may be NULL. */
int yj_parse(const char *buf, size_t len, const struct yj_limits *limits,
	     json_t **docs_out, struct gerr *err);

/* Convenience: exactly one document expected (-EINVAL otherwise). */
int yj_parse_one(const char *buf, size_t len, const struct yj_limits *limits,
		 json_t **doc_out, struct gerr *err);

/* Emits one JSON value as a YAML document (block style, keys in object
 * order, strings quoted when they would otherwise read back as another
 * type). Returns a malloc'd NUL-terminated string, *len_out optional. */
int yj_emit(const json_t *doc, char **out, size_t *len_out, struct gerr *err);

/* Emits every element of a JSON array as a separate YAML document
 * separated by "---". */
int yj_emit_docs(const json_t *docs, char **out, size_t *len_out,
		 struct gerr *err);

#endif
