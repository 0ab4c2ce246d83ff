/* SPDX-License-Identifier: Apache-2.0 */
/* Link set-up with libnl-route-3 (see link.h).
 *
 * A netlink socket stays bound to the network namespace it was created in,
 * so entering another namespace costs one socket created there: the calling
 * thread setns()es in, opens the socket and setns()es straight back (a
 * thread's network namespace is its own; no helper thread, and the caller's
 * namespace is unchanged when the call returns). Calls for the caller's own
 * namespace (netns_fd -1) share one socket per thread, and link_ns_hold()
 * lets a group of calls into one pod namespace share one socket too. */
#include "dataplane/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

/* ---- sockets per namespace ----------------------------------------------- */

typedef int (*link_fn)(struct nl_sock *sk, void *arg, struct gerr *err);

/* A namespace as the kernel names it: nsfs device and inode. */
struct ns_id {
	dev_t dev;
	ino_t ino;
};

struct tsock {
	struct nl_sock *sk;
	struct ns_id ns;
};

/* Per thread: the socket of the thread's own namespace, and the socket of
 * the pod namespace held by link_ns_hold(). nl_sock is not thread-safe;
 * per-thread sockets need no lock. */
static __thread struct tsock t_own, t_held;
static pthread_key_t t_key;
static pthread_once_t t_once = PTHREAD_ONCE_INIT;

static void tsock_drop(struct tsock *t)
{
	nl_socket_free(t->sk);   /* NULL-safe */
	t->sk = NULL;
}

/* At thread exit: the key's value is only a marker that this thread has
 * sockets to close. */
static void t_exit(void *unused)
{
	(void)unused;
	tsock_drop(&t_own);
	tsock_drop(&t_held);
}

static void t_key_init(void)
{
	pthread_key_create(&t_key, t_exit);
}

static int ns_id_of_fd(int fd, struct ns_id *id)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

static int ns_id_self(struct ns_id *id)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st))
		return -errno;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

static bool ns_id_eq(const struct ns_id *a, const struct ns_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static int sock_open(struct nl_sock **out, struct gerr *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk)
		return gerr_set(err, -ENOMEM, "netlink socket alloc");
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0) {
		nl_socket_free(sk);
		return gerr_set(err, -EIO, "netlink connect: %s", nl_geterror(ret));
	}
	*out = sk;
	return 0;
}

/* A socket created inside netns_fd's namespace, the thread back home. */
static int sock_open_in(int netns_fd, struct nl_sock **out, struct gerr *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ret;

	if (self < 0)
		return gerr_set(err, -errno, "own netns: %s", strerror(errno));
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		ret = gerr_set(err, -errno, "setns: %s", strerror(errno));
		close(self);
		return ret;
	}
	ret = sock_open(out, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Every later call of this thread would act on the pod's
		 * namespace believing it is the node's: never continue. */
		pr_err("link: cannot return to the agent's network namespace: %s",
		       strerror(errno));
		abort();
	}
	close(self);
	return ret;
}

/* Runs fn with a socket in netns_fd's namespace (-1: the thread's own). A
 * socket that saw an error is not reused: a half-read reply must not
 * confuse the next request. */
static int in_netns(int netns_fd, link_fn fn, void *arg, struct gerr *err)
{
	struct tsock *t = NULL;   /* the cached socket used, or none: one for this call */
	struct nl_sock *sk;
	struct ns_id id;
	int ret;

	pthread_once(&t_once, t_key_init);
	if (netns_fd < 0) {
		/* the thread's namespace may have changed since (setns by
		 * other code): the cached socket must be from this one (with
		 * no /proc to tell, a socket for this call only) */
		if (!ns_id_self(&id))
			t = &t_own;
	} else {
		ret = ns_id_of_fd(netns_fd, &id);
		if (ret)
			return gerr_set(err, ret, "netns fd: %s", strerror(-ret));
		if (t_held.sk && ns_id_eq(&t_held.ns, &id))
			t = &t_held;
	}
	if (t == &t_own && (!t->sk || !ns_id_eq(&t->ns, &id))) {
		tsock_drop(t);
		ret = sock_open(&t->sk, err);
		if (ret)
			return ret;
		t->ns = id;
		pthread_setspecific(t_key, t);
	}
	if (t)
		sk = t->sk;
	else if ((ret = netns_fd < 0 ? sock_open(&sk, err) : sock_open_in(netns_fd, &sk, err)))
		return ret;
	ret = fn(sk, arg, err);
	if (!t)
		nl_socket_free(sk);
	else if (ret && ret != -ENODEV && ret != -ENOENT && ret != -EEXIST)
		tsock_drop(t);   /* not a plain "no"/"exists" answer */
	return ret;
}

int link_ns_hold(int netns_fd, struct gerr *err)
{
	struct ns_id id;
	int ret;

	pthread_once(&t_once, t_key_init);
	ret = ns_id_of_fd(netns_fd, &id);
	if (ret)
		return gerr_set(err, ret, "netns fd: %s", strerror(-ret));
	if (t_held.sk && ns_id_eq(&t_held.ns, &id))
		return 0;
	tsock_drop(&t_held);
	ret = sock_open_in(netns_fd, &t_held.sk, err);
	if (ret)
		return ret;
	t_held.ns = id;
	pthread_setspecific(t_key, &t_held);
	return 0;
}

void link_ns_release(void)
{
	tsock_drop(&t_held);
}

/* libnl error codes -> errno, for the cases callers branch on. */
static int nlerr(int e)
{
	switch (-e) {
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NODEV: return -ENODEV;
	case NLE_PERM: return -EPERM;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_INVAL: return -EINVAL;
	case NLE_BUSY: return -EBUSY;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	default: return -EIO;
	}
}

static int get_link(struct nl_sock *sk, const char *ifname, struct rtnl_link **out,
		    struct gerr *err)
{
	int ret = rtnl_link_get_kernel(sk, 0, ifname, out);

	if (ret < 0) {
		ret = nlerr(ret);
		if (ret == -ENOENT)
			ret = -ENODEV;
		return gerr_set(err, ret, "link %s: %s", ifname,
				ret == -ENODEV ? "no such device" : strerror(-ret));
	}
	return 0;
}

/* ifindex of ifname in sk's namespace: >0 or -errno. */
static int sk_ifindex(struct nl_sock *sk, const char *ifname, struct gerr *err)
{
	struct rtnl_link *l;
	int ret = get_link(sk, ifname, &l, err);

	if (ret)
		return ret;
	ret = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return ret;
}

static struct nl_addr *ip4_addr(uint32_t ip, uint8_t prefix)
{
	struct nl_addr *a = nl_addr_build(AF_INET, &ip, 4);

	if (a)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}

/* ---- veth ---------------------------------------------------------------- */

struct veth_args {
	const char *host, *peer;
	int netns_fd;
	unsigned mtu;
};

static int veth_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct veth_args *a = p;
	struct rtnl_link *link = NULL, *peer, *existing = NULL;
	int ret;

	if (rtnl_link_get_kernel(sk, 0, a->host, &existing) == 0) {
		rtnl_link_put(existing);
		return gerr_set(err, -EEXIST, "link %s already exists", a->host);
	}
	link = rtnl_link_veth_alloc();
	if (!link)
		return gerr_set(err, -ENOMEM, "veth alloc");
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, a->host);
	rtnl_link_set_name(peer, a->peer);
	if (a->mtu) {
		rtnl_link_set_mtu(link, a->mtu);
		rtnl_link_set_mtu(peer, a->mtu);
	}
	/* IFLA_NET_NS_FD on the peer: the kernel creates it directly in the
	 * pod netns, so there is never a window where it exists here. */
	if (a->netns_fd >= 0)
		rtnl_link_set_ns_fd(peer, a->netns_fd);
	rtnl_link_set_flags(link, IFF_UP);
	ret = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_veth_release(link);
	if (ret < 0) {
		ret = nlerr(ret);
		return gerr_set(err, ret, "create veth %s/%s: %s", a->host, a->peer,
				ret == -EEXIST ? "interface already exists" : strerror(-ret));
	}
	return 0;
}

int link_veth_create(const char *host_ifname, const char *peer_ifname,
		     int netns_fd, unsigned mtu, struct gerr *err)
{
	struct veth_args a = { host_ifname, peer_ifname, netns_fd, mtu };
	int ret;

	if (netns_fd >= 0) {
		ret = link_ifindex(peer_ifname, netns_fd, NULL);
		if (ret > 0)
			return gerr_set(err, -EEXIST, "%s already exists in the target netns",
					peer_ifname);
	}
	return in_netns(-1, veth_fn, &a, err);
}

/* ---- simple link ops ------------------------------------------------------ */

struct link_args {
	const char *ifname;
	uint8_t *mac;
	int ifindex;
	unsigned mtu;
};

static int delete_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct link_args *a = p;
	struct rtnl_link *l;
	int ret;

	ret = get_link(sk, a->ifname, &l, err);
	if (ret)
		return ret;
	ret = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	if (ret < 0)
		return gerr_set(err, nlerr(ret), "delete %s: %s", a->ifname, nl_geterror(ret));
	return 0;
}

int link_delete(const char *ifname, int netns_fd, struct gerr *err)
{
	struct link_args a = { .ifname = ifname };

	return in_netns(netns_fd, delete_fn, &a, err);
}

static int info_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct link_args *a = p;
	struct rtnl_link *l;
	struct nl_addr *ll;
	int ret;

	ret = get_link(sk, a->ifname, &l, err);
	if (ret)
		return ret;
	a->ifindex = rtnl_link_get_ifindex(l);
	a->mtu = rtnl_link_get_mtu(l);
	if (a->mac) {
		ll = rtnl_link_get_addr(l);
		if (!ll || nl_addr_get_len(ll) != 6) {
			rtnl_link_put(l);
			return gerr_set(err, -EINVAL, "%s has no Ethernet address", a->ifname);
		}
		memcpy(a->mac, nl_addr_get_binary_addr(ll), 6);
	}
	rtnl_link_put(l);
	return 0;
}

int link_ifindex(const char *ifname, int netns_fd, struct gerr *err)
{
	struct link_args a = { .ifname = ifname };
	int ret = in_netns(netns_fd, info_fn, &a, err);

	return ret ? ret : a.ifindex;
}

int link_get_mac(const char *ifname, int netns_fd, uint8_t mac[6], struct gerr *err)
{
	struct link_args a = { .ifname = ifname, .mac = mac };

	return in_netns(netns_fd, info_fn, &a, err);
}

int link_mtu(const char *ifname, int netns_fd, struct gerr *err)
{
	struct link_args a = { .ifname = ifname };
	int ret = in_netns(netns_fd, info_fn, &a, err);

	return ret ? ret : (int)a.mtu;
}

static int up_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct link_args *a = p;
	struct rtnl_link *l, *chg;
	int ret;

	ret = get_link(sk, a->ifname, &l, err);
	if (ret)
		return ret;
	chg = rtnl_link_alloc();
	if (!chg) {
		rtnl_link_put(l);
		return gerr_set(err, -ENOMEM, "link alloc");
	}
	rtnl_link_set_flags(chg, IFF_UP);
	ret = rtnl_link_change(sk, l, chg, 0);
	rtnl_link_put(chg);
	rtnl_link_put(l);
	if (ret < 0)
		return gerr_set(err, nlerr(ret), "set %s up: %s", a->ifname, nl_geterror(ret));
	return 0;
}

int link_set_up(const char *ifname, int netns_fd, struct gerr *err)
{
	struct link_args a = { .ifname = ifname };

	return in_netns(netns_fd, up_fn, &a, err);
}

/* ---- addresses, routes, neighbours ---------------------------------------- */

struct l3_args {
	const char *ifname;
	uint32_t ip, gw;
	uint8_t prefix;
	const uint8_t *mac;
	bool del;
};

static int addr_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct l3_args *a = p;
	struct rtnl_addr *addr = NULL;
	struct nl_addr *local = NULL;
	int ifindex, ret;

	ifindex = sk_ifindex(sk, a->ifname, err);
	if (ifindex < 0)
		return ifindex;
	addr = rtnl_addr_alloc();
	local = ip4_addr(a->ip, a->prefix);
	if (!addr || !local) {
		ret = gerr_set(err, -ENOMEM, "addr alloc");
		goto out;
	}
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, AF_INET);
	rtnl_addr_set_local(addr, local);
	rtnl_addr_set_prefixlen(addr, a->prefix);
	ret = rtnl_addr_add(sk, addr, NLM_F_REPLACE);
	if (ret < 0)
		ret = gerr_set(err, nlerr(ret), "add address to %s: %s", a->ifname,
			       nl_geterror(ret));
out:
	nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	return ret < 0 ? ret : 0;
}

int link_addr_add(const char *ifname, int netns_fd, uint32_t ip, uint8_t prefix_len,
		  struct gerr *err)
{
	struct l3_args a = { .ifname = ifname, .ip = ip, .prefix = prefix_len };

	return in_netns(netns_fd, addr_fn, &a, err);
}

static int route_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct l3_args *a = p;
	struct rtnl_route *r = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	int ifindex, ret;

	ifindex = sk_ifindex(sk, a->ifname, err);
	if (ifindex < 0)
		return ifindex;
	r = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = ip4_addr(a->ip, a->prefix);
	if (!r || !nh || !dst) {
		ret = gerr_set(err, -ENOMEM, "route alloc");
		goto out;
	}
	rtnl_route_set_family(r, AF_INET);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_dst(r, dst);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (a->gw) {
		gw = ip4_addr(a->gw, 32);
		if (!gw) {
			ret = gerr_set(err, -ENOMEM, "route alloc");
			goto out;
		}
		/* The gateway (169.254.1.1) is on no subnet of the pod:
		 * onlink tells the kernel to trust it is on the link. */
		rtnl_route_nh_set_gateway(nh, gw);
		rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
		rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	} else {
		rtnl_route_set_scope(r, RT_SCOPE_LINK);
	}
	rtnl_route_add_nexthop(r, nh);
	nh = NULL;
	if (a->del)
		ret = rtnl_route_delete(sk, r, 0);
	else
		ret = rtnl_route_add(sk, r, NLM_F_CREATE | NLM_F_REPLACE);
	if (ret < 0)
		ret = gerr_set(err, nlerr(ret), "%s route on %s: %s", a->del ? "delete" : "add",
			       a->ifname, nl_geterror(ret));
out:
	nl_addr_put(dst);
	nl_addr_put(gw);
	if (nh)
		rtnl_route_nh_free(nh);
	if (r)
		rtnl_route_put(r);
	return ret < 0 ? ret : 0;
}

int link_route_add(const char *ifname, int netns_fd, uint32_t dst, uint8_t prefix_len,
		   uint32_t gw, struct gerr *err)
{
	struct l3_args a = { .ifname = ifname, .ip = dst, .prefix = prefix_len, .gw = gw };

	return in_netns(netns_fd, route_fn, &a, err);
}

int link_route_del(const char *ifname, int netns_fd, uint32_t dst, uint8_t prefix_len,
		   struct gerr *err)
{
	struct l3_args a = { .ifname = ifname, .ip = dst, .prefix = prefix_len, .del = true };

	return in_netns(netns_fd, route_fn, &a, err);
}

static int neigh_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct l3_args *a = p;
	struct rtnl_neigh *n = NULL;
	struct nl_addr *dst = NULL, *ll = NULL;
	int ifindex, ret;

	ifindex = sk_ifindex(sk, a->ifname, err);
	if (ifindex < 0)
		return ifindex;
	n = rtnl_neigh_alloc();
	dst = ip4_addr(a->ip, 32);
	ll = nl_addr_build(AF_LLC, (void *)a->mac, 6);
	if (!n || !dst || !ll) {
		ret = gerr_set(err, -ENOMEM, "neigh alloc");
		goto out;
	}
	rtnl_neigh_set_ifindex(n, ifindex);
	rtnl_neigh_set_family(n, AF_INET);
	rtnl_neigh_set_dst(n, dst);
	rtnl_neigh_set_lladdr(n, ll);
	rtnl_neigh_set_state(n, NUD_PERMANENT);
	ret = rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_REPLACE);
	if (ret < 0)
		ret = gerr_set(err, nlerr(ret), "add neighbour on %s: %s", a->ifname,
			       nl_geterror(ret));
out:
	nl_addr_put(dst);
	nl_addr_put(ll);
	if (n)
		rtnl_neigh_put(n);
	return ret < 0 ? ret : 0;
}

int link_neigh_add_permanent(const char *ifname, int netns_fd, uint32_t ip,
			     const uint8_t mac[6], struct gerr *err)
{
	struct l3_args a = { .ifname = ifname, .ip = ip, .mac = mac };

	return in_netns(netns_fd, neigh_fn, &a, err);
}

/* ---- lookups (CHECK) --------------------------------------------------------- */

/*
 * Every lookup is the same walk: resolve the interface, dump one rtnetlink
 * table into a cache and let a kind-specific callback set found.
 */
struct has_args {
	const char *ifname;
	int ifindex;
	uint32_t ip, gw;
	uint8_t prefix;
	const uint8_t *mac;
	int found;
	int (*dump)(struct nl_sock *sk, struct nl_cache **cache);
	void (*match)(struct nl_object *obj, void *arg);
	const char *what;
};

static int has_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct has_args *a = p;
	struct nl_cache *cache;
	int ret;

	a->ifindex = sk_ifindex(sk, a->ifname, err);
	if (a->ifindex < 0)
		return a->ifindex;
	ret = a->dump(sk, &cache);
	if (ret < 0)
		return gerr_set(err, nlerr(ret), "%s dump: %s", a->what, nl_geterror(ret));
	nl_cache_foreach(cache, a->match, a);
	nl_cache_free(cache);
	return 0;
}

static int addr_dump(struct nl_sock *sk, struct nl_cache **cache)
{
	return rtnl_addr_alloc_cache(sk, cache);
}

static int route_dump(struct nl_sock *sk, struct nl_cache **cache)
{
	return rtnl_route_alloc_cache(sk, AF_INET, 0, cache);
}

static int neigh_dump(struct nl_sock *sk, struct nl_cache **cache)
{
	return rtnl_neigh_alloc_cache(sk, cache);
}

static void addr_has_cb(struct nl_object *obj, void *arg)
{
	struct has_args *a = arg;
	struct rtnl_addr *addr = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(addr);

	if (rtnl_addr_get_ifindex(addr) == a->ifindex && local &&
	    nl_addr_get_family(local) == AF_INET &&
	    !memcmp(nl_addr_get_binary_addr(local), &a->ip, 4))
		a->found = 1;
}

int link_addr_has(const char *ifname, int netns_fd, uint32_t ip, struct gerr *err)
{
	struct has_args a = { .ifname = ifname, .ip = ip, .dump = addr_dump,
			      .match = addr_has_cb, .what = "address" };
	int ret = in_netns(netns_fd, has_fn, &a, err);

	return ret ? ret : a.found;
}


static bool addr_is(struct nl_addr *a, uint32_t ip, int prefix)
{
	if (!a)
		return ip == 0 && prefix <= 0;
	if (prefix >= 0 && (int)nl_addr_get_prefixlen(a) != prefix)
		return false;
	if (nl_addr_get_len(a) == 0)
		return ip == 0;
	return nl_addr_get_len(a) == 4 && !memcmp(nl_addr_get_binary_addr(a), &ip, 4);
}

static void route_has_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct has_args *a = arg;
	struct rtnl_nexthop *nh;

	if (rtnl_route_get_family(r) != AF_INET || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
	    !addr_is(rtnl_route_get_dst(r), a->ip, a->prefix) || rtnl_route_get_nnexthops(r) < 1)
		return;
	nh = rtnl_route_nexthop_n(r, 0);
	if (rtnl_route_nh_get_ifindex(nh) != a->ifindex)
		return;
	if (a->gw && !addr_is(rtnl_route_nh_get_gateway(nh), a->gw, -1))
		return;
	a->found = 1;
}

int link_route_has(const char *ifname, int netns_fd, uint32_t dst, uint8_t prefix_len,
		   uint32_t gw, struct gerr *err)
{
	struct has_args a = { .ifname = ifname, .ip = dst, .prefix = prefix_len, .gw = gw,
			      .dump = route_dump, .match = route_has_cb, .what = "route" };
	int ret = in_netns(netns_fd, has_fn, &a, err);

	return ret ? ret : a.found;
}

static void neigh_has_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_neigh *n = (struct rtnl_neigh *)obj;
	struct has_args *a = arg;
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n);

	if (rtnl_neigh_get_ifindex(n) != a->ifindex || rtnl_neigh_get_family(n) != AF_INET ||
	    !addr_is(rtnl_neigh_get_dst(n), a->ip, -1) ||
	    !(rtnl_neigh_get_state(n) & NUD_PERMANENT) || !ll || nl_addr_get_len(ll) != 6 ||
	    memcmp(nl_addr_get_binary_addr(ll), a->mac, 6))
		return;
	a->found = 1;
}

int link_neigh_has_permanent(const char *ifname, int netns_fd, uint32_t ip,
			     const uint8_t mac[6], struct gerr *err)
{
	struct has_args a = { .ifname = ifname, .ip = ip, .mac = mac, .dump = neigh_dump,
			      .match = neigh_has_cb, .what = "neighbour" };
	int ret = in_netns(netns_fd, has_fn, &a, err);

	return ret ? ret : a.found;
}

/* ---- listing ------------------------------------------------------------------ */

struct list_args {
	const char *prefix;
	char (*names)[16];
	int max, n;
};

static void list_cb(struct nl_object *obj, void *arg)
{
	struct list_args *a = arg;
	const char *name = rtnl_link_get_name((struct rtnl_link *)obj);

	if (!name || strncmp(name, a->prefix, strlen(a->prefix)))
		return;
	if (a->n < a->max)
		snprintf(a->names[a->n], 16, "%s", name);
	a->n++;
}

static int list_fn(struct nl_sock *sk, void *p, struct gerr *err)
{
	struct list_args *a = p;
	struct nl_cache *cache;
	int ret;

	ret = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (ret < 0)
		return gerr_set(err, nlerr(ret), "link dump: %s", nl_geterror(ret));
	nl_cache_foreach(cache, list_cb, a);
	nl_cache_free(cache);
	return 0;
}

int link_list(const char *prefix, int netns_fd, char (*names)[16], int max,
	      struct gerr *err)
{
	struct list_args a = { .prefix = prefix, .names = names, .max = max };
	int ret = in_netns(netns_fd, list_fn, &a, err);

	return ret ? ret : a.n;
}
