/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-pktgen: in-kernel UDP packet generator and delivered-packet counter
 * for benchmarking a packet path (a pod's eth0 to another pod, through
 * whatever datapath sits in between).
 *
 * The kernel's pktgen module is often absent (containers, minimal kernels),
 * so the default engine runs an XDP program with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES: the kernel builds each frame from our template
 * and the program's XDP_TX transmits it out of the chosen device, at
 * millions of frames per second per core, with no socket or syscall per
 * packet. Where /proc/net/pktgen exists, --engine kernel drives that
 * instead. The sink attaches a counting-drop program (tc ingress or XDP) to
 * the receiving device and reports *delivered* packets per second.
 *
 *   gannet-pktgen send --netns podA --dev eth0 --dst-ip 10.244.1.3 -d 5
 *   gannet-pktgen sink --netns podB --dev eth0 -d 5
 *   gannet-pktgen run  --netns podA --dev eth0 --dst-ip 10.244.1.3 \
 *                      --sink-netns podB --sink-dev eth0 -d 5 --json
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "common/log.h"
#include "pktgen.skel.h"

#define PKTGEN_MIN_SIZE 60	/* eth + ip + udp + a little payload (no FCS) */
#define PKTGEN_MAX_SIZE 1514
#define PKTGEN_MAX_THREADS 64
#define PKTGEN_TC_HANDLE 0xbe5
#define PKTGEN_TC_PRIO 1

/* ------------------------------------------------------------ options */

struct pg_opts {
	const char *netns, *dev;
	const char *sink_netns, *sink_dev;
	const char *engine;       /* auto | live | kernel */
	const char *sink_mode;    /* tc | xdp */
	const char *redirect_dev; /* XDP_REDIRECT target instead of XDP_TX */
	uint8_t src_mac[6], dst_mac[6];
	bool have_src_mac, have_dst_mac;
	struct in_addr src_ip, dst_ip;
	bool have_src_ip, have_dst_ip;
	unsigned sport, dport, flows, size, threads, batch;
	unsigned long long count;
	double duration, interval;
	int cpus[PKTGEN_MAX_THREADS];
	unsigned ncpus;
	bool json;
};

static volatile sig_atomic_t pg_stop;

static void pg_on_signal(int sig)
{
	(void)sig;
	pg_stop = 1;
}

static double pg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pg_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -EINVAL;
		mac[i] = v[i];
	}
	return 0;
}

static int pg_parse_cpus(const char *s, struct pg_opts *o)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (!dup)
		return -ENOMEM;
	o->ncpus = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int a, b;

		if (sscanf(tok, "%d-%d", &a, &b) != 2) {
			if (sscanf(tok, "%d", &a) != 1) {
				rc = -EINVAL;
				goto out;
			}
			b = a;
		}
		for (int c = a; c <= b; c++) {
			if (c < 0 || o->ncpus >= PKTGEN_MAX_THREADS) {
				rc = -EINVAL;
				goto out;
			}
			o->cpus[o->ncpus++] = c;
		}
	}
out:
	free(dup);
	return rc;
}

/* ------------------------------------------------------------ netns and devices */

/* Moves the calling thread into a network namespace given as a name under
 * /run/netns or a path (/proc/PID/ns/net). NULL = stay. */
static int pg_setns(const char *netns, struct gerr *err)
{
	char path[512];
	int fd, rc = 0;

	if (!netns)
		return 0;
	if (strchr(netns, '/'))
		snprintf(path, sizeof(path), "%s", netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gerr_set(err, -errno, "open netns %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		rc = gerr_set(err, -errno, "setns %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int pg_dev_info(const char *dev, int *ifindex, uint8_t mac[6],
		       struct in_addr *addr, struct gerr *err)
{
	struct ifreq ifr = { 0 };
	int fd, rc = 0;

	*ifindex = if_nametoindex(dev);
	if (!*ifindex)
		return gerr_set(err, -ENODEV, "no device %s in this netns", dev);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return gerr_set(err, -errno, "socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (mac) {
		if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
			rc = gerr_set(err, -errno, "%s: no MAC: %s", dev, strerror(errno));
			goto out;
		}
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (addr) {
		if (ioctl(fd, SIOCGIFADDR, &ifr)) {
			rc = gerr_set(err, -errno, "%s has no IPv4 address (use --src-ip)", dev);
			goto out;
		}
		*addr = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	}
out:
	close(fd);
	return rc;
}

/* Next hop towards dst on dev from the routing table (longest prefix).
 * /proc/thread-self, not /proc/self: only this thread may have setns()'d. */
static int pg_nexthop(const char *dev, struct in_addr dst, struct in_addr *nh)
{
	FILE *f = fopen("/proc/thread-self/net/route", "r");
	char line[256], ifn[IFNAMSIZ + 1];
	unsigned d, g, flags, refc, use, metric, mask;
	int best = -1;

	if (!f)
		return -errno;
	nh->s_addr = dst.s_addr;
	/* Values are printed as the raw network-order u32: compare as is. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16s %x %x %x %u %u %u %x", ifn, &d, &g, &flags,
			   &refc, &use, &metric, &mask) != 8)
			continue;
		if (strcmp(ifn, dev) || (dst.s_addr & mask) != d)
			continue;
		if (__builtin_popcount(mask) > best) {
			best = __builtin_popcount(mask);
			nh->s_addr = g ? g : dst.s_addr;
		}
	}
	fclose(f);
	return 0;
}

static int pg_arp_lookup(const char *dev, struct in_addr ip, uint8_t mac[6])
{
	FILE *f = fopen("/proc/thread-self/net/arp", "r");
	char line[256], ipstr[64], hw[64], mask[64], ifn[IFNAMSIZ + 1];
	unsigned type, flags;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct in_addr a;

		if (sscanf(line, "%63s 0x%x 0x%x %63s %63s %16s", ipstr, &type, &flags,
			   hw, mask, ifn) != 6)
			continue;
		if (strcmp(ifn, dev) || !inet_aton(ipstr, &a) || a.s_addr != ip.s_addr)
			continue;
		if (!(flags & 0x6))	/* ATF_COM | ATF_PERM: resolved */
			continue;
		if (!pg_parse_mac(hw, mac))
			rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

/* Destination MAC for dst out of dev: the next hop's neighbour entry; if
 * there is none yet, one UDP datagram makes the kernel resolve it. */
static int pg_resolve_mac(const char *dev, struct in_addr dst, unsigned dport,
			  uint8_t mac[6], struct gerr *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = dst,
				  .sin_port = htons(dport) };
	struct in_addr nh;
	int rc, fd;

	rc = pg_nexthop(dev, dst, &nh);
	if (rc)
		return gerr_set(err, rc, "read routes: %s", strerror(-rc));
	if (!pg_arp_lookup(dev, nh, mac))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev));
		sendto(fd, "", 0, 0, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
	for (int i = 0; i < 20; i++) {
		usleep(50000);
		if (!pg_arp_lookup(dev, nh, mac))
			return 0;
	}
	return gerr_set(err, -EHOSTUNREACH, "no neighbour entry for next hop %s on %s "
			"(use --dst-mac)", inet_ntoa(nh), dev);
}

/* ------------------------------------------------------------ frame */

static uint16_t pg_csum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* Ethernet + IPv4 + UDP (checksum 0: allowed for IPv4, and lets the XDP
 * program vary the source port for free) + zeroed payload, size bytes. */
static void pg_build_frame(const struct pg_opts *o, uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	unsigned iplen = o->size - 14, udplen = iplen - 20;
	uint16_t v;

	memset(f, 0, o->size);
	memcpy(f, o->dst_mac, 6);
	memcpy(f + 6, o->src_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	v = htons(iplen);
	memcpy(ip + 2, &v, 2);
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &o->src_ip, 4);
	memcpy(ip + 16, &o->dst_ip, 4);
	v = pg_csum(ip, 20);
	memcpy(ip + 10, &v, 2);
	v = htons(o->sport);
	memcpy(udp, &v, 2);
	v = htons(o->dport);
	memcpy(udp + 2, &v, 2);
	v = htons(udplen);
	memcpy(udp + 4, &v, 2);
}

/* ------------------------------------------------------------ live-frames engine */

/* Sum of a per-CPU {packets, bytes} counter (the sink's map). */
static int pg_count_read(int map_fd, unsigned long long *pkts, unsigned long long *bytes)
{
	int ncpu = libbpf_num_possible_cpus();
	struct { uint64_t packets, bytes; } *vals;
	unsigned long long p = 0, b = 0;
	uint32_t k = 0;
	int rc = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &k, vals)) {
		rc = -errno;
		goto out;
	}
	for (int i = 0; i < ncpu; i++) {
		p += vals[i].packets;
		b += vals[i].bytes;
	}
	*pkts = p;
	if (bytes)
		*bytes = b;
out:
	free(vals);
	return rc;
}

struct pg_thread {
	pthread_t tid;
	const struct pg_opts *o;
	int prog_fd, ifindex, cpu;
	const uint8_t *frame;
	unsigned long long quota;     /* frames for this thread; 0 = until time */
	double deadline;
	unsigned long long sent;
	int rc;
	char msg[256];
};

static void *pg_tx_thread(void *arg)
{
	struct pg_thread *t = arg;
	/* The kernel insists that data_end matches the template's size. */
	struct xdp_md ctx = { .data_end = t->o->size, .ingress_ifindex = t->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, ro,
		.data_in = t->frame,
		.data_size_in = t->o->size,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = t->o->batch,
	);
	unsigned long long chunk = 1 << 14;

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	while (!pg_stop) {
		double t0 = pg_now();

		if (t->quota && t->sent + chunk > t->quota)
			chunk = t->quota - t->sent;
		if (!chunk)
			break;
		ro.repeat = chunk;
		if (bpf_prog_test_run_opts(t->prog_fd, &ro)) {
			/* Ctrl-C interrupts the run; the frames of that last
			 * call are not counted (the kernel does not say how
			 * many went out). */
			if (errno == EINTR && pg_stop)
				break;
			t->rc = -errno;
			snprintf(t->msg, sizeof(t->msg), "BPF_PROG_RUN live frames: %s",
				 strerror(errno));
			break;
		}
		t->sent += chunk;
		if (!t->quota && pg_now() >= t->deadline)
			break;
		/* Each call sets up and tears down a page pool (~10-20 ms
		 * here), so calls must be long: aim for 50-100 ms, short
		 * enough to stop on time. */
		double dt = pg_now() - t0;

		if (dt < 0.05 && chunk < (1ULL << 26))
			chunk *= 2;
		else if (dt > 0.2 && chunk > 1024)
			chunk /= 2;
	}
	return NULL;
}

struct pg_result {
	unsigned long long sent, delivered, delivered_bytes;
	double seconds;
	bool have_sink;
	const char *engine;
};

/* ------------------------------------------------------------ sink */

struct pg_sink {
	struct pktgen_bpf *skel;
	struct bpf_link *xdp_link;
	struct bpf_tc_hook hook;
	bool tc_attached, hook_created;
	int ifindex;
};

static int pg_sink_read(struct pg_sink *s, unsigned long long *pkts,
			unsigned long long *bytes)
{
	return pg_count_read(bpf_map__fd(s->skel->maps.sink_counts), pkts, bytes);
}

/* Attaches in the calling thread's netns. */
static int pg_sink_attach(struct pg_sink *s, const struct pg_opts *o, struct gerr *err)
{
	const char *dev = o->sink_dev ? o->sink_dev : o->dev;
	int rc;

	s->ifindex = if_nametoindex(dev);
	if (!s->ifindex)
		return gerr_set(err, -ENODEV, "sink: no device %s", dev);
	s->skel = pktgen_bpf__open();
	if (!s->skel)
		return gerr_set(err, -errno, "sink: open BPF object");
	s->skel->rodata->sink_dport = o->dport;
	rc = pktgen_bpf__load(s->skel);
	if (rc)
		return gerr_set(err, rc, "sink: load BPF: %s", strerror(-rc));
	if (!strcmp(o->sink_mode, "xdp")) {
		/* A link, not a plain attach: it goes away with us, and it
		 * fails instead of replacing someone else's program. */
		s->xdp_link = bpf_program__attach_xdp(s->skel->progs.pktgen_sink_xdp, s->ifindex);
		if (!s->xdp_link)
			return gerr_set(err, -errno, "sink: attach XDP to %s: %s", dev,
					strerror(errno));
		return 0;
	}
	memset(&s->hook, 0, sizeof(s->hook));
	s->hook.sz = sizeof(s->hook);
	s->hook.ifindex = s->ifindex;
	s->hook.attach_point = BPF_TC_INGRESS;
	rc = bpf_tc_hook_create(&s->hook);
	if (rc && rc != -EEXIST)
		return gerr_set(err, rc, "sink: clsact on %s: %s", dev, strerror(-rc));
	s->hook_created = !rc;
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = PKTGEN_TC_HANDLE, .priority = PKTGEN_TC_PRIO,
		    .prog_fd = bpf_program__fd(s->skel->progs.pktgen_sink_tc));
	rc = bpf_tc_attach(&s->hook, &to);
	if (rc)
		return gerr_set(err, rc, "sink: tc attach on %s: %s", dev, strerror(-rc));
	s->tc_attached = true;
	return 0;
}

/* Detaches in the calling thread's netns (the one it was attached in). */
static void pg_sink_detach(struct pg_sink *s)
{
	if (s->xdp_link)
		bpf_link__destroy(s->xdp_link);
	if (s->tc_attached) {
		LIBBPF_OPTS(bpf_tc_opts, to, .handle = PKTGEN_TC_HANDLE,
			    .priority = PKTGEN_TC_PRIO);
		bpf_tc_detach(&s->hook, &to);
	}
	if (s->hook_created) {
		s->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&s->hook);
	}
	if (s->skel)
		pktgen_bpf__destroy(s->skel);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ sender */

/* Fills MACs/IPs from the device when not given. In the sender's netns. */
static int pg_prepare(struct pg_opts *o, int *ifindex, struct gerr *err)
{
	uint8_t mac[6];
	struct in_addr a;
	int rc;

	if (!o->have_dst_ip)
		return gerr_set(err, -EINVAL, "--dst-ip is required");
	rc = pg_dev_info(o->dev, ifindex, mac, o->have_src_ip ? NULL : &a, err);
	if (rc)
		return rc;
	if (!o->have_src_mac)
		memcpy(o->src_mac, mac, 6);
	if (!o->have_src_ip)
		o->src_ip = a;
	if (!o->have_dst_mac) {
		rc = pg_resolve_mac(o->dev, o->dst_ip, o->dport, o->dst_mac, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int pg_send_live(const struct pg_opts *o, int ifindex, struct pg_result *res,
			struct gerr *err)
{
	struct pg_thread th[PKTGEN_MAX_THREADS] = { 0 };
	struct pktgen_bpf *skel;
	uint8_t frame[PKTGEN_MAX_SIZE];
	double t0;
	int rc;

	skel = pktgen_bpf__open();
	if (!skel)
		return gerr_set(err, -errno, "open BPF object");
	skel->rodata->tx_flows = o->flows;
	skel->rodata->tx_sport = o->sport;
	if (o->redirect_dev) {
		int idx = if_nametoindex(o->redirect_dev);

		if (!idx) {
			rc = gerr_set(err, -ENODEV, "no device %s", o->redirect_dev);
			goto out;
		}
		skel->rodata->tx_redirect_ifindex = idx;
	}
	pg_build_frame(o, frame);
	memcpy(skel->bss->tx_hdr, frame, sizeof(skel->bss->tx_hdr));
	rc = pktgen_bpf__load(skel);
	if (rc) {
		gerr_set(err, rc, "load BPF: %s", strerror(-rc));
		goto out;
	}
	t0 = pg_now();
	for (unsigned i = 0; i < o->threads; i++) {
		th[i].o = o;
		th[i].prog_fd = bpf_program__fd(skel->progs.pktgen_tx);
		th[i].ifindex = ifindex;
		th[i].frame = frame;
		th[i].cpu = o->ncpus ? o->cpus[i % o->ncpus] : -1;
		th[i].deadline = t0 + o->duration;
		if (o->count)
			th[i].quota = o->count / o->threads + (i < o->count % o->threads);
		rc = pthread_create(&th[i].tid, NULL, pg_tx_thread, &th[i]);
		if (rc) {
			pg_stop = 1;
			gerr_set(err, -rc, "pthread_create: %s", strerror(rc));
			for (unsigned j = 0; j < i; j++)
				pthread_join(th[j].tid, NULL);
			goto out;
		}
	}
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(th[i].tid, NULL);
		res->sent += th[i].sent;
		if (th[i].rc && !rc)
			rc = gerr_set(err, th[i].rc, "%s", th[i].msg);
	}
	res->seconds = pg_now() - t0;
	res->engine = "xdp-live-frames";
out:
	pktgen_bpf__destroy(skel);
	return rc;
}

/* ------------------------------------------------------------ kernel pktgen engine */

static int pg_proc_write(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int pg_proc_write(const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n, rc = 0;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n)
		rc = -errno;
	close(fd);
	return rc;
}

static bool pg_kernel_available(void)
{
	return access("/proc/thread-self/net/pktgen/pgctrl", W_OK) == 0;
}

/* Drives the kernel pktgen module through /proc/net/pktgen (one thread,
 * kpktgend_<cpu>); counts what the device transmitted. */
static int pg_send_kernel(const struct pg_opts *o, struct pg_result *res, struct gerr *err)
{
	char thr[128], dev[128], mac[32], ip[INET_ADDRSTRLEN];
	int cpu = o->ncpus ? o->cpus[0] : 0, rc;
	/* count 0 = endless for pktgen: time-bounded runs stop by alarm. */
	unsigned long long count = o->count;
	double t0;

	snprintf(thr, sizeof(thr), "/proc/thread-self/net/pktgen/kpktgend_%d", cpu);
	snprintf(dev, sizeof(dev), "/proc/thread-self/net/pktgen/%s", o->dev);
	rc = pg_proc_write(thr, "rem_device_all");
	if (!rc)
		rc = pg_proc_write(thr, "add_device %s", o->dev);
	if (rc)
		return gerr_set(err, rc, "pktgen %s: %s", thr, strerror(-rc));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", o->dst_mac[0],
		 o->dst_mac[1], o->dst_mac[2], o->dst_mac[3], o->dst_mac[4], o->dst_mac[5]);
	rc = pg_proc_write(dev, "count %llu", count);
	rc = rc ?: pg_proc_write(dev, "pkt_size %u", o->size);	/* no FCS, like ours */
	rc = rc ?: pg_proc_write(dev, "dst_mac %s", mac);
	rc = rc ?: pg_proc_write(dev, "dst %s", inet_ntop(AF_INET, &o->dst_ip, ip, sizeof(ip)));
	rc = rc ?: pg_proc_write(dev, "src_min %s", inet_ntop(AF_INET, &o->src_ip, ip, sizeof(ip)));
	rc = rc ?: pg_proc_write(dev, "src_max %s", ip);
	rc = rc ?: pg_proc_write(dev, "udp_src_min %u", o->sport);
	rc = rc ?: pg_proc_write(dev, "udp_src_max %u", o->sport + o->flows - 1);
	rc = rc ?: pg_proc_write(dev, "udp_dst_min %u", o->dport);
	rc = rc ?: pg_proc_write(dev, "udp_dst_max %u", o->dport);
	if (rc)
		return gerr_set(err, rc, "pktgen %s: %s", dev, strerror(-rc));
	t0 = pg_now();
	/* "start" blocks until count is reached or "stop" is written; a
	 * timer thread is overkill: time-bounded runs use alarm(). */
	if (!o->count)
		alarm((unsigned)(o->duration + 0.999));
	rc = pg_proc_write("/proc/thread-self/net/pktgen/pgctrl", "start");
	alarm(0);
	pg_proc_write("/proc/thread-self/net/pktgen/pgctrl", "stop");
	res->seconds = pg_now() - t0;
	res->engine = "kernel-pktgen";
	{
		FILE *f = fopen(dev, "r");
		char line[256];

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, " pkts-sofar: %llu", &res->sent) == 1)
				break;
		if (f)
			fclose(f);
	}
	pg_proc_write(thr, "rem_device_all");
	return rc == -EINTR ? 0 : rc;
}

/* ------------------------------------------------------------ output */

static void pg_print(const struct pg_opts *o, const char *cmd, const struct pg_result *r)
{
	double s = r->seconds > 0 ? r->seconds : 1e-9;

	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:f, s:f, s:i, s:i}",
				      "command", cmd, "engine", r->engine ? r->engine : "none",
				      "sent", (json_int_t)r->sent, "seconds", r->seconds,
				      "sent_pps", r->sent / s, "size", (int)o->size,
				      "threads", (int)o->threads);
		if (j && r->have_sink) {
			json_object_set_new(j, "delivered", json_integer(r->delivered));
			json_object_set_new(j, "delivered_bytes",
					    json_integer(r->delivered_bytes));
			json_object_set_new(j, "delivered_pps", json_real(r->delivered / s));
			json_object_set_new(j, "delivered_ratio",
					    json_real(r->sent ? (double)r->delivered / r->sent : 0));
		}
		if (j) {
			char *txt = json_dumps(j, JSON_COMPACT);

			if (txt)
				printf("%s\n", txt);
			free(txt);
			json_decref(j);
		}
		return;
	}
	if (strcmp(cmd, "sink"))
		printf("sent       %12llu frames in %.3f s = %12.0f pps (%u B, %u thread%s, %s)\n",
		       r->sent, r->seconds, r->sent / s, o->size, o->threads,
		       o->threads > 1 ? "s" : "", r->engine ? r->engine : "?");
	if (r->have_sink)
		printf("delivered  %12llu frames in %.3f s = %12.0f pps %10.1f Mbit/s\n",
		       r->delivered, r->seconds, r->delivered / s,
		       r->delivered_bytes * 8 / s / 1e6);
}

/* ------------------------------------------------------------ commands */

static int pg_do_send(struct pg_opts *o, int ifindex, struct pg_result *res,
		      struct gerr *err)
{
	bool kernel;

	kernel = !strcmp(o->engine, "kernel") ||
		 (!strcmp(o->engine, "auto") && pg_kernel_available() && !o->redirect_dev &&
		  o->flows <= 1 && o->threads == 1);
	if (!strcmp(o->engine, "kernel") && !pg_kernel_available())
		return gerr_set(err, -ENOENT, "--engine kernel: no /proc/net/pktgen here");
	return kernel ? pg_send_kernel(o, res, err) : pg_send_live(o, ifindex, res, err);
}

static int cmd_send(struct pg_opts *o, struct gerr *err)
{
	struct pg_result res = { 0 };
	int ifindex = 0, rc;

	rc = pg_setns(o->netns, err);
	rc = rc ?: pg_prepare(o, &ifindex, err);
	rc = rc ?: pg_do_send(o, ifindex, &res, err);
	if (!rc)
		pg_print(o, "send", &res);
	return rc;
}

static int cmd_sink(struct pg_opts *o, struct gerr *err)
{
	struct pg_sink s = { 0 };
	struct pg_result res = { .have_sink = true };
	unsigned long long p0, b0, p, b, lp;
	double t0, next;
	int rc;

	if (!o->sink_dev)
		o->sink_dev = o->dev;
	rc = pg_setns(o->sink_netns ? o->sink_netns : o->netns, err);
	rc = rc ?: pg_sink_attach(&s, o, err);
	rc = rc ?: pg_sink_read(&s, &p0, &b0);
	if (rc)
		goto out;
	t0 = pg_now();
	next = t0 + o->interval;
	lp = p0;
	if (!o->json)
		printf("counting UDP dport %u on %s (%s); Ctrl-C to stop\n", o->dport,
		       o->sink_dev, o->sink_mode);
	fflush(stdout);
	while (!pg_stop && (o->duration <= 0 || pg_now() - t0 < o->duration)) {
		usleep(20000);
		if (o->interval > 0 && pg_now() >= next && !o->json) {
			if (!pg_sink_read(&s, &p, &b)) {
				printf("  %8.1f s %12.0f pps\n", pg_now() - t0,
				       (p - lp) / o->interval);
				fflush(stdout);
				lp = p;
			}
			next += o->interval;
		}
	}
	rc = pg_sink_read(&s, &p, &b);
	if (rc)
		goto out;
	res.seconds = pg_now() - t0;
	res.delivered = p - p0;
	res.delivered_bytes = b - b0;
	pg_print(o, "sink", &res);
out:
	if (rc && !err->code)
		gerr_set(err, rc, "sink: %s", strerror(-rc));
	pg_sink_detach(&s);
	return rc;
}

/* Sender and sink in one process: delivered pps over exactly the sending
 * interval (plus a short drain for frames still in queues). */
static int cmd_run(struct pg_opts *o, struct gerr *err)
{
	struct pg_sink s = { 0 };
	struct pg_result res = { .have_sink = true };
	unsigned long long p0, b0, p, b;
	int self, ifindex = 0, rc;

	if (!o->sink_dev)
		return gerr_set(err, -EINVAL, "run needs --sink-dev (and usually --sink-netns)");
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return gerr_set(err, -errno, "open own netns: %s", strerror(errno));
	rc = pg_setns(o->sink_netns, err);
	rc = rc ?: pg_sink_attach(&s, o, err);
	if (rc)
		goto out;
	if (setns(self, CLONE_NEWNET)) {
		rc = gerr_set(err, -errno, "setns back: %s", strerror(errno));
		goto out;
	}
	rc = pg_setns(o->netns, err);
	/* Resolve first: an ARP-triggering datagram must not be counted. */
	rc = rc ?: pg_prepare(o, &ifindex, err);
	rc = rc ?: pg_sink_read(&s, &p0, &b0);
	rc = rc ?: pg_do_send(o, ifindex, &res, err);
	if (rc)
		goto out;
	usleep(20000);
	rc = pg_sink_read(&s, &p, &b);
	if (rc) {
		gerr_set(err, rc, "read sink: %s", strerror(-rc));
		goto out;
	}
	res.delivered = p - p0;
	res.delivered_bytes = b - b0;
	pg_print(o, "run", &res);
out:
	/* The tc filter lives in the sink's netns: detach from there. */
	if (setns(self, CLONE_NEWNET) == 0 && o->sink_netns)
		pg_setns(o->sink_netns, NULL);
	pg_sink_detach(&s);
	close(self);
	return rc;
}

/* ------------------------------------------------------------ main */

static const struct pg_cmd {
	const char *name;
	int (*fn)(struct pg_opts *o, struct gerr *err);
	const char *help;
} pg_cmds[] = {
	{ "send", cmd_send, "transmit UDP frames out of --dev" },
	{ "sink", cmd_sink, "count (and drop) delivered frames on --dev" },
	{ "run",  cmd_run,  "send and count delivered frames at --sink-dev in one go" },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: gannet-pktgen COMMAND [options]\n"
"commands:\n");
	for (size_t i = 0; i < sizeof(pg_cmds) / sizeof(pg_cmds[0]); i++)
		fprintf(f, "  %-6s %s\n", pg_cmds[i].name, pg_cmds[i].help);
	fprintf(f,
"options:\n"
"  -n, --netns NS          netns (name in /run/netns or path) of --dev\n"
"  -i, --dev DEV           sending device (sink: receiving device)\n"
"      --src-mac/--dst-mac MAC   default: device MAC / next hop's neighbour entry\n"
"      --src-ip/--dst-ip IP      default source: the device's address\n"
"      --sport N --dport N       UDP ports (default 9 -> 9)\n"
"      --flows N           spread over N source ports (default 1)\n"
"  -s, --size N            frame size without FCS, %d..%d (default 64)\n"
"  -c, --count N           frames to send (default: run for --duration)\n"
"  -d, --duration SEC      seconds (default 5; sink: 0 = until Ctrl-C)\n"
"  -t, --threads N         sending threads (default 1)\n"
"      --cpus LIST         pin threads to CPUs, e.g. 0,1 or 0-3\n"
"      --batch N           frames per kernel batch, 1..256 (default 64)\n"
"      --engine E          auto|live|kernel (auto: /proc/net/pktgen if present,\n"
"                          else XDP live frames)\n"
"      --redirect-dev DEV  XDP_REDIRECT to DEV instead of XDP_TX out of --dev\n"
"      --sink-netns NS --sink-dev DEV   receiver for 'run'\n"
"      --sink-mode M       tc (default) | xdp\n"
"      --interval SEC      sink: print the rate every SEC\n"
"  -j, --json              one JSON object on stdout\n"
"  -v, --verbose\n"
"A veth only accepts XDP-transmitted frames when its peer has an XDP program\n"
"or GRO on: 'ethtool -K PEER gro on'.\n", PKTGEN_MIN_SIZE, PKTGEN_MAX_SIZE);
}

enum {
	OPT_SRC_MAC = 256, OPT_DST_MAC, OPT_SRC_IP, OPT_DST_IP, OPT_SPORT, OPT_DPORT,
	OPT_FLOWS, OPT_CPUS, OPT_BATCH, OPT_ENGINE, OPT_REDIRECT, OPT_SINK_NETNS,
	OPT_SINK_DEV, OPT_SINK_MODE, OPT_INTERVAL,
};

static const struct option pg_long_opts[] = {
	{ "netns", required_argument, NULL, 'n' },
	{ "dev", required_argument, NULL, 'i' },
	{ "src-mac", required_argument, NULL, OPT_SRC_MAC },
	{ "dst-mac", required_argument, NULL, OPT_DST_MAC },
	{ "src-ip", required_argument, NULL, OPT_SRC_IP },
	{ "dst-ip", required_argument, NULL, OPT_DST_IP },
	{ "sport", required_argument, NULL, OPT_SPORT },
	{ "dport", required_argument, NULL, OPT_DPORT },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "size", required_argument, NULL, 's' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "threads", required_argument, NULL, 't' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "redirect-dev", required_argument, NULL, OPT_REDIRECT },
	{ "sink-netns", required_argument, NULL, OPT_SINK_NETNS },
	{ "sink-dev", required_argument, NULL, OPT_SINK_DEV },
	{ "sink-mode", required_argument, NULL, OPT_SINK_MODE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_DEBUG && log_level < LOG_LVL_DEBUG)
		return 0;
	if (lvl == LIBBPF_INFO && log_level < LOG_LVL_INFO + 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int pg_parse(int argc, char **argv, struct pg_opts *o, struct gerr *err)
{
	bool dur_set = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:i:s:c:d:t:jvh", pg_long_opts, NULL)) != -1) {
		switch (c) {
		case 'n': o->netns = optarg; break;
		case 'i': o->dev = optarg; break;
		case 's': o->size = strtoul(optarg, NULL, 0); break;
		case 'c': o->count = strtoull(optarg, NULL, 0); break;
		case 'd': o->duration = strtod(optarg, NULL); dur_set = true; break;
		case 't': o->threads = strtoul(optarg, NULL, 0); break;
		case 'j': o->json = true; break;
		case 'v': log_level = LOG_LVL_DEBUG; break;
		case 'h': usage(stdout); exit(0);
		case OPT_SRC_MAC:
		case OPT_DST_MAC:
			if (pg_parse_mac(optarg, c == OPT_SRC_MAC ? o->src_mac : o->dst_mac))
				return gerr_set(err, -EINVAL, "bad MAC %s", optarg);
			*(c == OPT_SRC_MAC ? &o->have_src_mac : &o->have_dst_mac) = true;
			break;
		case OPT_SRC_IP:
		case OPT_DST_IP:
			if (!inet_aton(optarg, c == OPT_SRC_IP ? &o->src_ip : &o->dst_ip))
				return gerr_set(err, -EINVAL, "bad IPv4 address %s", optarg);
			*(c == OPT_SRC_IP ? &o->have_src_ip : &o->have_dst_ip) = true;
			break;
		case OPT_SPORT: o->sport = strtoul(optarg, NULL, 0); break;
		case OPT_DPORT: o->dport = strtoul(optarg, NULL, 0); break;
		case OPT_FLOWS: o->flows = strtoul(optarg, NULL, 0); break;
		case OPT_CPUS:
			if (pg_parse_cpus(optarg, o))
				return gerr_set(err, -EINVAL, "bad CPU list %s", optarg);
			break;
		case OPT_BATCH: o->batch = strtoul(optarg, NULL, 0); break;
		case OPT_ENGINE: o->engine = optarg; break;
		case OPT_REDIRECT: o->redirect_dev = optarg; break;
		case OPT_SINK_NETNS: o->sink_netns = optarg; break;
		case OPT_SINK_DEV: o->sink_dev = optarg; break;
		case OPT_SINK_MODE: o->sink_mode = optarg; break;
		case OPT_INTERVAL: o->interval = strtod(optarg, NULL); break;
		default: usage(stderr); return gerr_set(err, -EINVAL, "bad option");
		}
	}
	if (!o->dev && !o->sink_dev)
		return gerr_set(err, -EINVAL, "--dev is required");
	if (o->size < PKTGEN_MIN_SIZE || o->size > PKTGEN_MAX_SIZE)
		return gerr_set(err, -EINVAL, "--size must be %d..%d", PKTGEN_MIN_SIZE,
				PKTGEN_MAX_SIZE);
	if (!o->threads || o->threads > PKTGEN_MAX_THREADS)
		return gerr_set(err, -EINVAL, "--threads must be 1..%d", PKTGEN_MAX_THREADS);
	if (!o->batch || o->batch > 256)
		return gerr_set(err, -EINVAL, "--batch must be 1..256");
	if (!o->flows || o->sport + o->flows > 65536 || !o->dport || o->dport > 65535)
		return gerr_set(err, -EINVAL, "bad ports/flows");
	if (strcmp(o->engine, "auto") && strcmp(o->engine, "live") && strcmp(o->engine, "kernel"))
		return gerr_set(err, -EINVAL, "--engine must be auto, live or kernel");
	if (strcmp(o->sink_mode, "tc") && strcmp(o->sink_mode, "xdp"))
		return gerr_set(err, -EINVAL, "--sink-mode must be tc or xdp");
	if (!dur_set && o->count)
		o->duration = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct pg_opts o = {
		.engine = "auto", .sink_mode = "tc", .sport = 9, .dport = 9, .flows = 1,
		.size = 64, .threads = 1, .batch = 64, .duration = 5,
	};
	struct gerr err = { 0 };
	const struct pg_cmd *cmd = NULL;
	int rc;

	log_set_prefix("gannet-pktgen");
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(pg_cmds) / sizeof(pg_cmds[0]); i++)
		if (!strcmp(argv[1], pg_cmds[i].name))
			cmd = &pg_cmds[i];
	if (!cmd) {
		fprintf(stderr, "gannet-pktgen: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	rc = pg_parse(argc - 1, argv + 1, &o, &err);
	if (rc) {
		pr_err("%s", err.msg);
		return 2;
	}
	libbpf_set_print(libbpf_print);
	{
		/* No SA_RESTART: a blocking pktgen "start" must return. */
		struct sigaction sa = { .sa_handler = pg_on_signal };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGALRM, &sa, NULL);
	}
	rc = cmd->fn(&o, &err);
	if (rc) {
		pr_err("%s", err.msg[0] ? err.msg : strerror(-rc));
		return 1;
	}
	return 0;
}
