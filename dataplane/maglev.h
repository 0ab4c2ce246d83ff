/* SPDX-License-Identifier: Apache-2.0 */
/* Maglev consistent hashing (Eisenbud et al., NSDI 2016; Katran's
 * MaglevBase): a lookup table of prime size m where every backend owns
 * about m/N slots (weighted: m*w/sum(w)), and removing one backend of N
 * moves about 1/N of the slots, only those the removed backend owned plus
 * a few neighbours. Pure: no BPF, no I/O; the dataplane copies the table
 * into a gnt_maglev slot. */
#ifndef GANNET_DP_MAGLEV_H
#define GANNET_DP_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

struct maglev_backend {
	uint64_t key;           /* stable identity, e.g. (ip << 32 | port << 8 | proto) */
	uint32_t weight;        /* 0 = excluded; 1 when unweighted */
	uint32_t id;            /* value written into the table */
};

/* Fills table[0..m) with backend ids. m must be prime and > n. Returns 0,
 * -EINVAL (bad m, no backend with weight) or -ENOMEM. */
int maglev_build(const struct maglev_backend *b, size_t n, uint32_t *table, uint32_t m);

/* Stable 64-bit key of an IPv4 backend (address/port in network order). */
uint64_t maglev_backend_key(uint32_t ip, uint16_t port, uint8_t proto);

int maglev_is_prime(uint32_t m);

#endif
