/* SPDX-License-Identifier: Apache-2.0 */
/* Label and field selector parsing and matching (see selectors.h). The
 * grammar follows k8s.io/apimachinery/pkg/labels: requirements separated by
 * commas, each "key op value" or "key op (v1,v2)" or "key" / "!key". */
#include "common/selectors.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void skip_ws(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static bool is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ||
	       c == '/';
}

static char *read_token(const char **p)
{
	const char *s;

	skip_ws(p);
	s = *p;
	while (**p && (is_key_char(**p) || **p == ':' || **p == '+' || **p == '@'))
		(*p)++;
	return strndup(s, *p - s);
}

static int add_req(struct selector *sel, char *key, enum sel_op op)
{
	struct sel_req *r = realloc(sel->reqs, (sel->n + 1) * sizeof(*r));

	if (!r) {
		free(key);
		return -ENOMEM;
	}
	sel->reqs = r;
	r = &sel->reqs[sel->n++];
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->op = op;
	return 0;
}

static int add_value(struct sel_req *r, char *v)
{
	char **vals = realloc(r->values, (r->n_values + 1) * sizeof(*vals));

	if (!vals) {
		free(v);
		return -ENOMEM;
	}
	r->values = vals;
	r->values[r->n_values++] = v;
	return 0;
}

static int parse(const char *s, bool fields, struct selector *out, struct gerr *err)
{
	const char *p = s ? s : "";
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (;;) {
		skip_ws(&p);
		if (!*p)
			break;
		bool neg = false;
		if (*p == '!') {
			if (fields)
				goto syntax;
			neg = true;
			p++;
		}
		char *key = read_token(&p);
		if (!key || !*key) {
			free(key);
			goto syntax;
		}
		skip_ws(&p);
		if (neg || !*p || *p == ',') {
			if (fields) {
				free(key);
				goto syntax;
			}
			ret = add_req(out, key, neg ? SEL_NOTEXISTS : SEL_EXISTS);
			if (ret)
				goto out;
		} else if (*p == '=' || *p == '!') {
			enum sel_op op = SEL_EQ;

			if (p[0] == '!' && p[1] == '=') {
				op = SEL_NE;
				p += 2;
			} else if (p[0] == '=' && p[1] == '=') {
				p += 2;
			} else if (p[0] == '=') {
				p++;
			} else {
				free(key);
				goto syntax;
			}
			ret = add_req(out, key, op);
			if (ret)
				goto out;
			char *v = read_token(&p);
			if (!v) {
				ret = -ENOMEM;
				goto out;
			}
			ret = add_value(&out->reqs[out->n - 1], v);
			if (ret)
				goto out;
		} else if (!fields && (!strncmp(p, "in", 2) || !strncmp(p, "notin", 5))) {
			enum sel_op op = p[0] == 'i' ? SEL_IN : SEL_NOTIN;

			p += op == SEL_IN ? 2 : 5;
			skip_ws(&p);
			if (*p != '(') {
				free(key);
				goto syntax;
			}
			p++;
			ret = add_req(out, key, op);
			if (ret)
				goto out;
			for (;;) {
				char *v = read_token(&p);

				if (!v) {
					ret = -ENOMEM;
					goto out;
				}
				ret = add_value(&out->reqs[out->n - 1], v);
				if (ret)
					goto out;
				skip_ws(&p);
				if (*p == ',') {
					p++;
					continue;
				}
				if (*p == ')') {
					p++;
					break;
				}
				goto syntax;
			}
		} else {
			free(key);
			goto syntax;
		}
		skip_ws(&p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p)
			goto syntax;
	}
	return 0;
syntax:
	ret = gerr_set(err, -EINVAL, "unable to parse %s selector \"%s\" near \"%.32s\"",
		       fields ? "field" : "label", s, p);
out:
	sel_free(out);
	return ret;
}

int sel_parse_labels(const char *s, struct selector *out, struct gerr *err)
{
	return parse(s, false, out, err);
}

int sel_parse_fields(const char *s, struct selector *out, struct gerr *err)
{
	return parse(s, true, out, err);
}

int sel_from_label_selector(const json_t *ls, struct selector *out, struct gerr *err)
{
	const char *k;
	json_t *v, *exprs;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!ls || json_is_null(ls))
		return 0;
	if (!json_is_object(ls))
		return gerr_set(err, -EINVAL, "label selector must be an object");
	json_object_foreach(json_object_get(ls, "matchLabels"), k, v) {
		if (!json_is_string(v)) {
			ret = gerr_set(err, -EINVAL, "matchLabels.%s must be a string", k);
			goto fail;
		}
		ret = add_req(out, strdup(k), SEL_EQ);
		if (!ret)
			ret = add_value(&out->reqs[out->n - 1], strdup(json_string_value(v)));
		if (ret)
			goto fail;
	}
	exprs = json_object_get(ls, "matchExpressions");
	json_array_foreach(exprs, i, v) {
		const char *key = json_string_value(json_object_get(v, "key"));
		const char *op = json_string_value(json_object_get(v, "operator"));
		json_t *vals = json_object_get(v, "values"), *x;
		enum sel_op sop;
		size_t j;

		if (!key || !op) {
			ret = gerr_set(err, -EINVAL, "matchExpressions[%zu]: key and operator are required", i);
			goto fail;
		}
		if (!strcmp(op, "In"))
			sop = SEL_IN;
		else if (!strcmp(op, "NotIn"))
			sop = SEL_NOTIN;
		else if (!strcmp(op, "Exists"))
			sop = SEL_EXISTS;
		else if (!strcmp(op, "DoesNotExist"))
			sop = SEL_NOTEXISTS;
		else {
			ret = gerr_set(err, -EINVAL, "matchExpressions[%zu].operator: \"%s\" is not a valid selector operator", i, op);
			goto fail;
		}
		if ((sop == SEL_IN || sop == SEL_NOTIN) && json_array_size(vals) == 0) {
			ret = gerr_set(err, -EINVAL, "matchExpressions[%zu].values: must be non-empty for In and NotIn", i);
			goto fail;
		}
		ret = add_req(out, strdup(key), sop);
		if (ret)
			goto fail;
		json_array_foreach(vals, j, x) {
			if (!json_is_string(x))
				continue;
			ret = add_value(&out->reqs[out->n - 1], strdup(json_string_value(x)));
			if (ret)
				goto fail;
		}
	}
	return 0;
fail:
	sel_free(out);
	return ret;
}

void sel_free(struct selector *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->reqs[i].key);
		for (int j = 0; j < s->reqs[i].n_values; j++)
			free(s->reqs[i].values[j]);
		free(s->reqs[i].values);
	}
	free(s->reqs);
	memset(s, 0, sizeof(*s));
}

static bool in_values(const struct sel_req *r, const char *v)
{
	for (int i = 0; i < r->n_values; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

static bool req_match(const struct sel_req *r, const char *v /* NULL = absent */)
{
	switch (r->op) {
	case SEL_EQ:
	case SEL_IN:
		return v && in_values(r, v);
	case SEL_NE:
	case SEL_NOTIN:
		return !v || !in_values(r, v);
	case SEL_EXISTS:
		return v != NULL;
	case SEL_NOTEXISTS:
		return v == NULL;
	}
	return false;
}

bool sel_match_labels(const struct selector *s, const json_t *labels)
{
	if (s->nothing)
		return false;
	for (int i = 0; i < s->n; i++) {
		const json_t *v = labels ? json_object_get(labels, s->reqs[i].key) : NULL;

		if (!req_match(&s->reqs[i], json_is_string(v) ? json_string_value(v) : NULL))
			return false;
	}
	return true;
}

const json_t *sel_lookup_path(const json_t *obj, const char *path)
{
	const json_t *cur = obj;
	const char *p = path;

	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		cur = json_object_getn(cur, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}

bool sel_match_fields(const struct selector *s, const json_t *obj)
{
	char num[64];

	if (s->nothing)
		return false;
	for (int i = 0; i < s->n; i++) {
		const json_t *v = sel_lookup_path(obj, s->reqs[i].key);
		const char *str = "";

		if (json_is_string(v)) {
			str = json_string_value(v);
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			str = num;
		} else if (json_is_boolean(v)) {
			str = json_is_true(v) ? "true" : "false";
		}
		/* Field selectors compare a missing field as the empty string. */
		if (!req_match(&s->reqs[i], str))
			return false;
	}
	return true;
}

bool sel_label_selector_matches(const json_t *ls, const json_t *labels)
{
	struct selector s;
	bool m;

	if (sel_from_label_selector(ls, &s, NULL))
		return false;
	m = sel_match_labels(&s, labels);
	sel_free(&s);
	return m;
}
