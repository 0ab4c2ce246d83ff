/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/yamljson: scalar typing, multi-document input,
 * errors with line numbers, nesting and alias-bomb limits, YAML round trip. */
#include <errno.h>
#include <stdlib.h>

#include "common/yamljson.h"
#include "tests/unit/test.h"

static json_t *parse1(const char *s)
{
	json_t *d = NULL;
	struct gerr e = { 0 };

	if (yj_parse_one(s, strlen(s), NULL, &d, &e))
		fprintf(stderr, "parse error: %s\n", e.msg);
	return d;
}

static void test_scalars(void)
{
	json_t *d = parse1("a: 1\nb: true\nc: \"1\"\nd: ~\ne: 1.5\nf: hello world\ng: '0x10'\nh: 0x10\ni: yes\n");

	CHECK(d != NULL);
	if (!d)
		return;
	CHECK(json_is_integer(json_object_get(d, "a")));
	CHECK(json_is_true(json_object_get(d, "b")));
	CHECK_STR(json_string_value(json_object_get(d, "c")), "1");
	CHECK(json_is_null(json_object_get(d, "d")));
	CHECK(json_is_real(json_object_get(d, "e")));
	CHECK_STR(json_string_value(json_object_get(d, "f")), "hello world");
	CHECK_STR(json_string_value(json_object_get(d, "g")), "0x10");
	CHECK_EQ(json_integer_value(json_object_get(d, "h")), 16);
	CHECK_STR(json_string_value(json_object_get(d, "i")), "yes");
	json_decref(d);
}

static void test_multidoc_and_json(void)
{
	const char *s = "---\nkind: A\n---\n---\nkind: B\nlist: [1, 2, {x: y}]\n...\n";
	json_t *docs = NULL;
	struct gerr e = { 0 };

	CHECK_EQ(yj_parse(s, strlen(s), NULL, &docs, &e), 0);
	CHECK_EQ(json_array_size(docs), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(docs, 1), "kind")), "B");
	json_decref(docs);
	json_t *j = parse1("{\"apiVersion\": \"v1\", \"n\": [1, 2.5, null, false]}");
	CHECK(j && json_array_size(json_object_get(j, "n")) == 4);
	json_decref(j);
}

static void test_errors(void)
{
	const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
	json_t *d = NULL;
	struct gerr e = { 0 };
	int ret = yj_parse(bad, strlen(bad), NULL, &d, &e);

	CHECK(ret == -EINVAL);
	CHECK(strstr(e.msg, "line ") != NULL);
	CHECK(d == NULL);

	/* deep nesting */
	char *deep = malloc(20000);
	size_t n = 0;
	for (int i = 0; i < 5000; i++)
		deep[n++] = '[';
	deep[n] = 0;
	struct gerr e2 = { 0 };
	CHECK(yj_parse(deep, n, NULL, &d, &e2) != 0);
	free(deep);

	/* alias bomb: 9 levels of 10x expansion */
	const char *bomb =
		"a: &a [x,x,x,x,x,x,x,x,x,x]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
	struct gerr e3 = { 0 };
	CHECK_EQ(yj_parse(bomb, strlen(bomb), NULL, &d, &e3), -E2BIG);

	/* small aliases are fine */
	json_t *ok = parse1("base: &b {x: 1}\nuse: *b\nm:\n  <<: *b\n  y: 2\n");
	CHECK(ok && json_integer_value(json_object_get(json_object_get(ok, "use"), "x")) == 1);
	CHECK(ok && json_integer_value(json_object_get(json_object_get(ok, "m"), "x")) == 1);
	json_decref(ok);
}

static void test_roundtrip(void)
{
	json_t *src = json_pack("{s:s, s:s, s:i, s:b, s:n, s:[s,s,s], s:{s:s}, s:s}",
				"name", "x", "num", "123", "int", 7, "b", 1, "nul",
				"l", "true", "a: b", "- x", "o", "k", "v", "e", "");
	char *y = NULL;
	struct gerr e = { 0 };

	CHECK_EQ(yj_emit(src, &y, NULL, &e), 0);
	json_t *back = y ? parse1(y) : NULL;
	CHECK(back && json_equal(src, back));
	if (back && !json_equal(src, back))
		fprintf(stderr, "yaml was:\n%s\n", y);
	free(y);
	json_decref(back);
	json_t *docs = json_pack("[{s:i},{s:i}]", "a", 1, "b", 2);
	CHECK_EQ(yj_emit_docs(docs, &y, NULL, &e), 0);
	json_t *back2 = NULL;
	CHECK_EQ(yj_parse(y, strlen(y), NULL, &back2, &e), 0);
	CHECK(back2 && json_equal(docs, back2));
	free(y);
	json_decref(back2);
	json_decref(docs);
	json_decref(src);
}

TEST_MAIN(T(test_scalars), T(test_multidoc_and_json), T(test_errors), T(test_roundtrip))
