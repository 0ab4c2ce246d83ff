/* SPDX-License-Identifier: Apache-2.0 */
/* Encoding of an endpoint's allow entries for the datapath (the LPM-trie
 * layout proposed in docs/policy.md) and a userspace reference of the
 * datapath's lookups, so that the encoding is tested against
 * pol_rules_allow() without a kernel. */
#include "policies/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define LPM_BASE_BITS 40        /* identity + proto: always matched exactly */

static void make_key(struct pol_lpm_key *k, uint32_t id, uint8_t proto, uint16_t port,
		     uint8_t port_bits)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = LPM_BASE_BITS + port_bits;
	k->identity_be = htonl(id);
	k->proto = proto;
	k->port_be[0] = port >> 8;
	k->port_be[1] = port & 0xff;
}

static bool key_eq(const struct pol_lpm_key *a, const struct pol_lpm_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

int pol_rules_lpm_keys(const struct pol_rules *r, struct pol_lpm_key *out, size_t max)
{
	struct pol_port_block blk[32];
	size_t n = 0;

	if (!r || !r->enforced)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct pol_entry *x = &r->entries[i];
		int nb = 1;

		if (x->proto == POL_PROTO_ANY && x->port_lo)
			return -EINVAL;         /* a port needs a protocol */
		if (x->port_lo && x->port_hi < x->port_lo)
			return -EINVAL;
		if (x->port_lo) {
			nb = pol_port_blocks(x->port_lo, x->port_hi, blk, 32);
		} else {
			blk[0].port = 0;
			blk[0].prefixlen = 0;
		}
		for (int b = 0; b < nb; b++) {
			struct pol_lpm_key k;
			bool dup = false;

			make_key(&k, x->identity, x->proto, blk[b].port, blk[b].prefixlen);
			/* entries are sorted by identity: duplicates are near */
			for (size_t j = n; j-- > 0 && j < max;) {
				if (out[j].identity_be != k.identity_be)
					break;
				if (key_eq(&out[j], &k)) {
					dup = true;
					break;
				}
			}
			if (dup)
				continue;
			if (n < max)
				out[n] = k;
			n++;
		}
	}
	return (int)n;
}

/* One LPM lookup: is there a key whose first prefixlen bits equal q's? */
static bool lpm_hit(const struct pol_lpm_key *keys, size_t n, const struct pol_lpm_key *q)
{
	uint16_t qport = (uint16_t)(q->port_be[0] << 8 | q->port_be[1]);

	for (size_t i = 0; i < n; i++) {
		const struct pol_lpm_key *k = &keys[i];
		uint16_t kport = (uint16_t)(k->port_be[0] << 8 | k->port_be[1]);
		uint32_t bits = k->prefixlen - LPM_BASE_BITS;
		uint16_t mask = bits ? (uint16_t)(0xffff << (16 - bits)) : 0;

		if (k->identity_be == q->identity_be && k->proto == q->proto &&
		    (kport & mask) == (qport & mask))
			return true;
	}
	return false;
}

bool pol_lpm_allow(const struct pol_lpm_key *keys, size_t n, uint32_t identity,
		   uint8_t proto, uint16_t port)
{
	const uint32_t ids[2] = { identity, POL_ID_ANY };
	const uint8_t protos[2] = { proto, POL_PROTO_ANY };
	struct pol_lpm_key q;

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			make_key(&q, ids[i], protos[j], port, 16);
			if (lpm_hit(keys, n, &q))
				return true;
		}
	return false;
}
