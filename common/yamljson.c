/* SPDX-License-Identifier: Apache-2.0 */
/* YAML <-> JSON conversion on top of libyaml's event API and jansson (see
 * yamljson.h). The parser walks events with an explicit depth counter so that
 * hostile input (deep nesting, alias bombs) fails with a clear error instead
 * of exhausting the stack or memory. */
#include "common/yamljson.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* ---- parsing --------------------------------------------------------- */

struct yj_anchor {
	char *name;
	json_t *val;
	size_t weight;          /* expanded node count of val */
};

struct yj_parser {
	yaml_parser_t p;
	struct yj_limits lim;
	size_t nodes;           /* expanded nodes so far in this document */
	struct yj_anchor *anchors;
	size_t n_anchors, cap_anchors;
	struct gerr *err;
};

static int yj_fail(struct yj_parser *yp, int code, const yaml_mark_t *m,
		   const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	return gerr_set(yp->err, code, "line %zu, column %zu: %s",
			m ? m->line + 1 : 0, m ? m->column + 1 : 0, msg);
}

static int yj_next(struct yj_parser *yp, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&yp->p, ev)) {
		return gerr_set(yp->err, -EINVAL, "line %zu, column %zu: %s%s%s",
				yp->p.problem_mark.line + 1,
				yp->p.problem_mark.column + 1,
				yp->p.problem ? yp->p.problem : "YAML syntax error",
				yp->p.context ? " " : "",
				yp->p.context ? yp->p.context : "");
	}
	return 0;
}

static void yj_anchors_clear(struct yj_parser *yp)
{
	for (size_t i = 0; i < yp->n_anchors; i++) {
		free(yp->anchors[i].name);
		json_decref(yp->anchors[i].val);
	}
	yp->n_anchors = 0;
}

static int yj_anchor_add(struct yj_parser *yp, const char *name, json_t *val,
			 size_t weight)
{
	if (yp->n_anchors == yp->cap_anchors) {
		size_t cap = yp->cap_anchors ? yp->cap_anchors * 2 : 8;
		struct yj_anchor *a = realloc(yp->anchors, cap * sizeof(*a));

		if (!a)
			return gerr_set(yp->err, -ENOMEM, "out of memory");
		yp->anchors = a;
		yp->cap_anchors = cap;
	}
	/* A later anchor with the same name shadows the earlier one. */
	yp->anchors[yp->n_anchors].name = strdup(name);
	yp->anchors[yp->n_anchors].val = json_incref(val);
	yp->anchors[yp->n_anchors].weight = weight;
	yp->n_anchors++;
	return 0;
}

static struct yj_anchor *yj_anchor_find(struct yj_parser *yp, const char *name)
{
	for (size_t i = yp->n_anchors; i > 0; i--)
		if (!strcmp(yp->anchors[i - 1].name, name))
			return &yp->anchors[i - 1];
	return NULL;
}

static bool yj_is_int(const char *s, long long *out)
{
	char *end;
	int base = 10;
	const char *p = s;
	bool neg = false;

	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	if (!*p)
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'o') {
		base = 8;
		p += 2;
	}
	if (!*p)
		return false;
	for (const char *q = p; *q; q++) {
		if (base == 10 && !(*q >= '0' && *q <= '9'))
			return false;
		if (base == 8 && !(*q >= '0' && *q <= '7'))
			return false;
		if (base == 16 && !((*q >= '0' && *q <= '9') ||
				    (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))
			return false;
	}
	errno = 0;
	unsigned long long v = strtoull(p, &end, base);
	if (errno || *end || v > (unsigned long long)LLONG_MAX + neg)
		return false;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return true;
}

static bool yj_is_float(const char *s, double *out)
{
	const char *p = s;
	bool digit = false, dot_or_exp = false;

	if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") ||
	    !strcmp(s, "+.inf") || !strcmp(s, "-.inf") || !strcmp(s, ".nan") ||
	    !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return false;   /* JSON cannot carry them: keep as strings */
	if (*p == '+' || *p == '-')
		p++;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '.' || *p == 'e' || *p == 'E')
			dot_or_exp = true;
		else if ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E'))
			;
		else
			return false;
	}
	if (!digit || !dot_or_exp)
		return false;
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && !errno && isfinite(*out);
}

/* Plain scalar resolution, YAML 1.2 core schema (plus the YAML 1.1 spellings
 * of booleans that Kubernetes' sigs.k8s.io/yaml also accepts: yes/no/on/off
 * are NOT booleans there, so neither are they here). */
static json_t *yj_scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	long long iv;
	double dv;

	if (tag) {
		if (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!"))
			return json_stringn(s, len);
		if (!strcmp(tag, YAML_NULL_TAG))
			return json_null();
		if (!strcmp(tag, YAML_BOOL_TAG))
			return json_boolean(!strcasecmp(s, "true"));
		if (!strcmp(tag, YAML_INT_TAG) && yj_is_int(s, &iv))
			return json_integer(iv);
		if (!strcmp(tag, YAML_FLOAT_TAG) && yj_is_float(s, &dv))
			return json_real(dv);
	}
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || !strcmp(s, "~") || !strcmp(s, "null") ||
	    !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (yj_is_int(s, &iv))
		return json_integer(iv);
	if (yj_is_float(s, &dv))
		return json_real(dv);
	return json_stringn(s, len);
}

static int yj_count(struct yj_parser *yp, size_t n, const yaml_mark_t *m)
{
	yp->nodes += n;
	if (yp->nodes > yp->lim.max_nodes)
		return yj_fail(yp, -E2BIG, m,
			       "document too large (more than the node limit, alias bomb?)%s",
			       NULL);
	return 0;
}

/* Parses the node that starts with *ev (already read, owned by caller).
 * *weight receives the node's expanded size. */
static int yj_node(struct yj_parser *yp, yaml_event_t *ev, int depth,
		   json_t **out, size_t *weight)
{
	const char *anchor = NULL;
	json_t *val = NULL;
	size_t w = 1;
	int ret;

	*out = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		struct yj_anchor *a = yj_anchor_find(yp, (const char *)ev->data.alias.anchor);

		if (!a)
			return yj_fail(yp, -EINVAL, &ev->start_mark, "unknown alias *%s",
				       (const char *)ev->data.alias.anchor);
		ret = yj_count(yp, a->weight, &ev->start_mark);
		if (ret)
			return ret;
		*out = json_incref(a->val);
		*weight = a->weight;
		return 0;
	}
	case YAML_SCALAR_EVENT:
		anchor = (const char *)ev->data.scalar.anchor;
		ret = yj_count(yp, 1, &ev->start_mark);
		if (ret)
			return ret;
		val = yj_scalar(ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool is_map = ev->type == YAML_MAPPING_START_EVENT;

		anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
					       : ev->data.sequence_start.anchor);
		if (depth >= yp->lim.max_depth)
			return yj_fail(yp, -E2BIG, &ev->start_mark,
				       "nesting deeper than the limit%s", NULL);
		ret = yj_count(yp, 1, &ev->start_mark);
		if (ret)
			return ret;
		val = is_map ? json_object() : json_array();
		for (;;) {
			yaml_event_t kev, vev;
			json_t *k = NULL, *v = NULL;
			size_t kw = 0, vw = 0;

			ret = yj_next(yp, &kev);
			if (ret)
				goto fail;
			if (kev.type == YAML_SEQUENCE_END_EVENT ||
			    kev.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&kev);
				break;
			}
			ret = yj_node(yp, &kev, depth + 1, &k, &kw);
			yaml_mark_t kmark = kev.start_mark;
			yaml_event_delete(&kev);
			if (ret)
				goto fail;
			if (!is_map) {
				json_array_append_new(val, k);
				w += kw;
				continue;
			}
			ret = yj_next(yp, &vev);
			if (ret) {
				json_decref(k);
				goto fail;
			}
			ret = yj_node(yp, &vev, depth + 1, &v, &vw);
			yaml_event_delete(&vev);
			if (ret) {
				json_decref(k);
				goto fail;
			}
			w += kw + vw;
			if (json_is_string(k)) {
				if (!strcmp(json_string_value(k), "<<") && json_is_object(v)) {
					/* merge key: copy entries not already set */
					json_object_update_missing(val, v);
					json_decref(k);
					json_decref(v);
					continue;
				}
				json_object_set_new(val, json_string_value(k), v);
			} else if (json_is_integer(k) || json_is_real(k) ||
				   json_is_boolean(k) || json_is_null(k)) {
				/* JSON keys are strings; keep the textual form. */
				char *ks = json_dumps(k, JSON_ENCODE_ANY);

				json_object_set_new(val, ks ? ks : "", v);
				free(ks);
			} else {
				json_decref(k);
				json_decref(v);
				ret = yj_fail(yp, -EINVAL, &kmark,
					      "mapping keys must be scalars%s", NULL);
				goto fail;
			}
			json_decref(k);
		}
		break;
	fail:
		json_decref(val);
		return ret;
	}
	default:
		return yj_fail(yp, -EINVAL, &ev->start_mark, "unexpected YAML event%s",
			       NULL);
	}
	if (!val)
		return gerr_set(yp->err, -ENOMEM, "out of memory");
	if (anchor) {
		ret = yj_anchor_add(yp, anchor, val, w);
		if (ret) {
			json_decref(val);
			return ret;
		}
	}
	*out = val;
	*weight = w;
	return 0;
}

int yj_parse(const char *buf, size_t len, const struct yj_limits *limits,
	     json_t **docs_out, struct gerr *err)
{
	struct yj_parser yp = { .err = err };
	json_t *docs = json_array();
	yaml_event_t ev;
	int ret = 0;

	*docs_out = NULL;
	yp.lim.max_depth = limits && limits->max_depth ? limits->max_depth
						       : YJ_MAX_DEPTH_DEFAULT;
	yp.lim.max_nodes = limits && limits->max_nodes ? limits->max_nodes
						       : YJ_MAX_NODES_DEFAULT;
	if (!yaml_parser_initialize(&yp.p)) {
		json_decref(docs);
		return gerr_set(err, -ENOMEM, "cannot initialise YAML parser");
	}
	yaml_parser_set_input_string(&yp.p, (const unsigned char *)buf, len);
	for (;;) {
		ret = yj_next(&yp, &ev);
		if (ret)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_t nev;
			json_t *doc = NULL;
			size_t w;

			yaml_event_delete(&ev);
			ret = yj_next(&yp, &nev);
			if (ret)
				goto out;
			if (nev.type == YAML_DOCUMENT_END_EVENT) {
				yaml_event_delete(&nev);
				continue;
			}
			yp.nodes = 0;
			ret = yj_node(&yp, &nev, 0, &doc, &w);
			yaml_event_delete(&nev);
			yj_anchors_clear(&yp);
			if (ret)
				goto out;
			/* An empty document ("---" alone) parses as null: skip. */
			if (json_is_null(doc))
				json_decref(doc);
			else
				json_array_append_new(docs, doc);
			continue;
		}
		yaml_event_delete(&ev);
	}
out:
	yj_anchors_clear(&yp);
	free(yp.anchors);
	yaml_parser_delete(&yp.p);
	if (ret) {
		json_decref(docs);
		return ret;
	}
	*docs_out = docs;
	return 0;
}

int yj_parse_one(const char *buf, size_t len, const struct yj_limits *limits,
		 json_t **doc_out, struct gerr *err)
{
	json_t *docs;
	int ret = yj_parse(buf, len, limits, &docs, err);

	*doc_out = NULL;
	if (ret)
		return ret;
	if (json_array_size(docs) != 1) {
		ret = gerr_set(err, -EINVAL, "expected exactly one YAML document, got %zu",
			       json_array_size(docs));
		json_decref(docs);
		return ret;
	}
	*doc_out = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return 0;
}

/* ---- emitting -------------------------------------------------------- */

struct yj_buf {
	char *p;
	size_t len, cap;
};

static int yj_write(void *data, unsigned char *buffer, size_t size)
{
	struct yj_buf *b = data;

	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + size + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, buffer, size);
	b->len += size;
	b->p[b->len] = '\0';
	return 1;
}

/* A string must be quoted if reading it back as a plain scalar would give
 * something other than the same string. */
static bool yj_needs_quotes(const char *s, size_t len)
{
	long long iv;
	double dv;

	if (len == 0 || strlen(s) != len)
		return true;
	if (!strcmp(s, "~") || !strcasecmp(s, "null") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "false") || yj_is_int(s, &iv) || yj_is_float(s, &dv))
		return true;
	/* YAML 1.1 readers (older tools) treat these as booleans. */
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "no") || !strcasecmp(s, "on") ||
	    !strcasecmp(s, "off") || !strcasecmp(s, "y") || !strcasecmp(s, "n"))
		return true;
	if (s[0] == '.' && (!strcasecmp(s + 1, "inf") || !strcasecmp(s + 1, "nan")))
		return true;
	return false;
}

static int yj_emit_scalar(yaml_emitter_t *em, const char *s, size_t len,
			  bool quote)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)YAML_STR_TAG,
				     (yaml_char_t *)s, (int)len, !quote, 1,
				     quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
					   : YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
}

static int yj_emit_node(yaml_emitter_t *em, const json_t *v, int depth)
{
	yaml_event_t ev;
	char num[64];
	int ret;

	if (depth > 1000)
		return -E2BIG;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;

		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						    YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -EIO;
		json_object_foreach((json_t *)v, k, x) {
			ret = yj_emit_scalar(em, k, strlen(k), yj_needs_quotes(k, strlen(k)));
			if (!ret)
				ret = yj_emit_node(em, x, depth + 1);
			if (ret)
				return ret;
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;

		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -EIO;
		json_array_foreach(v, i, x) {
			ret = yj_emit_node(em, x, depth + 1);
			if (ret)
				return ret;
		}
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	}
	case JSON_STRING:
		return yj_emit_scalar(em, json_string_value(v), json_string_length(v),
				      yj_needs_quotes(json_string_value(v),
						      json_string_length(v)));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(num, sizeof(num), "true");
		break;
	case JSON_FALSE:
		snprintf(num, sizeof(num), "false");
		break;
	case JSON_NULL:
	default:
		snprintf(num, sizeof(num), "null");
		break;
	}
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)num,
				     (int)strlen(num), 1, 0, YAML_PLAIN_SCALAR_STYLE);
	return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
}

static int yj_emit_many(const json_t *const *docs, size_t n, char **out,
			size_t *len_out, struct gerr *err)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	struct yj_buf b = { 0 };
	int ret = 0;

	*out = NULL;
	if (!yaml_emitter_initialize(&em))
		return gerr_set(err, -ENOMEM, "cannot initialise YAML emitter");
	yaml_emitter_set_output(&em, yj_write, &b);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&em, &ev)) {
		ret = -EIO;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, i == 0);
		if (!yaml_emitter_emit(&em, &ev)) {
			ret = -EIO;
			goto out;
		}
		ret = yj_emit_node(&em, docs[i], 0);
		if (ret)
			goto out;
		yaml_document_end_event_initialize(&ev, 1);
		if (!yaml_emitter_emit(&em, &ev)) {
			ret = -EIO;
			goto out;
		}
	}
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&em, &ev))
		ret = -EIO;
out:
	if (ret) {
		gerr_set(err, ret, "YAML emit failed: %s",
			 em.problem ? em.problem : (ret == -E2BIG ? "too deep" : "I/O"));
		free(b.p);
	} else {
		if (!b.p)
			yj_write(&b, (unsigned char *)"", 0);
		*out = b.p;
		if (len_out)
			*len_out = b.len;
	}
	yaml_emitter_delete(&em);
	return ret;
}

int yj_emit(const json_t *doc, char **out, size_t *len_out, struct gerr *err)
{
	return yj_emit_many(&doc, 1, out, len_out, err);
}

int yj_emit_docs(const json_t *docs, char **out, size_t *len_out,
		 struct gerr *err)
{
	size_t n = json_array_size(docs);
	const json_t **v = calloc(n ? n : 1, sizeof(*v));
	int ret;

	if (!v)
		return gerr_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(docs, i);
	ret = yj_emit_many(v, n, out, len_out, err);
	free(v);
	return ret;
}
