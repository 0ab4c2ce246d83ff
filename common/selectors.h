/* SPDX-License-Identifier: Apache-2.0 */
/* Label and field selectors, Kubernetes semantics. A pure module (no I/O, no
 * globals) so the scheduler, controllers and the NetworkPolicy engine can
 * reuse label-selector matching:
 *   - string form: "a=b,c!=d,e in (x,y),f notin (z),g,!h" (labelSelector=)
 *   - object form: metav1.LabelSelector {matchLabels, matchExpressions}
 *   - field selectors: "metadata.name=x,spec.nodeName!=" on dotted paths. */
#ifndef GANNET_APISERVER_SELECTORS_H
#define GANNET_APISERVER_SELECTORS_H

#include <stdbool.h>

#include <jansson.h>

#include "common/log.h"

enum sel_op { SEL_EQ, SEL_NE, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOTEXISTS };

struct sel_req {
	char *key;
	enum sel_op op;
	char **values;
	int n_values;
};

struct selector {
	struct sel_req *reqs;
	int n;
	bool nothing;       /* matches no object (a null LabelSelector in some APIs) */
};

/* Parses the string form. Empty string = everything. -EINVAL on syntax. */
int sel_parse_labels(const char *s, struct selector *out, struct gerr *err);
/* Field selectors only allow =, == and !=. */
int sel_parse_fields(const char *s, struct selector *out, struct gerr *err);
/* metav1.LabelSelector object; NULL or {} selects everything. */
int sel_from_label_selector(const json_t *ls, struct selector *out, struct gerr *err);
void sel_free(struct selector *s);

/* labels: a JSON object of string values (NULL = no labels). */
bool sel_match_labels(const struct selector *s, const json_t *labels);
/* Field selector against an object: keys are dotted paths into obj;
 * a missing field compares as "". */
bool sel_match_fields(const struct selector *s, const json_t *obj);
/* Convenience: LabelSelector object against a labels object. */
bool sel_label_selector_matches(const json_t *ls, const json_t *labels);

/* Looks up a dotted path ("spec.nodeName") in obj; NULL if absent. */
const json_t *sel_lookup_path(const json_t *obj, const char *path);

#endif
