// SPDX-License-Identifier: Apache-2.0
/* Store conformance suite: the same checks run against any backend URI
 * (sqlite:<file>, etcd:<url>): create/update/delete/get, list with prefix,
 * limit and continuation, revision ordering, conflicts, watch (exactly once,
 * in order, resume, several watchers, stop from the callback), compaction
 * (-ERANGE for older watches) and concurrent compare-and-swap writers.
 *
 *   store-conformance URI                       run the suite
 *   store-conformance --crash-writer URI        write forever, print each
 *                                               acknowledged write
 *   store-conformance --crash-verify URI FILE   check every write listed in
 *                                               FILE (the writer's output)
 *                                               is in the store
 *   store-conformance --watch-print URI PREFIX  watch PREFIX from the current
 *                                               revision, print "rev type key"
 *                                               per event until SIGTERM */
#include "apiserver/store.h"
#include "tests/unit/test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static struct store *S;
static char P[64];              /* per-run key prefix: etcd is shared */

static const char *K(const char *suffix)
{
	static __thread char buf[8][256];
	static __thread int i;
	char *b = buf[i++ % 8];

	snprintf(b, sizeof(buf[0]), "%s%s", P, suffix);
	return b;
}

static int64_t cur_rev(void)
{
	int64_t rev = -1;

	CHECK_EQ(store_revision(S, &rev, NULL), 0);
	return rev;
}

/* ---- event collector ---- */

#define MAX_EVS 4096

struct collector {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct store_event ev[MAX_EVS];
	size_t n;
	size_t stop_after;      /* callback returns 1 after this many (0 never) */
	int gated;              /* callbacks block while set */
	int entered;            /* callbacks started */
};

static void col_init(struct collector *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cond, NULL);
}

static void col_free(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++)
		store_kv_free(&c->ev[i].kv);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
}

static int col_cb(const struct store_event *ev, void *arg)
{
	struct collector *c = arg;
	int stop;

	pthread_mutex_lock(&c->mu);
	c->entered++;
	pthread_cond_broadcast(&c->cond);
	while (c->gated)
		pthread_cond_wait(&c->cond, &c->mu);
	if (c->n < MAX_EVS) {
		struct store_event *e = &c->ev[c->n++];

		e->type = ev->type;
		e->rev = ev->rev;
		e->kv = ev->kv;
		e->kv.key = strdup(ev->kv.key);
		e->kv.value = malloc(ev->kv.len + 1);
		memcpy(e->kv.value, ev->kv.value, ev->kv.len + 1);
	}
	stop = c->stop_after && c->n >= c->stop_after;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	return stop;
}

/* Waits until at least n events arrived (or 10 s); returns the count. */
static size_t col_wait(struct collector *c, size_t n)
{
	struct timespec ts;
	size_t got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&c->mu);
	while (c->n < n &&
	       pthread_cond_timedwait(&c->cond, &c->mu, &ts) != ETIMEDOUT)
		;
	got = c->n;
	pthread_mutex_unlock(&c->mu);
	return got;
}

/* Lets stray (wrong) events arrive before the count is checked. */
static size_t col_settle(struct collector *c, size_t n)
{
	col_wait(c, n);
	usleep(300 * 1000);
	return col_wait(c, 0);
}

/* ---- tests ---- */

static void test_create_get(void)
{
	struct store_kv kv = { 0 };
	struct gerr err = { 0 };
	int64_t r1 = 0, r2 = 0;

	CHECK_EQ(store_create(S, K("cg/a"), "v1", 2, &r1, NULL), 0);
	CHECK(r1 > 0);
	CHECK_EQ(store_get(S, K("cg/a"), &kv, NULL), 0);
	CHECK_STR(kv.key, K("cg/a"));
	CHECK_STR(kv.value, "v1");
	CHECK_EQ(kv.len, 2);
	CHECK_EQ(kv.create_rev, r1);
	CHECK_EQ(kv.mod_rev, r1);
	store_kv_free(&kv);
	CHECK_EQ(store_create(S, K("cg/a"), "v2", 2, &r2, &err), -EEXIST);
	CHECK(err.msg[0] != '\0');
	CHECK_EQ(store_get(S, K("cg/missing"), &kv, NULL), -ENOENT);
	/* Binary values keep their length and bytes, empty values work. */
	CHECK_EQ(store_create(S, K("cg/bin"), "a\0b\xff", 4, &r2, NULL), 0);
	CHECK(r2 > r1);
	CHECK_EQ(store_get(S, K("cg/bin"), &kv, NULL), 0);
	CHECK_EQ(kv.len, 4);
	CHECK(kv.value && !memcmp(kv.value, "a\0b\xff", 4));
	store_kv_free(&kv);
	/* Every length around the base64 padding boundaries, every byte. */
	for (int n = 1; n <= 9; n++) {
		char v[9], k[32];

		for (int i = 0; i < n; i++)
			v[i] = (char)(n * 37 + i * 101);
		snprintf(k, sizeof(k), "cg/len%d", n);
		CHECK_EQ(store_create(S, K(k), v, n, NULL, NULL), 0);
		CHECK_EQ(store_get(S, K(k), &kv, NULL), 0);
		CHECK_EQ(kv.len, n);
		CHECK(kv.value && !memcmp(kv.value, v, n) && kv.value[n] == '\0');
		store_kv_free(&kv);
	}
	CHECK_EQ(store_create(S, K("cg/empty"), "", 0, NULL, NULL), 0);
	CHECK_EQ(store_get(S, K("cg/empty"), &kv, NULL), 0);
	CHECK_EQ(kv.len, 0);
	CHECK_STR(kv.value, "");
	store_kv_free(&kv);
}

static void test_update(void)
{
	struct store_kv kv = { 0 };
	int64_t c = 0, u1 = 0, u2 = 0, u3 = 0, before;

	CHECK_EQ(store_create(S, K("up/a"), "one", 3, &c, NULL), 0);
	CHECK_EQ(store_update(S, K("up/a"), "two", 3, 0, &u1, NULL), 0);
	CHECK(u1 > c);
	CHECK_EQ(store_update(S, K("up/a"), "three", 5, u1, &u2, NULL), 0);
	CHECK(u2 > u1);
	before = cur_rev();
	/* Stale expected revision: conflict, nothing written. */
	CHECK_EQ(store_update(S, K("up/a"), "stale", 5, u1, &u3, NULL),
		 -ECANCELED);
	CHECK_EQ(cur_rev(), before);
	CHECK_EQ(store_get(S, K("up/a"), &kv, NULL), 0);
	CHECK_STR(kv.value, "three");
	CHECK_EQ(kv.create_rev, c);
	CHECK_EQ(kv.mod_rev, u2);
	store_kv_free(&kv);
	CHECK_EQ(store_update(S, K("up/missing"), "x", 1, 0, NULL, NULL), -ENOENT);
	CHECK_EQ(store_update(S, K("up/missing"), "x", 1, u2, NULL, NULL), -ENOENT);
	CHECK_EQ(store_get(S, K("up/missing"), &kv, NULL), -ENOENT);
	CHECK_EQ(cur_rev(), before);
}

static void test_delete(void)
{
	struct store_kv kv = { 0 }, prev = { 0 };
	int64_t c = 0, u = 0, d = 0, c2 = 0;

	CHECK_EQ(store_create(S, K("del/a"), "x", 1, &c, NULL), 0);
	CHECK_EQ(store_update(S, K("del/a"), "last", 4, c, &u, NULL), 0);
	CHECK_EQ(store_delete(S, K("del/a"), c, NULL, NULL, NULL), -ECANCELED);
	CHECK_EQ(store_get(S, K("del/a"), &kv, NULL), 0);
	store_kv_free(&kv);
	CHECK_EQ(store_delete(S, K("del/a"), u, &d, &prev, NULL), 0);
	CHECK(d > u);
	CHECK_STR(prev.key, K("del/a"));
	CHECK_STR(prev.value, "last");
	CHECK_EQ(prev.mod_rev, u);
	CHECK_EQ(prev.create_rev, c);
	store_kv_free(&prev);
	CHECK_EQ(store_get(S, K("del/a"), &kv, NULL), -ENOENT);
	CHECK_EQ(store_delete(S, K("del/a"), 0, NULL, NULL, NULL), -ENOENT);
	CHECK_EQ(store_update(S, K("del/a"), "y", 1, 0, NULL, NULL), -ENOENT);
	/* Re-creating a deleted key starts a new life. */
	CHECK_EQ(store_create(S, K("del/a"), "again", 5, &c2, NULL), 0);
	CHECK(c2 > d);
	CHECK_EQ(store_get(S, K("del/a"), &kv, NULL), 0);
	CHECK_EQ(kv.create_rev, c2);
	CHECK_STR(kv.value, "again");
	store_kv_free(&kv);
	CHECK_EQ(store_delete(S, K("del/a"), 0, NULL, NULL, NULL), 0);
}

static void test_revision_order(void)
{
	int64_t last = cur_rev(), r;
	char key[64];

	/* Every write, whatever the key, gets the next higher revision and
	 * the store revision follows it. */
	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "rev/k%d", i % 7);
		if (i < 7)
			CHECK_EQ(store_create(S, K(key), "v", 1, &r, NULL), 0);
		else if (i < 25)
			CHECK_EQ(store_update(S, K(key), "w", 1, 0, &r, NULL), 0);
		else
			CHECK_EQ(store_delete(S, K(key), 0, &r, NULL, NULL), 0);
		CHECK(r > last);
		CHECK_EQ(cur_rev(), r);
		last = r;
	}
	/* Failed writes do not consume revisions. */
	CHECK_EQ(store_create(S, K("rev/k2"), "v", 1, NULL, NULL), -EEXIST);
	CHECK_EQ(cur_rev(), last);
}

static void test_list(void)
{
	static const char *const in[] = { "ls/b", "ls/a", "ls/c/x", "ls/d", "ls/e" };
	struct store_list l = { 0 };
	int64_t r, dr, mid;

	for (size_t i = 0; i < 5; i++)
		CHECK_EQ(store_create(S, K(in[i]), in[i], strlen(in[i]), &r,
				      NULL), 0);
	/* Keys just outside the prefix on both sides. */
	CHECK_EQ(store_create(S, K("ls"), "no", 2, NULL, NULL), 0);
	CHECK_EQ(store_create(S, K("ls0"), "no", 2, NULL, NULL), 0);
	CHECK_EQ(store_create(S, K("lr/z"), "no", 2, NULL, NULL), 0);
	mid = cur_rev();
	CHECK_EQ(store_update(S, K("ls/b"), "B", 1, 0, NULL, NULL), 0);
	CHECK_EQ(store_delete(S, K("ls/d"), 0, &dr, NULL, NULL), 0);

	CHECK_EQ(store_list(S, K("ls/"), NULL, 0, &l, NULL), 0);
	CHECK_EQ(l.n, 4);
	CHECK_EQ(l.more, 0);
	CHECK_EQ(l.rev, dr);
	if (l.n == 4) {
		CHECK_STR(l.items[0].key, K("ls/a"));
		CHECK_STR(l.items[1].key, K("ls/b"));
		CHECK_STR(l.items[1].value, "B");
		CHECK(l.items[1].mod_rev > l.items[1].create_rev);
		CHECK_STR(l.items[2].key, K("ls/c/x"));
		CHECK_STR(l.items[3].key, K("ls/e"));
	}
	store_list_free(&l);

	/* Pages of two with continuation. */
	CHECK_EQ(store_list(S, K("ls/"), NULL, 2, &l, NULL), 0);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(l.more, 1);
	if (l.n == 2)
		CHECK_STR(l.items[1].key, K("ls/b"));
	store_list_free(&l);
	CHECK_EQ(store_list(S, K("ls/"), K("ls/b"), 2, &l, NULL), 0);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(l.more, 0);
	if (l.n == 2) {
		CHECK_STR(l.items[0].key, K("ls/c/x"));
		CHECK_STR(l.items[1].key, K("ls/e"));
	}
	store_list_free(&l);
	/* start_after need not be an existing key. */
	CHECK_EQ(store_list(S, K("ls/"), K("ls/c"), 0, &l, NULL), 0);
	CHECK_EQ(l.n, 2);
	if (l.n == 2)
		CHECK_STR(l.items[0].key, K("ls/c/x"));
	store_list_free(&l);
	CHECK_EQ(store_list(S, K("ls/zzz"), NULL, 0, &l, NULL), 0);
	CHECK_EQ(l.n, 0);
	CHECK_EQ(l.rev, cur_rev());
	store_list_free(&l);
	/* As of an earlier revision: the deleted key is back, the updated
	 * one has its old value; pages stay at that revision. */
	CHECK_EQ(store_list_at(S, K("ls/"), NULL, 0, mid, &l, NULL), 0);
	CHECK_EQ(l.n, 5);
	CHECK_EQ(l.rev, mid);
	if (l.n == 5) {
		CHECK_STR(l.items[1].value, "ls/b");
		CHECK_EQ(l.items[1].mod_rev, l.items[1].create_rev);
		CHECK_STR(l.items[3].key, K("ls/d"));
	}
	store_list_free(&l);
	CHECK_EQ(store_list_at(S, K("ls/"), K("ls/c/x"), 1, mid, &l, NULL), 0);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.more, 1);
	if (l.n == 1)
		CHECK_STR(l.items[0].key, K("ls/d"));
	store_list_free(&l);
	CHECK_EQ(store_list_at(S, K("ls/"), NULL, 0, dr, &l, NULL), 0);
	CHECK_EQ(l.n, 4);
	store_list_free(&l);
	CHECK_EQ(store_list_at(S, K("ls/"), NULL, 0, cur_rev() + 1000, &l, NULL),
		 -EINVAL);
	/* The whole store (empty prefix) includes ours. */
	CHECK_EQ(store_list(S, "", NULL, 0, &l, NULL), 0);
	CHECK(l.n >= 7);
	for (size_t i = 1; i < l.n; i++)
		CHECK(strcmp(l.items[i - 1].key, l.items[i].key) < 0);
	store_list_free(&l);
}

static void test_watch(void)
{
	struct collector *c = malloc(sizeof(*c));
	struct store_watch *w = NULL;
	int64_t start = cur_rev(), r1, r2, r3, r4;

	col_init(c);
	CHECK_EQ(store_watch_start(S, K("w/"), start, col_cb, c, &w, NULL), 0);
	CHECK_EQ(store_create(S, K("w/a"), "1", 1, &r1, NULL), 0);
	CHECK_EQ(store_create(S, K("wx"), "other", 5, NULL, NULL), 0);
	CHECK_EQ(store_update(S, K("w/a"), "2", 1, r1, &r2, NULL), 0);
	CHECK_EQ(store_create(S, K("w/b"), "3", 1, &r3, NULL), 0);
	CHECK_EQ(store_delete(S, K("w/a"), 0, &r4, NULL, NULL), 0);
	CHECK_EQ(col_settle(c, 4), 4);
	store_watch_stop(w);
	if (c->n == 4) {
		CHECK_EQ(c->ev[0].type, STORE_EV_CREATE);
		CHECK_EQ(c->ev[0].rev, r1);
		CHECK_STR(c->ev[0].kv.key, K("w/a"));
		CHECK_STR(c->ev[0].kv.value, "1");
		CHECK_EQ(c->ev[0].kv.create_rev, r1);
		CHECK_EQ(c->ev[1].type, STORE_EV_UPDATE);
		CHECK_EQ(c->ev[1].rev, r2);
		CHECK_EQ(c->ev[1].kv.mod_rev, r2);
		CHECK_EQ(c->ev[1].kv.create_rev, r1);
		CHECK_STR(c->ev[1].kv.value, "2");
		CHECK_EQ(c->ev[2].type, STORE_EV_CREATE);
		CHECK_EQ(c->ev[2].rev, r3);
		CHECK_STR(c->ev[2].kv.key, K("w/b"));
		/* DELETE carries the last value. */
		CHECK_EQ(c->ev[3].type, STORE_EV_DELETE);
		CHECK_EQ(c->ev[3].rev, r4);
		CHECK_STR(c->ev[3].kv.key, K("w/a"));
		CHECK_STR(c->ev[3].kv.value, "2");
		CHECK_EQ(c->ev[3].kv.create_rev, r1);
	}
	col_free(c);

	/* Resume: from r2, exactly the later events (w/b create, delete);
	 * from the start, all four again; several watches at once. */
	{
		struct collector *c2 = malloc(sizeof(*c2));
		struct store_watch *w2 = NULL;

		col_init(c);
		col_init(c2);
		CHECK_EQ(store_watch_start(S, K("w/"), r2, col_cb, c, &w, NULL), 0);
		CHECK_EQ(store_watch_start(S, K("w/"), start, col_cb, c2, &w2,
					   NULL), 0);
		CHECK_EQ(col_settle(c, 2), 2);
		CHECK_EQ(col_settle(c2, 4), 4);
		CHECK_EQ(c->ev[0].rev, r3);
		CHECK_EQ(c->ev[1].rev, r4);
		CHECK_EQ(c2->ev[0].rev, r1);
		CHECK_EQ(c2->ev[3].rev, r4);
		/* New writes reach both live watches. */
		CHECK_EQ(store_create(S, K("w/c"), "4", 1, &r1, NULL), 0);
		CHECK_EQ(col_settle(c, 3), 3);
		CHECK_EQ(col_settle(c2, 5), 5);
		CHECK_EQ(c->ev[2].rev, r1);
		CHECK_EQ(c2->ev[4].rev, r1);
		store_watch_stop(w);
		store_watch_stop(w2);
		col_free(c);
		col_free(c2);
		free(c2);
	}

	/* A non-zero return from the callback stops the watch. */
	col_init(c);
	c->stop_after = 2;
	CHECK_EQ(store_watch_start(S, K("w/"), cur_rev(), col_cb, c, &w, NULL), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(store_update(S, K("w/c"), "x", 1, 0, NULL, NULL), 0);
	CHECK_EQ(col_settle(c, 2), 2);
	store_watch_stop(w);
	col_free(c);
	free(c);
}

struct cas_arg {
	int n;
	int conflicts;
};

static void *cas_worker(void *p)
{
	struct cas_arg *a = p;
	char buf[32];

	for (int i = 0; i < a->n; i++) {
		for (;;) {
			struct store_kv kv = { 0 };
			int ret;

			if (store_get(S, K("cas/counter"), &kv, NULL)) {
				a->conflicts = -1000000;
				return NULL;
			}
			snprintf(buf, sizeof(buf), "%ld", atol(kv.value) + 1);
			ret = store_update(S, K("cas/counter"), buf,
					   strlen(buf), kv.mod_rev, NULL, NULL);
			store_kv_free(&kv);
			if (!ret)
				break;
			if (ret != -ECANCELED) {
				a->conflicts = -1000000;
				return NULL;
			}
			a->conflicts++;
		}
	}
	return NULL;
}

/* Concurrent read-modify-write with expected revisions: no lost update,
 * and a watch sees every increment once, in revision order. */
static void test_concurrent_cas(void)
{
	enum { THREADS = 4, PER = 50 };
	struct collector *c = malloc(sizeof(*c));
	struct cas_arg args[THREADS] = { 0 };
	pthread_t th[THREADS];
	struct store_watch *w = NULL;
	struct store_kv kv = { 0 };
	int conflicts = 0;

	col_init(c);
	CHECK_EQ(store_create(S, K("cas/counter"), "0", 1, NULL, NULL), 0);
	CHECK_EQ(store_watch_start(S, K("cas/"), cur_rev(), col_cb, c, &w,
				   NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		args[i].n = PER;
		pthread_create(&th[i], NULL, cas_worker, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].conflicts >= 0);
		conflicts += args[i].conflicts;
	}
	CHECK_EQ(store_get(S, K("cas/counter"), &kv, NULL), 0);
	CHECK_EQ(atol(kv.value ? kv.value : "-1"), THREADS * PER);
	store_kv_free(&kv);
	CHECK_EQ(col_settle(c, THREADS * PER), THREADS * PER);
	for (size_t i = 0; i < c->n; i++) {
		CHECK_EQ(atol(c->ev[i].kv.value), (long)i + 1);
		if (i)
			CHECK(c->ev[i].rev > c->ev[i - 1].rev);
	}
	store_watch_stop(w);
	printf("     (%d conflicts retried)\n", conflicts);
	col_free(c);
	free(c);
}

struct mix_arg {
	unsigned seed;
	int ops;
	int errors;
};

static void *mix_worker(void *p)
{
	struct mix_arg *a = p;
	char key[32], val[32];

	for (int i = 0; i < a->ops; i++) {
		int r = rand_r(&a->seed), ret;

		snprintf(key, sizeof(key), "mix/k%d", r % 8);
		snprintf(val, sizeof(val), "v%u-%d", a->seed % 1000, i);
		switch ((r >> 8) % 3) {
		case 0:
			ret = store_create(S, K(key), val, strlen(val), NULL, NULL);
			if (ret && ret != -EEXIST)
				a->errors++;
			break;
		case 1:
			ret = store_update(S, K(key), val, strlen(val), 0, NULL, NULL);
			if (ret && ret != -ENOENT)
				a->errors++;
			break;
		default:
			ret = store_delete(S, K(key), 0, NULL, NULL, NULL);
			if (ret && ret != -ENOENT)
				a->errors++;
		}
	}
	return NULL;
}

/* Random concurrent creates/updates/deletes on a few keys: replaying the
 * watch's events must be a valid history (create only when absent, update
 * and delete only when present, revisions increasing) that ends in exactly
 * the state a list shows. */
static void test_watch_replay(void)
{
	enum { THREADS = 4, OPS = 100, KEYS = 8 };
	struct collector *c = malloc(sizeof(*c));
	struct mix_arg args[THREADS];
	pthread_t th[THREADS];
	struct store_watch *w = NULL;
	struct store_list l = { 0 };
	char *state[KEYS] = { 0 };
	int64_t start = cur_rev(), end;
	size_t live = 0, n;

	col_init(c);
	CHECK_EQ(store_watch_start(S, K("mix/"), start, col_cb, c, &w, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct mix_arg){ .seed = 1234 + i, .ops = OPS };
		pthread_create(&th[i], NULL, mix_worker, &args[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].errors, 0);
	}
	end = cur_rev();
	CHECK(end > start);
	n = col_settle(c, (size_t)(end - start));
	CHECK_EQ(n, end - start);
	store_watch_stop(w);
	for (size_t i = 0; i < c->n; i++) {
		struct store_event *e = &c->ev[i];
		const char *kp = e->kv.key + strlen(P) + strlen("mix/k");
		int k = atoi(kp);

		CHECK(k >= 0 && k < KEYS);
		if (k < 0 || k >= KEYS)
			continue;
		CHECK_EQ(e->rev, start + 1 + (int64_t)i);
		if (e->type == STORE_EV_CREATE) {
			CHECK(state[k] == NULL);
			CHECK_EQ(e->kv.create_rev, e->rev);
		} else {
			CHECK(state[k] != NULL);
		}
		if (e->type == STORE_EV_DELETE) {
			/* DELETE carries the value it removed. */
			CHECK_STR(e->kv.value, state[k]);
			free(state[k]);
			state[k] = NULL;
		} else {
			free(state[k]);
			state[k] = strdup(e->kv.value);
		}
	}
	CHECK_EQ(store_list(S, K("mix/"), NULL, 0, &l, NULL), 0);
	for (int k = 0; k < KEYS; k++)
		live += state[k] != NULL;
	CHECK_EQ(l.n, live);
	for (size_t i = 0; i < l.n; i++) {
		int k = atoi(l.items[i].key + strlen(P) + strlen("mix/k"));

		CHECK(k >= 0 && k < KEYS && state[k]);
		if (k >= 0 && k < KEYS && state[k])
			CHECK_STR(l.items[i].value, state[k]);
	}
	store_list_free(&l);
	for (int k = 0; k < KEYS; k++)
		free(state[k]);
	col_free(c);
	free(c);
}

/* Runs last: compaction is global to the store. */
static void test_compact(void)
{
	struct collector *c = malloc(sizeof(*c));
	struct store_watch *w = NULL;
	struct store_kv kv = { 0 };
	struct gerr err = { 0 };
	int64_t r0, r1 = 0, r2, rc, r3;

	CHECK_EQ(store_create(S, K("cp/a"), "0", 1, &r0, NULL), 0);
	for (int i = 1; i <= 5; i++)
		CHECK_EQ(store_update(S, K("cp/a"), "n", 1, 0, &r1, NULL), 0);
	CHECK_EQ(store_create(S, K("cp/gone"), "g", 1, NULL, NULL), 0);
	CHECK_EQ(store_delete(S, K("cp/gone"), 0, NULL, NULL, NULL), 0);
	CHECK_EQ(store_update(S, K("cp/a"), "last", 4, 0, &r2, NULL), 0);
	rc = r2;
	CHECK_EQ(store_compact(S, rc, NULL), 0);
	/* Compacting again (or lower) is harmless. */
	CHECK_EQ(store_compact(S, r1, NULL), 0);
	CHECK_EQ(store_watch_start(S, K("cp/"), r1 - 1, col_cb, c, &w, &err),
		 -ERANGE);
	CHECK(err.msg[0] != '\0');
	CHECK_EQ(store_watch_start(S, "", 0, col_cb, c, &w, NULL), -ERANGE);
	{
		struct store_list l = { 0 };

		CHECK_EQ(store_list_at(S, K("cp/"), NULL, 0, r1 - 1, &l, NULL),
			 -ERANGE);
		/* The state at the compact revision itself is intact. */
		CHECK_EQ(store_list_at(S, K("cp/"), NULL, 0, rc, &l, NULL), 0);
		CHECK_EQ(l.n, 1);
		if (l.n == 1)
			CHECK_STR(l.items[0].value, "last");
		store_list_free(&l);
	}
	/* Live values survive; history from the compact revision on works. */
	CHECK_EQ(store_get(S, K("cp/a"), &kv, NULL), 0);
	CHECK_STR(kv.value, "last");
	CHECK_EQ(kv.create_rev, r0);
	CHECK_EQ(kv.mod_rev, r2);
	store_kv_free(&kv);
	CHECK_EQ(store_get(S, K("cp/gone"), &kv, NULL), -ENOENT);
	CHECK_EQ(store_get(S, K("ls/b"), &kv, NULL), 0);
	store_kv_free(&kv);
	col_init(c);
	CHECK_EQ(store_watch_start(S, K("cp/"), rc, col_cb, c, &w, NULL), 0);
	CHECK_EQ(store_update(S, K("cp/a"), "after", 5, r2, &r3, NULL), 0);
	CHECK_EQ(col_settle(c, 1), 1);
	CHECK_EQ(c->ev[0].rev, r3);
	CHECK_EQ(c->ev[0].type, STORE_EV_UPDATE);
	CHECK_EQ(c->ev[0].kv.create_rev, r0);
	store_watch_stop(w);
	col_free(c);
	free(c);
	/* The store still counts on from where it was. */
	CHECK_EQ(cur_rev(), r3);
	CHECK_EQ(store_compact(S, r3 + 100, NULL), -EINVAL);
}

/* Compaction while a watch is behind: the watch still delivers every event
 * after its start (SQLite holds compaction back to the slowest watch; etcd
 * has already streamed them to the synced watcher). */
static void test_compact_running_watch(void)
{
	struct collector *c = malloc(sizeof(*c));
	struct store_watch *w = NULL;
	int64_t ra, rb, rcur, start;

	col_init(c);
	CHECK_EQ(store_create(S, K("cw/a"), "0", 1, NULL, NULL), 0);
	start = cur_rev();
	c->gated = 1;
	CHECK_EQ(store_watch_start(S, K("cw/"), start, col_cb, c, &w, NULL), 0);
	CHECK_EQ(store_update(S, K("cw/a"), "a", 1, 0, &ra, NULL), 0);
	/* Wait until the watch is stuck in the callback with the first one. */
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < 100 && !c->entered; i++) {
		pthread_mutex_unlock(&c->mu);
		usleep(50 * 1000);
		pthread_mutex_lock(&c->mu);
	}
	CHECK(c->entered > 0);
	pthread_mutex_unlock(&c->mu);
	CHECK_EQ(store_update(S, K("cw/a"), "b", 1, 0, &rb, NULL), 0);
	CHECK_EQ(store_update(S, K("cw/a"), "c", 1, 0, &rcur, NULL), 0);
	CHECK_EQ(store_compact(S, rcur, NULL), 0);
	pthread_mutex_lock(&c->mu);
	c->gated = 0;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	CHECK_EQ(col_settle(c, 3), 3);
	CHECK_EQ(c->ev[0].rev, ra);
	CHECK_EQ(c->ev[1].rev, rb);
	CHECK_STR(c->ev[1].kv.value, "b");
	CHECK_EQ(c->ev[2].rev, rcur);
	store_watch_stop(w);
	col_free(c);
	/* Once no watch holds it back, the compaction goes through. */
	CHECK_EQ(store_compact(S, rcur, NULL), 0);
	col_init(c);
	CHECK_EQ(store_watch_start(S, K("cw/"), start, col_cb, c, &w, NULL),
		 -ERANGE);
	col_free(c);
	free(c);
}

static void test_errors(void)
{
	struct store *s2 = NULL;
	struct gerr err = { 0 };

	CHECK_EQ(store_open("nope:x", &s2, &err), -EINVAL);
	CHECK(s2 == NULL);
	CHECK_EQ(store_open("sqlite:", &s2, NULL), -EINVAL);
	CHECK_EQ(store_open("etcd:ftp://x", &s2, NULL), -EINVAL);
	/* Nothing listens on port 1: refused, reported at open. */
	CHECK_EQ(store_open("etcd:http://127.0.0.1:1", &s2, NULL), -ECONNREFUSED);
	CHECK(s2 == NULL);
	CHECK_EQ(store_create(S, "", "x", 1, NULL, NULL), -EINVAL);
	CHECK_EQ(store_update(S, K("x"), "x", 1, -1, NULL, NULL), -EINVAL);
}

/* ---- crash test helpers ---- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void *crash_worker(void *p)
{
	long id = (long)p;
	char key[96], val[64];
	int64_t rev;

	for (long i = 0;; i++) {
		struct gerr err = { 0 };
		int ret;

		snprintf(val, sizeof(val), "%ld", i);
		if (id == 0 && i % 2) {
			snprintf(key, sizeof(key), "/crash/counter");
			ret = store_update(S, key, val, strlen(val), 0, &rev, &err);
		} else {
			snprintf(key, sizeof(key), "/crash/p%d-t%ld/%08ld",
				 (int)getpid(), id, i);
			ret = store_create(S, key, val, strlen(val), &rev, &err);
		}
		if (ret) {
			fprintf(stderr, "crash writer: %s\n", err.msg);
			exit(2);
		}
		/* One write() per acknowledged write: whatever reached the
		 * output file was acknowledged before the kill. */
		pthread_mutex_lock(&out_mu);
		printf("%s %lld %s\n", key, (long long)rev, val);
		fflush(stdout);
		pthread_mutex_unlock(&out_mu);
	}
	return NULL;
}

static int crash_writer(void)
{
	pthread_t th[2];

	int ret = store_create(S, "/crash/counter", "start", 5, NULL, NULL);

	/* A second writer on the same store finds the counter there. */
	if (ret && ret != -EEXIST)
		return 2;
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, crash_worker, (void *)i);
	pthread_join(th[0], NULL);
	return 0;
}

static int crash_verify(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[256], key[128], val[64];
	long long rev, max_rev = 0, counter_rev = 0;
	long n = 0, bad = 0;
	struct store_kv kv;
	int64_t now = 0;

	if (!f) {
		perror(file);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			break;          /* torn last line: not acknowledged */
		if (sscanf(line, "%127s %lld %63s", key, &rev, val) != 3)
			continue;
		n++;
		if (rev > max_rev)
			max_rev = rev;
		if (!strcmp(key, "/crash/counter")) {
			if (rev > counter_rev)
				counter_rev = rev;
			continue;
		}
		memset(&kv, 0, sizeof(kv));
		if (store_get(S, key, &kv, NULL) || kv.mod_rev != rev ||
		    strcmp(kv.value, val)) {
			if (bad++ < 5)
				fprintf(stderr, "lost: %s rev %lld\n", key, rev);
		}
		store_kv_free(&kv);
	}
	fclose(f);
	memset(&kv, 0, sizeof(kv));
	if (store_get(S, "/crash/counter", &kv, NULL) ||
	    kv.mod_rev < counter_rev) {
		fprintf(stderr, "lost: counter update at %lld\n", counter_rev);
		bad++;
	}
	store_kv_free(&kv);
	if (store_revision(S, &now, NULL) || now < max_rev) {
		fprintf(stderr, "store revision %lld < acknowledged %lld\n",
			(long long)now, max_rev);
		bad++;
	}
	printf("crash verify: %ld acknowledged writes checked, %ld lost, "
	       "store revision %lld\n", n, bad, (long long)now);
	return n > 0 && !bad ? 0 : 1;
}

/* A separate process watching while others write (the same SQLite file, or
 * an etcd that is killed and restarted under it). */
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	got_term = 1;
}

static int print_cb(const struct store_event *ev, void *arg)
{
	printf("%lld %d %s\n", (long long)ev->rev, (int)ev->type, ev->kv.key);
	fflush(stdout);
	return 0;
}

static int watch_print(const char *prefix)
{
	struct store_watch *w = NULL;
	struct gerr err = { 0 };
	int64_t rev = 0;

	signal(SIGTERM, on_term);
	if (store_revision(S, &rev, &err) ||
	    store_watch_start(S, prefix, rev, print_cb, NULL, &w, &err)) {
		fprintf(stderr, "watch: %s\n", err.msg);
		return 2;
	}
	fprintf(stderr, "watching %s from %lld\n", prefix, (long long)rev);
	while (!got_term)
		pause();
	store_watch_stop(w);
	return 0;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T(test_create_get), T(test_update), T(test_delete),
		T(test_revision_order), T(test_list), T(test_watch),
		T(test_concurrent_cas), T(test_watch_replay), T(test_errors),
		T(test_compact),
		T(test_compact_running_watch),
	};
	const char *mode = NULL, *uri;
	struct gerr err = { 0 };
	int ret;

	if (argc >= 3 && !strncmp(argv[1], "--", 2)) {
		mode = argv[1];
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s [--crash-writer|--crash-verify] URI [FILE]\n",
			argv[0]);
		return 2;
	}
	uri = argv[1];
	if (store_open(uri, &S, &err)) {
		fprintf(stderr, "store_open %s: %s\n", uri, err.msg);
		return 2;
	}
	if (mode && !strcmp(mode, "--crash-writer"))
		return crash_writer();
	if (mode && !strcmp(mode, "--watch-print"))
		ret = argc >= 3 ? watch_print(argv[2]) : 2;
	else if (mode && !strcmp(mode, "--crash-verify"))
		ret = argc >= 3 ? crash_verify(argv[2]) : 2;
	else {
		snprintf(P, sizeof(P), "/conf-%d-%ld/", (int)getpid(),
			 (long)time(NULL));
		printf("store conformance on %s (keys under %s)\n", uri, P);
		ret = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	}
	store_close(S);
	return ret;
}
