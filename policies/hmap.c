/* SPDX-License-Identifier: Apache-2.0 */
/* String-keyed hash map (see hmap.h), FNV-1a hashing. */
#include "policies/hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void *pol_hmap_get(const struct hmap *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct hmap_ent *e = m->b[hash(key) & (m->nb - 1)]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->val;
	return NULL;
}

static int grow(struct hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct hmap_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct hmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			size_t h = hash(e->key) & (nb - 1);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int pol_hmap_put(struct hmap *m, const char *key, void *val)
{
	struct hmap_ent *e;
	size_t h;

	if (m->nb) {
		for (e = m->b[hash(key) & (m->nb - 1)]; e; e = e->next) {
			if (!strcmp(e->key, key)) {
				e->val = val;
				return 0;
			}
		}
	}
	if (m->n + 1 > m->nb && grow(m))
		return -ENOMEM;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return -ENOMEM;
	}
	e->val = val;
	h = hash(key) & (m->nb - 1);
	e->next = m->b[h];
	m->b[h] = e;
	m->n++;
	return 0;
}

void *pol_hmap_del(struct hmap *m, const char *key)
{
	struct hmap_ent **pp, *e;
	void *v;

	if (!m->nb)
		return NULL;
	for (pp = &m->b[hash(key) & (m->nb - 1)]; (e = *pp); pp = &e->next) {
		if (!strcmp(e->key, key)) {
			*pp = e->next;
			v = e->val;
			free(e->key);
			free(e);
			m->n--;
			return v;
		}
	}
	return NULL;
}

void pol_hmap_free(struct hmap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct hmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}
