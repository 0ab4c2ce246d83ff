/* SPDX-License-Identifier: Apache-2.0 */
/* Service ClusterIP and NodePort allocation. The stored Services are the
 * only record of what is allocated: every create/update of a Service lists
 * the stored Services under one process-wide mutex, derives the used IPs
 * and ports, picks free ones and the caller writes the Service before the
 * mutex is released. Nothing else is persisted, so a crash can never leak
 * an address or leave a bitmap out of step with the objects, a delete
 * releases at once, and a restart "rebuilds" by construction. The cost is
 * one list of Services per Service write (cheap next to the write itself at
 * the sizes Gannet targets). Limit: the mutex is per process, so two API
 * servers sharing an etcd could race; Gannet runs one server. */
#include "apiserver/apiserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static pthread_mutex_t svcalloc_mu = PTHREAD_MUTEX_INITIALIZER;

static struct svcalloc_cfg {
	uint32_t base;          /* network address, host order */
	int prefix;
	uint32_t size;          /* addresses in the range */
	int port_lo, port_hi;
	char cidr[64];
} cfg = { 0x0a600000u, 12, 1u << 20, 30000, 32767, "10.96.0.0/12" };

/* ---- configuration ------------------------------------------------------- */

int svcalloc_configure(const char *cidr, const char *port_range, struct gerr *err)
{
	if (cidr) {
		char ip[48];
		const char *slash = strchr(cidr, '/');
		struct in_addr a;
		int prefix;

		if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
			return gerr_set(err, -EINVAL, "--service-cluster-ip-range: '%s' is not a CIDR", cidr);
		snprintf(ip, sizeof(ip), "%.*s", (int)(slash - cidr), cidr);
		prefix = atoi(slash + 1);
		if (inet_pton(AF_INET, ip, &a) != 1 || prefix < 12 || prefix > 29)
			return gerr_set(err, -EINVAL,
					"--service-cluster-ip-range: '%s' must be an IPv4 CIDR from /12 to /29",
					cidr);
		cfg.prefix = prefix;
		cfg.size = 1u << (32 - prefix);
		cfg.base = ntohl(a.s_addr) & ~(cfg.size - 1);
		a.s_addr = htonl(cfg.base);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(cfg.cidr, sizeof(cfg.cidr), "%s/%d", ip, prefix);
	}
	if (port_range) {
		int lo, hi;

		if (sscanf(port_range, "%d-%d", &lo, &hi) != 2 || lo < 1 || hi > 65535 || lo > hi)
			return gerr_set(err, -EINVAL,
					"--service-node-port-range: '%s' is not LOW-HIGH within 1-65535",
					port_range);
		cfg.port_lo = lo;
		cfg.port_hi = hi;
	}
	return 0;
}

const char *svcalloc_cidr(void)
{
	return cfg.cidr;
}

/* The n-th address of the range ("10.96.0.1" for n = 1). */
void svcalloc_nth_ip(uint32_t n, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = htonl(cfg.base + n) };

	inet_ntop(AF_INET, &a, buf, len);
}

/* ---- used sets (pure) ------------------------------------------------------- */

struct svc_used {
	uint8_t *ips;           /* one bit per address of the range */
	uint8_t ports[65536 / 8];
};

static int used_init(struct svc_used *u)
{
	memset(u->ports, 0, sizeof(u->ports));
	u->ips = calloc(cfg.size / 8 + 1, 1);
	return u->ips ? 0 : -ENOMEM;
}

static bool bit(const uint8_t *m, uint32_t i)
{
	return m[i / 8] & (1u << (i % 8));
}

static void set_bit(uint8_t *m, uint32_t i)
{
	m[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Offset of ip in the range, or -1 if not an IPv4 address in it. */
static int64_t ip_offset(const char *ip)
{
	struct in_addr a;
	uint32_t h;

	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return -1;
	h = ntohl(a.s_addr);
	if ((h & ~(cfg.size - 1)) != cfg.base)
		return -1;
	return h - cfg.base;
}

static void used_add_service(struct svc_used *u, const json_t *svc)
{
	const json_t *spec = json_object_get(svc, "spec");
	int64_t off = ip_offset(json_string_value(json_object_get(spec, "clusterIP")));
	size_t i;
	json_t *p;

	if (off >= 0)
		set_bit(u->ips, (uint32_t)off);
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));

		if (np > 0 && np < 65536)
			set_bit(u->ports, (uint32_t)np);
	}
	json_int_t hc = json_integer_value(json_object_get(spec, "healthCheckNodePort"));
	if (hc > 0 && hc < 65536)
		set_bit(u->ports, (uint32_t)hc);
}

static uint32_t rnd32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)random();
	return r;
}

/* Random start, then the next free address: the network and broadcast
 * addresses, .1 (the kubernetes Service) and .10 (cluster DNS) are never
 * handed out dynamically; they can still be asked for by value. */
static int pick_ip(const struct svc_used *u, uint32_t *out)
{
	uint32_t start = rnd32() % cfg.size;

	for (uint32_t i = 0; i < cfg.size; i++) {
		uint32_t off = (start + i) % cfg.size;

		if (off == 0 || off == 1 || off == 10 || off == cfg.size - 1 || bit(u->ips, off))
			continue;
		*out = off;
		return 0;
	}
	return -ENOSPC;
}

static int pick_port(const struct svc_used *u, int *out)
{
	uint32_t n = (uint32_t)(cfg.port_hi - cfg.port_lo + 1);
	uint32_t start = rnd32() % n;

	for (uint32_t i = 0; i < n; i++) {
		int p = cfg.port_lo + (int)((start + i) % n);

		if (!bit(u->ports, (uint32_t)p)) {
			*out = p;
			return 0;
		}
	}
	return -ENOSPC;
}

/* ---- assignment ---------------------------------------------------------------- */

void svcalloc_lock(void)
{
	pthread_mutex_lock(&svcalloc_mu);
}

void svcalloc_unlock(void)
{
	pthread_mutex_unlock(&svcalloc_mu);
}

static bool is_external_type(const char *type)
{
	return type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"));
}

/* The nodePort the old object had for the same (port, protocol). */
static json_int_t old_node_port(const json_t *old, const json_t *p)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(json_object_get(old, "spec"), "ports"), i, o) {
		if (json_integer_value(json_object_get(o, "port")) ==
		    json_integer_value(json_object_get(p, "port")) &&
		    json_equal(json_object_get(o, "protocol"), json_object_get(p, "protocol")))
			return json_integer_value(json_object_get(o, "nodePort"));
	}
	return 0;
}

static bool old_has_node_port(const json_t *old, json_int_t np)
{
	const json_t *spec = json_object_get(old, "spec");
	size_t i;
	json_t *o;

	if (np <= 0)
		return false;
	json_array_foreach(json_object_get(spec, "ports"), i, o)
		if (json_integer_value(json_object_get(o, "nodePort")) == np)
			return true;
	return json_integer_value(json_object_get(spec, "healthCheckNodePort")) == np;
}

/* Checks a requested nodePort / assigns a free one. */
static int assign_port(struct svc_used *u, json_t *holder, const char *key, const json_t *old,
		       json_int_t np, const char *field, struct verr *ve)
{
	int p;

	if (np) {
		if (np < cfg.port_lo || np > cfg.port_hi) {
			verr_add(ve, "FieldValueInvalid", field,
				 "Invalid value: %" JSON_INTEGER_FORMAT ": provided port is not in the valid range. The range of valid ports is %d-%d",
				 np, cfg.port_lo, cfg.port_hi);
			return 0;
		}
		/* Ports this Service already held stay its own. */
		if (bit(u->ports, (uint32_t)np) && !old_has_node_port(old, np)) {
			verr_add(ve, "FieldValueInvalid", field,
				 "Invalid value: %" JSON_INTEGER_FORMAT ": provided port is already allocated",
				 np);
			return 0;
		}
		set_bit(u->ports, (uint32_t)np);
		return 0;
	}
	if (pick_port(u, &p)) {
		verr_add(ve, "FieldValueInvalid", field,
			 "Invalid value: 0: failed to allocate a nodePort: range is full");
		return 0;
	}
	set_bit(u->ports, (uint32_t)p);
	json_object_set_new(holder, key, json_integer(p));
	return 0;
}

/* Fills in clusterIP/clusterIPs and the nodePorts of svc (validated, with
 * defaults) against the used set u, which must not include svc itself. */
static int svcalloc_assign_with(struct svc_used *u, json_t *svc, const json_t *old, struct verr *ve)
{
	json_t *spec = json_object_get(svc, "spec");
	const json_t *ospec = json_object_get(old, "spec");
	const char *type = json_string_value(json_object_get(spec, "type")) ?: "ClusterIP";
	const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
	const char *ocip = json_string_value(json_object_get(ospec, "clusterIP"));
	bool external = is_external_type(type);
	char ipbuf[48];
	size_t i;
	json_t *p;

	if (!json_is_object(spec))
		return 0;
	if ((!cip || !*cip) && json_is_array(json_object_get(spec, "clusterIPs")))
		cip = json_string_value(json_array_get(json_object_get(spec, "clusterIPs"), 0));
	/* A PUT that leaves the allocated IP out keeps it (kubectl replace). */
	if ((!cip || !*cip) && ocip && *ocip && strcmp(type, "ExternalName"))
		cip = ocip;
	if (!strcmp(type, "ExternalName")) {
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
	} else if (cip && !strcmp(cip, "None")) {
		json_object_set_new(spec, "clusterIP", json_string("None"));
		json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
	} else if (cip && *cip) {
		int64_t off = ip_offset(cip);
		struct in_addr a;

		if (inet_pton(AF_INET, cip, &a) != 1) {
			verr_add(ve, "FieldValueInvalid", "spec.clusterIPs[0]",
				 "Invalid value: \"%s\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
				 cip);
		} else if (off < 0) {
			verr_add(ve, "FieldValueInvalid", "spec.clusterIPs",
				 "Invalid value: [\"%s\"]: failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s",
				 cip, cip, cip, cfg.cidr);
		} else if (bit(u->ips, (uint32_t)off) && !(ocip && !strcmp(ocip, cip))) {
			verr_add(ve, "FieldValueInvalid", "spec.clusterIPs",
				 "Invalid value: [\"%s\"]: failed to allocate IP %s: provided IP is already allocated",
				 cip, cip);
		} else {
			snprintf(ipbuf, sizeof(ipbuf), "%s", cip);
			set_bit(u->ips, (uint32_t)off);
			json_object_set_new(spec, "clusterIP", json_string(ipbuf));
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", ipbuf));
		}
	} else {
		uint32_t off;

		if (pick_ip(u, &off)) {
			verr_add(ve, "FieldValueInvalid", "spec.clusterIPs",
				 "Invalid value: []: failed to allocate a serviceIP: range is full");
		} else {
			set_bit(u->ips, off);
			svcalloc_nth_ip(off, ipbuf, sizeof(ipbuf));
			json_object_set_new(spec, "clusterIP", json_string(ipbuf));
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", ipbuf));
		}
	}
	if (strcmp(type, "ExternalName")) {
		if (!json_object_get(spec, "ipFamilies"))
			json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
		if (!json_object_get(spec, "ipFamilyPolicy"))
			json_object_set_new(spec, "ipFamilyPolicy", json_string("SingleStack"));
	}
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
		char f[64];

		snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
		if (!external) {
			/* Leaving NodePort: the ports it held go with it. */
			if (np && old_has_node_port(old, np)) {
				json_object_del(p, "nodePort");
			} else if (np) {
				verr_add(ve, "FieldValueForbidden", f,
					 "Forbidden: may not be used when `type` is '%s'", type);
			}
			continue;
		}
		if (!np)
			np = old_node_port(old, p);
		if (np)
			json_object_set_new(p, "nodePort", json_integer(np));
		assign_port(u, p, "nodePort", old, np, f, ve);
	}
	/* LoadBalancer + Local: kube-proxy style health check port. */
	if (!strcmp(type, "LoadBalancer") &&
	    !strcmp(json_string_value(json_object_get(spec, "externalTrafficPolicy")) ?: "", "Local")) {
		json_int_t hc = json_integer_value(json_object_get(spec, "healthCheckNodePort"));

		if (!hc)
			hc = json_integer_value(json_object_get(ospec, "healthCheckNodePort"));
		if (hc)
			json_object_set_new(spec, "healthCheckNodePort", json_integer(hc));
		assign_port(u, spec, "healthCheckNodePort", old, hc, "spec.healthCheckNodePort", ve);
	} else {
		json_object_del(spec, "healthCheckNodePort");
	}
	return 0;
}

int svcalloc_assign(struct apiserver *as, json_t *svc, const json_t *old, struct verr *ve,
		    struct gerr *err)
{
	const struct api_kind *k = reg_find("", "v1", "services");
	const json_t *md = json_object_get(svc, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace")) ?: "";
	const char *name = json_string_value(json_object_get(md, "name")) ?: "";
	struct store_list l = { 0 };
	struct svc_used u;
	char prefix[256], self[700];
	int ret;

	if (used_init(&u))
		return gerr_set(err, -ENOMEM, "out of memory");
	reg_prefix(k, NULL, prefix, sizeof(prefix));
	reg_key(k, ns, name, self, sizeof(self));
	ret = store_list(as->store, prefix, NULL, 0, &l, err);
	if (ret)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		json_t *o;
		json_error_t je;

		if (!strcmp(l.items[i].key, self))
			continue;
		o = json_loadb(l.items[i].value, l.items[i].len, 0, &je);
		if (o)
			used_add_service(&u, o);
		json_decref(o);
	}
	ret = svcalloc_assign_with(&u, svc, old, ve);
out:
	store_list_free(&l);
	free(u.ips);
	return ret;
}

/* ---- test hooks: the same decisions over an in-memory list ------------------ */

int svcalloc_assign_list(json_t *svc, const json_t *old, const json_t *others, struct verr *ve)
{
	struct svc_used u;
	size_t i;
	json_t *o;
	int ret;

	if (used_init(&u))
		return -ENOMEM;
	json_array_foreach(others, i, o)
		used_add_service(&u, o);
	ret = svcalloc_assign_with(&u, svc, old, ve);
	free(u.ips);
	return ret;
}
