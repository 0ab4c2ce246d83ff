/* SPDX-License-Identifier: Apache-2.0 */
/* Tiny packet builder for BPF_PROG_RUN tests: push Ethernet, IPv4, UDP,
 * TCP, VXLAN and payload in order, then pkt_finish() fills every length and
 * IPv4 checksum from the innermost layer outwards (so an encapsulated
 * packet is built exactly as a real sender would). */
#ifndef GANNET_TEST_PKTBUILD_H
#define GANNET_TEST_PKTBUILD_H

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 2048
#define PKT_MAX_L3 4

struct pkt {
	uint8_t buf[PKT_MAX];
	size_t len;
	size_t ip_off[PKT_MAX_L3], udp_off[PKT_MAX_L3];
	int n_ip, n_udp;
};

static inline void *pkt_put(struct pkt *p, size_t n)
{
	void *h = p->buf + p->len;

	memset(h, 0, n);
	p->len += n;
	return h;
}

static inline void pkt_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6], uint16_t proto)
{
	struct ethhdr *e = pkt_put(p, sizeof(*e));

	memcpy(e->h_dest, dst, 6);
	memcpy(e->h_source, src, 6);
	e->h_proto = htons(proto);
}

static inline struct iphdr *pkt_ipv4(struct pkt *p, const char *src, const char *dst,
				     uint8_t proto, uint8_t ttl)
{
	struct iphdr *ip;

	p->ip_off[p->n_ip++] = p->len;
	ip = pkt_put(p, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = ttl;
	ip->protocol = proto;
	ip->id = htons(0x1234);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	return ip;
}

static inline void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	struct udphdr *u;

	p->udp_off[p->n_udp++] = p->len;
	u = pkt_put(p, sizeof(*u));
	u->source = htons(sport);
	u->dest = htons(dport);
}

static inline void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	struct tcphdr *t = pkt_put(p, sizeof(*t));

	t->source = htons(sport);
	t->dest = htons(dport);
	t->doff = 5;
	t->syn = 1;
	t->window = htons(65535);
}

static inline void pkt_vxlan(struct pkt *p, uint32_t vni, uint32_t flags)
{
	uint32_t *v = pkt_put(p, 8);

	v[0] = htonl(flags);
	v[1] = htonl(vni << 8);
}

static inline void pkt_payload(struct pkt *p, size_t n)
{
	uint8_t *d = pkt_put(p, n);

	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 7 + 1);
}

static inline uint16_t pkt_csum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Fills lengths and checksums, innermost first. */
static inline void pkt_finish(struct pkt *p)
{
	for (int i = p->n_udp - 1; i >= 0; i--) {
		struct udphdr *u = (struct udphdr *)(p->buf + p->udp_off[i]);

		u->len = htons((uint16_t)(p->len - p->udp_off[i]));
	}
	for (int i = p->n_ip - 1; i >= 0; i--) {
		struct iphdr *ip = (struct iphdr *)(p->buf + p->ip_off[i]);

		ip->tot_len = htons((uint16_t)(p->len - p->ip_off[i]));
		ip->check = 0;
		ip->check = pkt_csum(ip, ip->ihl * 4);
	}
}

#endif
