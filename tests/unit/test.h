/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal unit-test helpers: CHECK/CHECK_EQ record failures and keep going;
 * TEST_MAIN runs the listed test functions and prints "N passed, N failed". */
#ifndef GANNET_TEST_H
#define GANNET_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_checks, t_failed;

#define CHECK(cond) do { t_checks++; if (!(cond)) { t_failed++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); t_checks++; \
	if (_a != _b) { t_failed++; fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
	__FILE__, __LINE__, #a, _a, #b, _b); } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); t_checks++; \
	if (!_a || !_b || strcmp(_a, _b)) { t_failed++; fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", \
	__FILE__, __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); } } while (0)

struct t_case { const char *name; void (*fn)(void); };
#define T(fn) { #fn, fn }

static inline int t_run(const struct t_case *cases, size_t n)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		int before = t_failed;
		cases[i].fn();
		if (t_failed == before) { passed++; printf("ok   %s\n", cases[i].name); }
		else { failed++; printf("FAIL %s\n", cases[i].name); }
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
#define TEST_MAIN(...) int main(void) { static const struct t_case _c[] = { __VA_ARGS__ }; \
	return t_run(_c, sizeof(_c) / sizeof(_c[0])); }

#endif
