/* SPDX-License-Identifier: Apache-2.0 */
/* One BPF_PROG_RUN of a packet built with pktbuild.h, pinned objects,
 * addresses, per-CPU stat sums and emptying a map with 32-bit keys:
 * shared by the BPF tests (policy_test, test_lb) and the datapath
 * benches. */
#ifndef GANNET_TEST_PROGRUN_H
#define GANNET_TEST_PROGRUN_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lib/common.h"

#include "tests/bpf/pktbuild.h"

struct prun_result {
	int ret;                        /* program's return, -1000 if the run failed */
	uint8_t out[PKT_MAX + 256];     /* the packet as the program left it */
	uint32_t len;
};

/* Runs program fd once on in; r gets the verdict and output packet.
 * Returns bpf_prog_test_run_opts()'s result. */
static inline int prun(int fd, const struct pkt *in, struct prun_result *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->buf, .data_size_in = (uint32_t)in->len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);
	int err;

	memset(r, 0, sizeof(*r));
	err = bpf_prog_test_run_opts(fd, &o);
	r->ret = err ? -1000 : (int)o.retval;
	r->len = o.data_size_out;
	return err;
}

/* Dotted quad to a network-order address (0 when it does not parse). */
static inline uint32_t ip4(const char *s)
{
	uint32_t a = 0;

	inet_pton(AF_INET, s, &a);
	return a;
}

/* An fd for object name pinned by node in pin_root, or -errno. */
static inline int prun_pin_fd(const char *pin_root, const char *node, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s/%s", pin_root, node, name);
	return bpf_obj_get(p);
}

/* Packets counted under key in a per-CPU struct gnt_stat map (gnt_stats,
 * gnt_svc_stats), summed over the CPUs; 0 when the key is absent. */
static inline uint64_t prun_stat_packets(int fd, uint32_t key)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gnt_stat v[ncpu > 0 ? ncpu : 1];
	uint64_t n = 0;

	if (ncpu <= 0 || bpf_map_lookup_elem(fd, &key, v))
		return 0;
	for (int c = 0; c < ncpu; c++)
		n += v[c].packets;
	return n;
}

/* Deletes every entry of a map with uint32_t keys (the benches' fake
 * endpoints on lo, which dp_destroy must not touch). */
static inline void prun_map_clear_u32(int fd)
{
	uint32_t k, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		k = next;
		bpf_map_delete_elem(fd, &k);
	}
}

#endif
