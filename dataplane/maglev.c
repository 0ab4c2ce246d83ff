/* SPDX-License-Identifier: Apache-2.0 */
/* Maglev table population (paper's Pseudocode 1). Each backend has a
 * permutation of the slots given by offset + j * skip (mod m), both derived
 * from hashes of the backend's stable key, so the preference lists - and
 * therefore the table - depend only on the backend set, not on its order.
 * Weights: in each round a backend claims slots in proportion to its
 * weight (Katran's weighted variant) by accumulating credit. */
#include "dataplane/maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 finaliser: well-mixed, stable across builds and hosts (the
 * table must not change when the agent restarts). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t maglev_backend_key(uint32_t ip, uint16_t port, uint8_t proto)
{
	return ((uint64_t)ip << 32) | ((uint64_t)port << 8) | proto;
}

int maglev_is_prime(uint32_t m)
{
	if (m < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return 0;
	return 1;
}

static int cmp_key(const void *a, const void *b)
{
	const struct maglev_backend *x = *(const struct maglev_backend *const *)a;
	const struct maglev_backend *y = *(const struct maglev_backend *const *)b;

	return x->key < y->key ? -1 : x->key > y->key;
}

int maglev_build(const struct maglev_backend *b, size_t n, uint32_t *table, uint32_t m)
{
	const struct maglev_backend **order = NULL;
	uint32_t *offset = NULL, *skip = NULL, *next = NULL;
	uint64_t *credit = NULL;
	uint32_t filled = 0, maxw = 0;
	size_t live = 0;
	int ret = -ENOMEM;

	if (!maglev_is_prime(m) || n >= m)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (b[i].weight) {
			live++;
			if (b[i].weight > maxw)
				maxw = b[i].weight;
		}
	if (!live)
		return -EINVAL;
	order = calloc(live, sizeof(*order));
	offset = calloc(live, sizeof(*offset));
	skip = calloc(live, sizeof(*skip));
	next = calloc(live, sizeof(*next));
	credit = calloc(live, sizeof(*credit));
	if (!order || !offset || !skip || !next || !credit)
		goto out;

	/* Turn order must not depend on the caller's order either: ties
	 * (two backends preferring one slot in the same round) go to the
	 * earlier in turn order, so sort by key. */
	live = 0;
	for (size_t i = 0; i < n; i++)
		if (b[i].weight)
			order[live++] = &b[i];
	qsort(order, live, sizeof(*order), cmp_key);
	for (size_t i = 0; i < live; i++) {
		offset[i] = mix64(order[i]->key) % m;
		skip[i] = mix64(order[i]->key ^ 0x5bd1e9955bd1e995ULL) % (m - 1) + 1;
	}

	for (uint32_t s = 0; s < m; s++)
		table[s] = UINT32_MAX;
	while (filled < m) {
		for (size_t i = 0; i < live && filled < m; i++) {
			/* weighted: a backend takes a turn each time its
			 * accumulated credit reaches the largest weight */
			credit[i] += order[i]->weight;
			if (credit[i] < maxw)
				continue;
			credit[i] -= maxw;
			for (;;) {
				uint32_t c = (uint32_t)((offset[i] + (uint64_t)next[i] * skip[i]) % m);

				next[i]++;
				if (table[c] == UINT32_MAX) {
					table[c] = order[i]->id;
					filled++;
					break;
				}
			}
		}
	}
	ret = 0;
out:
	free(order);
	free(offset);
	free(skip);
	free(next);
	free(credit);
	return ret;
}
