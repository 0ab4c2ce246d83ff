/* SPDX-License-Identifier: Apache-2.0 */
/* Maglev table unit tests (no root): evenness, independence from input
 * order, ~1/N disruption when one backend is removed or added, weights,
 * argument checks. */
#include <errno.h>
#include <stdlib.h>

#include "dataplane/maglev.h"
#include "tests/unit/test.h"

#define M 1021

static void mk(struct maglev_backend *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		b[i].key = maglev_backend_key(0x0a00f40a + (uint32_t)(i << 24), 8080, 6);
		b[i].weight = 1;
		b[i].id = 100 + (uint32_t)i;
	}
}

static void count(const uint32_t *t, uint32_t *cnt, size_t n)
{
	memset(cnt, 0, n * sizeof(*cnt));
	for (int s = 0; s < M; s++)
		if (t[s] >= 100 && t[s] < 100 + n)
			cnt[t[s] - 100]++;
}

static void test_even(void)
{
	struct maglev_backend b[10];
	uint32_t t[M], cnt[10], lo = M, hi = 0;

	mk(b, 10);
	CHECK_EQ(maglev_build(b, 10, t, M), 0);
	count(t, cnt, 10);
	for (int i = 0; i < 10; i++) {
		lo = cnt[i] < lo ? cnt[i] : lo;
		hi = cnt[i] > hi ? cnt[i] : hi;
	}
	/* one slot per turn: every backend gets floor or ceil of m/N */
	CHECK(hi - lo <= 1);
	CHECK_EQ(lo, M / 10);
	for (int s = 0; s < M; s++)
		CHECK(t[s] >= 100 && t[s] < 110);
}

static void test_order_independent(void)
{
	struct maglev_backend b[7], r[7];
	uint32_t t1[M], t2[M];

	mk(b, 7);
	for (int i = 0; i < 7; i++)
		r[i] = b[6 - i];
	CHECK_EQ(maglev_build(b, 7, t1, M), 0);
	CHECK_EQ(maglev_build(r, 7, t2, M), 0);
	CHECK(!memcmp(t1, t2, sizeof(t1)));
}

/* Remove one of N: all its slots move, and few others do (paper: close
 * to the 1/N minimum). */
static void test_removal_disruption(void)
{
	struct maglev_backend b[10];
	uint32_t before[M], after[M];
	int moved = 0, moved_other = 0;

	mk(b, 10);
	CHECK_EQ(maglev_build(b, 10, before, M), 0);
	b[3].weight = 0;           /* excluded = removed */
	CHECK_EQ(maglev_build(b, 10, after, M), 0);
	for (int s = 0; s < M; s++) {
		CHECK(after[s] != 103);
		if (before[s] != after[s]) {
			moved++;
			if (before[s] != 103)
				moved_other++;
		}
	}
	printf("  remove 1 of 10: %d/%d slots moved (%.1f%%), %d not owned by it\n",
	       moved, M, 100.0 * moved / M, moved_other);
	CHECK(moved >= M / 10);
	CHECK(moved < M * 15 / 100);     /* <= 1.5x the 1/N ideal */
	CHECK(moved_other < M * 5 / 100);
}

static void test_add_disruption(void)
{
	struct maglev_backend b[21];
	uint32_t before[M], after[M];
	int moved = 0;

	mk(b, 21);
	CHECK_EQ(maglev_build(b, 20, before, M), 0);
	CHECK_EQ(maglev_build(b, 21, after, M), 0);
	for (int s = 0; s < M; s++)
		if (before[s] != after[s])
			moved++;
	printf("  add 1 to 20: %d/%d slots moved (%.1f%%)\n", moved, M, 100.0 * moved / M);
	CHECK(moved >= M / 21);
	CHECK(moved < M * 2 / 21);
}

static void test_weights(void)
{
	struct maglev_backend b[3];
	uint32_t t[M], cnt[3];

	mk(b, 3);
	b[0].weight = 2;
	CHECK_EQ(maglev_build(b, 3, t, M), 0);
	count(t, cnt, 3);
	/* 2:1:1 -> about 510/255/255 */
	CHECK(cnt[0] > 480 && cnt[0] < 540);
	CHECK(cnt[1] > 230 && cnt[1] < 280);
	CHECK_EQ(cnt[0] + cnt[1] + cnt[2], M);
}

static void test_single_and_args(void)
{
	struct maglev_backend b[2];
	uint32_t t[M];

	mk(b, 2);
	CHECK_EQ(maglev_build(b, 1, t, M), 0);
	for (int s = 0; s < M; s++)
		CHECK_EQ(t[s], 100);
	CHECK_EQ(maglev_build(b, 2, t, 1000), -EINVAL);   /* not prime */
	CHECK_EQ(maglev_build(b, 0, t, M), -EINVAL);
	b[0].weight = b[1].weight = 0;
	CHECK_EQ(maglev_build(b, 2, t, M), -EINVAL);
	CHECK(maglev_is_prime(16381));
	CHECK(!maglev_is_prime(16383));
}

TEST_MAIN(T(test_even), T(test_order_independent), T(test_removal_disruption),
	  T(test_add_disruption), T(test_weights), T(test_single_and_args))
