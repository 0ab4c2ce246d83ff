/* SPDX-License-Identifier: Apache-2.0 */
/* A small string-keyed chained hash map for the policy engine's indexes
 * (pods, namespaces, identities, prefixes). Keys are copied; values are
 * the caller's. Grows by doubling; deletion is O(chain). */
#ifndef GANNET_POLICIES_HMAP_H
#define GANNET_POLICIES_HMAP_H

#include <stddef.h>

struct hmap_ent {
	char *key;
	void *val;
	struct hmap_ent *next;
};

struct hmap {
	struct hmap_ent **b;
	size_t nb, n;
};

void *pol_hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int pol_hmap_put(struct hmap *m, const char *key, void *val);
/* Removes; returns the old value or NULL. */
void *pol_hmap_del(struct hmap *m, const char *key);
void pol_hmap_free(struct hmap *m);

/* Iteration: for (size_t i = 0; i < m->nb; i++) for (e = m->b[i]; e; e = e->next) */

#endif
