/* SPDX-License-Identifier: Apache-2.0 */
/* IPAM: pure allocator over a node's pod CIDR and its flock-guarded on-disk
 * JSON store (see ipam.h). */
#include "agent/ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileutil.h"

/* ---- pure allocator ---------------------------------------------------- */

int ipam_init(struct ipam *p, uint32_t net, uint8_t prefix, struct gerr *err)
{
	uint32_t mask, hnet;

	memset(p, 0, sizeof(*p));
	if (prefix < 8 || prefix > 30)
		return gerr_set(err, -EINVAL, "pod CIDR prefix /%u not in /8../30", prefix);
	mask = 0xffffffffu << (32 - prefix);
	hnet = ntohl(net);
	if (hnet & ~mask)
		return gerr_set(err, -EINVAL, "pod CIDR has host bits set");
	p->net = net;
	p->prefix = prefix;
	/* .0 is the network, .1 is kept for the node, last is broadcast */
	p->first = hnet + 2;
	p->last = (hnet | ~mask) - 1;
	if (p->first > p->last)
		return gerr_set(err, -EINVAL, "pod CIDR /%u too small", prefix);
	return 0;
}

void ipam_free(struct ipam *p)
{
	free(p->allocs);
	p->allocs = NULL;
	p->n = p->cap = 0;
}

bool ipam_contains(const struct ipam *p, uint32_t ip)
{
	uint32_t h = ntohl(ip);

	return h >= p->first && h <= p->last;
}

struct ipam_alloc *ipam_find(struct ipam *p, const char *id, const char *ifname)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->allocs[i].id, id) &&
		    (!ifname || !strcmp(p->allocs[i].ifname, ifname)))
			return &p->allocs[i];
	return NULL;
}

struct ipam_alloc *ipam_find_ip(struct ipam *p, uint32_t ip)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->allocs[i].ip == ip)
			return &p->allocs[i];
	return NULL;
}

size_t ipam_free_count(const struct ipam *p)
{
	return (size_t)(p->last - p->first + 1) - p->n;
}

static int ipam_push(struct ipam *p, const struct ipam_alloc *a)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct ipam_alloc *n = realloc(p->allocs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->allocs = n;
		p->cap = cap;
	}
	p->allocs[p->n++] = *a;
	return 0;
}

static int ipam_check_key(const char *id, const char *ifname, struct gerr *err)
{
	if (!id || !*id || strlen(id) >= IPAM_ID_MAX)
		return gerr_set(err, -EINVAL, "container ID empty or longer than %d", IPAM_ID_MAX - 1);
	if (!ifname || !*ifname || strlen(ifname) >= IPAM_IFNAME_MAX)
		return gerr_set(err, -EINVAL, "ifname empty or longer than %d", IPAM_IFNAME_MAX - 1);
	return 0;
}

int ipam_reserve(struct ipam *p, const struct ipam_alloc *a, struct gerr *err)
{
	char buf[INET_ADDRSTRLEN];
	int ret;

	ret = ipam_check_key(a->id, a->ifname, err);
	if (ret)
		return ret;
	inet_ntop(AF_INET, &a->ip, buf, sizeof(buf));
	if (!ipam_contains(p, a->ip))
		return gerr_set(err, -ERANGE, "%s is outside the pool", buf);
	if (ipam_find_ip(p, a->ip))
		return gerr_set(err, -EEXIST, "%s is already allocated", buf);
	if (ipam_find(p, a->id, a->ifname))
		return gerr_set(err, -EEXIST, "%s/%s already has an address", a->id, a->ifname);
	ret = ipam_push(p, a);
	if (ret)
		return gerr_set(err, ret, "out of memory");
	return 0;
}

int ipam_allocate(struct ipam *p, const char *id, const char *ifname,
		  uint32_t *ip_out, struct gerr *err)
{
	struct ipam_alloc a = { 0 };
	uint32_t size = p->last - p->first + 1, cand;
	int ret;

	ret = ipam_check_key(id, ifname, err);
	if (ret)
		return ret;
	if (ipam_find(p, id, ifname))
		return gerr_set(err, -EEXIST, "%s/%s already has an address", id, ifname);
	cand = p->last_reserved >= p->first && p->last_reserved <= p->last ?
	       p->last_reserved : p->last;
	for (uint32_t i = 0; i < size; i++) {
		cand = cand >= p->last ? p->first : cand + 1;
		if (ipam_find_ip(p, htonl(cand)))
			continue;
		a.ip = htonl(cand);
		snprintf(a.id, sizeof(a.id), "%s", id);
		snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
		ret = ipam_push(p, &a);
		if (ret)
			return gerr_set(err, ret, "out of memory");
		p->last_reserved = cand;
		*ip_out = a.ip;
		return 0;
	}
	return gerr_set(err, -ENOSPC, "no free address in the pod CIDR");
}

int ipam_release(struct ipam *p, const char *id, const char *ifname)
{
	int released = 0;

	for (size_t i = 0; i < p->n;) {
		if (!strcmp(p->allocs[i].id, id) &&
		    (!ifname || !strcmp(p->allocs[i].ifname, ifname))) {
			p->allocs[i] = p->allocs[--p->n];
			released++;
			continue;
		}
		i++;
	}
	return released;
}

/* ---- JSON (de)serialisation -------------------------------------------- */

static void mac_fmt(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int mac_parse(const char *s, uint8_t m[6])
{
	unsigned v[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

char *ipam_to_json(const struct ipam *p)
{
	char ip[INET_ADDRSTRLEN], cidr[32], mac[18];
	json_t *root, *arr;
	uint32_t lr = htonl(p->last_reserved);
	char *out;

	inet_ntop(AF_INET, &p->net, ip, sizeof(ip));
	snprintf(cidr, sizeof(cidr), "%s/%u", ip, p->prefix);
	arr = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct ipam_alloc *a = &p->allocs[i];
		json_t *o;

		inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
		o = json_pack("{s:s, s:s, s:s}", "ip", ip, "containerID", a->id,
			      "ifname", a->ifname);
		if (a->has_mac) {
			mac_fmt(a->mac, mac);
			json_object_set_new(o, "mac", json_string(mac));
		}
		json_array_append_new(arr, o);
	}
	root = json_pack("{s:i, s:s, s:o}", "version", 1, "cidr", cidr,
			 "allocations", arr);
	if (p->last_reserved) {
		inet_ntop(AF_INET, &lr, ip, sizeof(ip));
		json_object_set_new(root, "lastReserved", json_string(ip));
	}
	out = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return out;
}

int ipam_from_json(struct ipam *p, const char *text, struct gerr *err)
{
	char want[32], ip[INET_ADDRSTRLEN];
	json_error_t jerr;
	json_t *root, *arr, *v;
	const char *cidr = NULL, *lr = NULL;
	uint32_t addr;
	size_t i;
	int ret = 0;

	root = json_loads(text, 0, &jerr);
	if (!root)
		return gerr_set(err, -EINVAL, "IPAM state: line %d: %s", jerr.line, jerr.text);
	inet_ntop(AF_INET, &p->net, ip, sizeof(ip));
	snprintf(want, sizeof(want), "%s/%u", ip, p->prefix);
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s?s, s:o}", "cidr", &cidr,
			   "lastReserved", &lr, "allocations", &arr) ||
	    !json_is_array(arr)) {
		ret = gerr_set(err, -EINVAL, "IPAM state: %s", jerr.text);
		goto out;
	}
	/* A changed pod CIDR would silently re-issue addresses still in use
	 * by pods of the old range: refuse instead. */
	if (strcmp(cidr, want)) {
		ret = gerr_set(err, -EINVAL, "IPAM state is for %s, config says %s", cidr, want);
		goto out;
	}
	if (lr && inet_pton(AF_INET, lr, &addr) == 1)
		p->last_reserved = ntohl(addr);
	json_array_foreach(arr, i, v) {
		struct ipam_alloc a = { 0 };
		const char *sip, *id, *ifn, *mac = NULL;

		if (json_unpack_ex(v, &jerr, 0, "{s:s, s:s, s:s, s?s}", "ip", &sip,
				   "containerID", &id, "ifname", &ifn, "mac", &mac) ||
		    inet_pton(AF_INET, sip, &a.ip) != 1) {
			ret = gerr_set(err, -EINVAL, "IPAM state: allocation %zu invalid", i);
			goto out;
		}
		snprintf(a.id, sizeof(a.id), "%s", id);
		snprintf(a.ifname, sizeof(a.ifname), "%s", ifn);
		if (mac && !mac_parse(mac, a.mac))
			a.has_mac = true;
		ret = ipam_reserve(p, &a, err);
		if (ret) {
			gerr_wrap(err, "IPAM state: allocation %zu", i);
			goto out;
		}
	}
out:
	json_decref(root);
	return ret;
}

/* ---- on-disk store ------------------------------------------------------ */

int ipam_store_init(struct ipam_store *s, const char *dir, uint32_t net,
		    uint8_t prefix, struct gerr *err)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->net = net;
	s->prefix = prefix;
	if (strlen(dir) > sizeof(s->path) - 16)
		return gerr_set(err, -ENAMETOOLONG, "state dir path too long");
	ret = fu_mkdir_p(dir, 0700);
	if (ret)
		return gerr_set(err, ret, "mkdir %s: %s", dir, strerror(-ret));
	snprintf(s->path, sizeof(s->path), "%s/ipam.json", dir);
	snprintf(s->lock_path, sizeof(s->lock_path), "%s/ipam.lock", dir);
	return 0;
}

int ipam_store_lock(struct ipam_store *s, struct ipam *p, struct gerr *err)
{
	char *text;
	int ret, rerr = 0;

	ret = ipam_init(p, s->net, s->prefix, err);
	if (ret)
		return ret;
	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return gerr_set(err, -errno, "open %s: %s", s->lock_path, strerror(errno));
	while (flock(s->lock_fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		ret = gerr_set(err, -errno, "flock %s: %s", s->lock_path, strerror(errno));
		goto fail;
	}
	rerr = fu_read_file(s->path, &text, NULL);
	if (rerr) {
		if (rerr == -ENOENT)
			return 0;
		ret = gerr_set(err, rerr, "read %s: %s", s->path, strerror(-rerr));
		goto fail;
	}
	ret = ipam_from_json(p, text, err);
	free(text);
	if (ret) {
		gerr_wrap(err, "%s", s->path);
		goto fail;
	}
	return 0;
fail:
	close(s->lock_fd);
	s->lock_fd = -1;
	ipam_free(p);
	return ret;
}

int ipam_store_save(struct ipam_store *s, const struct ipam *p, struct gerr *err)
{
	char *text = ipam_to_json(p);
	int ret;

	if (!text)
		return gerr_set(err, -ENOMEM, "serialise IPAM state");
	/* durable before the address is handed out: after a crash we see the
	 * old or the new state, never a truncated one, and never lose it */
	ret = fu_write_atomic(s->path, text, strlen(text), 0600, FU_FSYNC | FU_FSYNC_DIR);
	if (ret)
		gerr_set(err, ret, "write %s: %s", s->path, strerror(-ret));
	free(text);
	return ret;
}

void ipam_store_unlock(struct ipam_store *s, struct ipam *p)
{
	if (s->lock_fd >= 0) {
		flock(s->lock_fd, LOCK_UN);
		close(s->lock_fd);
		s->lock_fd = -1;
	}
	ipam_free(p);
}
