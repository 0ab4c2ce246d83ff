/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the IPAM allocator core (agent/ipam.c) and its flock-guarded
 * on-disk store, including concurrent allocation from several processes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/ipam.h"
#include "tests/unit/test.h"

static uint32_t A(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void t_init(void)
{
	struct ipam p;

	CHECK_EQ(ipam_init(&p, A("10.244.1.0"), 24, NULL), 0);
	CHECK_EQ(ipam_free_count(&p), 253);   /* .2 .. .254 */
	CHECK(!ipam_contains(&p, A("10.244.1.0")));
	CHECK(!ipam_contains(&p, A("10.244.1.1")));
	CHECK(ipam_contains(&p, A("10.244.1.2")));
	CHECK(ipam_contains(&p, A("10.244.1.254")));
	CHECK(!ipam_contains(&p, A("10.244.1.255")));
	CHECK(!ipam_contains(&p, A("10.244.2.5")));
	CHECK_EQ(ipam_init(&p, A("10.244.1.1"), 24, NULL), -EINVAL);  /* host bits */
	CHECK_EQ(ipam_init(&p, A("10.244.1.0"), 31, NULL), -EINVAL);
	CHECK_EQ(ipam_init(&p, A("10.0.0.0"), 4, NULL), -EINVAL);
}

static void t_allocate_sequence(void)
{
	struct ipam p;
	uint32_t ip = 0;

	ipam_init(&p, A("10.244.1.0"), 24, NULL);
	CHECK_EQ(ipam_allocate(&p, "c1", "eth0", &ip, NULL), 0);
	CHECK_EQ(ip, A("10.244.1.2"));
	CHECK_EQ(ipam_allocate(&p, "c2", "eth0", &ip, NULL), 0);
	CHECK_EQ(ip, A("10.244.1.3"));
	/* second interface of the same container is a separate allocation */
	CHECK_EQ(ipam_allocate(&p, "c2", "net1", &ip, NULL), 0);
	CHECK_EQ(ip, A("10.244.1.4"));
	CHECK_EQ(ipam_allocate(&p, "c1", "eth0", &ip, NULL), -EEXIST);
	CHECK_EQ(p.n, 3);
	CHECK(ipam_find(&p, "c2", "net1") != NULL);
	CHECK(ipam_find(&p, "c3", "eth0") == NULL);
	CHECK(ipam_find_ip(&p, A("10.244.1.3")) == ipam_find(&p, "c2", "eth0"));
	ipam_free(&p);
}

static void t_no_immediate_reuse(void)
{
	struct ipam p;
	uint32_t ip;

	ipam_init(&p, A("10.244.1.0"), 24, NULL);
	ipam_allocate(&p, "a", "eth0", &ip, NULL);   /* .2 */
	ipam_allocate(&p, "b", "eth0", &ip, NULL);   /* .3 */
	CHECK_EQ(ipam_release(&p, "a", "eth0"), 1);
	CHECK_EQ(ipam_allocate(&p, "c", "eth0", &ip, NULL), 0);
	CHECK_EQ(ip, A("10.244.1.4"));   /* round robin, not the freed .2 */
	ipam_free(&p);
}

static void t_exhaust_and_wrap(void)
{
	struct ipam p;
	uint32_t ip, seen[8] = { 0 };
	char id[16];
	int i;

	ipam_init(&p, A("10.244.1.0"), 29, NULL);  /* .2 .. .6 */
	CHECK_EQ(ipam_free_count(&p), 5);
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		CHECK_EQ(ipam_allocate(&p, id, "eth0", &ip, NULL), 0);
		seen[ntohl(ip) & 7]++;
	}
	for (i = 2; i <= 6; i++)
		CHECK_EQ(seen[i], 1);
	CHECK_EQ(seen[0] + seen[1] + seen[7], 0);
	CHECK_EQ(ipam_allocate(&p, "full", "eth0", &ip, NULL), -ENOSPC);
	CHECK_EQ(ipam_release(&p, "c2", "eth0"), 1);   /* frees .4 */
	CHECK_EQ(ipam_allocate(&p, "again", "eth0", &ip, NULL), 0);
	CHECK_EQ(ip, A("10.244.1.4"));                 /* wrapped around */
	ipam_free(&p);
}

static void t_release(void)
{
	struct ipam p;
	uint32_t ip;

	ipam_init(&p, A("10.244.1.0"), 24, NULL);
	ipam_allocate(&p, "c", "eth0", &ip, NULL);
	ipam_allocate(&p, "c", "net1", &ip, NULL);
	ipam_allocate(&p, "d", "eth0", &ip, NULL);
	CHECK_EQ(ipam_release(&p, "nope", "eth0"), 0);   /* idempotent */
	CHECK_EQ(ipam_release(&p, "c", "net2"), 0);
	CHECK_EQ(ipam_release(&p, "c", NULL), 2);        /* every ifname */
	CHECK_EQ(p.n, 1);
	CHECK_EQ(ipam_release(&p, "d", "eth0"), 1);
	CHECK_EQ(ipam_release(&p, "d", "eth0"), 0);
	CHECK_EQ(p.n, 0);
	ipam_free(&p);
}

static void t_bad_keys(void)
{
	struct ipam p;
	uint32_t ip;
	char longid[200];

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	ipam_init(&p, A("10.244.1.0"), 24, NULL);
	CHECK_EQ(ipam_allocate(&p, "", "eth0", &ip, NULL), -EINVAL);
	CHECK_EQ(ipam_allocate(&p, longid, "eth0", &ip, NULL), -EINVAL);
	CHECK_EQ(ipam_allocate(&p, "c", "averyveryverylongifname", &ip, NULL), -EINVAL);
	CHECK_EQ(p.n, 0);
	ipam_free(&p);
}

static void t_json_roundtrip(void)
{
	struct ipam p, q;
	struct ipam_alloc *al;
	uint32_t ip;
	char *s;

	ipam_init(&p, A("10.244.3.0"), 24, NULL);
	ipam_allocate(&p, "c1", "eth0", &ip, NULL);
	ipam_allocate(&p, "c2", "eth0", &ip, NULL);
	al = ipam_find(&p, "c2", "eth0");
	memcpy(al->mac, "\x02\xaa\xbb\xcc\xdd\xee", 6);
	al->has_mac = true;
	ipam_release(&p, "c1", "eth0");
	s = ipam_to_json(&p);
	CHECK(s != NULL);
	ipam_init(&q, A("10.244.3.0"), 24, NULL);
	CHECK_EQ(ipam_from_json(&q, s, NULL), 0);
	CHECK_EQ(q.n, 1);
	al = ipam_find(&q, "c2", "eth0");
	CHECK(al && al->ip == A("10.244.3.3") && al->has_mac && al->mac[5] == 0xee);
	/* lastReserved survives, so the next address is .4, not the freed .2 */
	CHECK_EQ(ipam_allocate(&q, "c3", "eth0", &ip, NULL), 0);
	CHECK_EQ(ip, A("10.244.3.4"));
	ipam_free(&q);

	/* state for another CIDR is refused rather than reinterpreted */
	ipam_init(&q, A("10.244.4.0"), 24, NULL);
	CHECK_EQ(ipam_from_json(&q, s, NULL), -EINVAL);
	ipam_free(&q);
	free(s);
	ipam_free(&p);
}

static void t_json_bad(void)
{
	struct ipam q;
	struct gerr e = { 0 };

	ipam_init(&q, A("10.244.3.0"), 24, NULL);
	CHECK(ipam_from_json(&q, "{not json", &e) < 0);
	CHECK(strstr(e.msg, "IPAM state") != NULL);
	ipam_free(&q);
	ipam_init(&q, A("10.244.3.0"), 24, NULL);
	/* the same IP twice must be rejected: it would be handed out twice */
	CHECK_EQ(ipam_from_json(&q, "{\"cidr\":\"10.244.3.0/24\",\"allocations\":["
				"{\"ip\":\"10.244.3.5\",\"containerID\":\"a\",\"ifname\":\"eth0\"},"
				"{\"ip\":\"10.244.3.5\",\"containerID\":\"b\",\"ifname\":\"eth0\"}]}",
				NULL), -EEXIST);
	ipam_free(&q);
	ipam_init(&q, A("10.244.3.0"), 24, NULL);
	CHECK_EQ(ipam_from_json(&q, "{\"cidr\":\"10.244.3.0/24\",\"allocations\":["
				"{\"ip\":\"10.244.9.5\",\"containerID\":\"a\",\"ifname\":\"eth0\"}]}",
				NULL), -ERANGE);
	ipam_free(&q);
}

static char tmpdir[64];

static void mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ipam-test-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static void t_store_persist(void)
{
	struct ipam_store s;
	struct ipam p;
	uint32_t ip, ip2;
	char dir[128];

	mk_tmp();
	snprintf(dir, sizeof(dir), "%s/state/node1", tmpdir);   /* created */
	CHECK_EQ(ipam_store_init(&s, dir, A("10.244.1.0"), 24, NULL), 0);
	CHECK_EQ(ipam_store_lock(&s, &p, NULL), 0);
	CHECK_EQ(p.n, 0);
	CHECK_EQ(ipam_allocate(&p, "c1", "eth0", &ip, NULL), 0);
	CHECK_EQ(ipam_store_save(&s, &p, NULL), 0);
	ipam_store_unlock(&s, &p);

	/* a new store object (as after an agent restart) sees it */
	CHECK_EQ(ipam_store_init(&s, dir, A("10.244.1.0"), 24, NULL), 0);
	CHECK_EQ(ipam_store_lock(&s, &p, NULL), 0);
	CHECK_EQ(p.n, 1);
	CHECK(ipam_find(&p, "c1", "eth0") && ipam_find(&p, "c1", "eth0")->ip == ip);
	CHECK_EQ(ipam_allocate(&p, "c2", "eth0", &ip2, NULL), 0);
	CHECK(ip2 != ip);
	ipam_store_unlock(&s, &p);   /* not saved: c2 is not persisted */
	CHECK_EQ(ipam_store_lock(&s, &p, NULL), 0);
	CHECK_EQ(p.n, 1);
	ipam_store_unlock(&s, &p);

	/* a store for a different pod CIDR refuses the state */
	CHECK_EQ(ipam_store_init(&s, dir, A("10.244.2.0"), 24, NULL), 0);
	CHECK(ipam_store_lock(&s, &p, NULL) < 0);
	rm_tmp();
}

static void t_store_corrupt(void)
{
	struct ipam_store s;
	struct ipam p;
	struct gerr e = { 0 };
	char path[128];
	FILE *f;

	mk_tmp();
	ipam_store_init(&s, tmpdir, A("10.244.1.0"), 24, NULL);
	snprintf(path, sizeof(path), "%s/ipam.json", tmpdir);
	f = fopen(path, "w");
	fputs("{\"cidr\": 12", f);
	fclose(f);
	CHECK(ipam_store_lock(&s, &p, &e) < 0);
	CHECK(strstr(e.msg, "ipam.json") != NULL);
	CHECK_EQ(s.lock_fd, -1);   /* lock released on failure */
	rm_tmp();
}

/* Several processes allocate concurrently through the store: every address
 * must be distinct and every allocation persisted. */
static void t_store_concurrent(void)
{
	enum { PROCS = 6, EACH = 20 };
	struct ipam_store s;
	struct ipam p;
	int status, ok = 1;

	mk_tmp();
	ipam_store_init(&s, tmpdir, A("10.244.1.0"), 24, NULL);
	for (int i = 0; i < PROCS; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			for (int j = 0; j < EACH; j++) {
				struct ipam_store cs;
				struct ipam cp;
				char id[32];
				uint32_t ip;

				snprintf(id, sizeof(id), "p%d-c%d", i, j);
				if (ipam_store_init(&cs, tmpdir, A("10.244.1.0"), 24, NULL) ||
				    ipam_store_lock(&cs, &cp, NULL))
					_exit(1);
				if (ipam_allocate(&cp, id, "eth0", &ip, NULL) ||
				    ipam_store_save(&cs, &cp, NULL))
					_exit(1);
				ipam_store_unlock(&cs, &cp);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < PROCS; i++) {
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
	}
	CHECK(ok);
	CHECK_EQ(ipam_store_lock(&s, &p, NULL), 0);
	CHECK_EQ(p.n, PROCS * EACH);
	for (size_t i = 0; i < p.n; i++)
		for (size_t j = i + 1; j < p.n; j++)
			if (p.allocs[i].ip == p.allocs[j].ip)
				CHECK(!"duplicate IP");
	ipam_store_unlock(&s, &p);
	rm_tmp();
}

TEST_MAIN(T(t_init), T(t_allocate_sequence), T(t_no_immediate_reuse), T(t_exhaust_and_wrap),
	  T(t_release), T(t_bad_keys), T(t_json_roundtrip), T(t_json_bad), T(t_store_persist),
	  T(t_store_corrupt), T(t_store_concurrent))
