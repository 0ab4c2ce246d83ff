// SPDX-License-Identifier: Apache-2.0
/* Runtime library used the way the agent will: linked in, from several
 * threads. Needs root and runc, so suite 45-runtime runs it (not the unit
 * suite): runtime_api_test STATE_DIR CGROUP_PARENT NETNS_PATH.
 * Starts a pod-like set of containers through rt_run from 4 threads at
 * once, probes them concurrently (tcpSocket/httpGet from the pod netns while
 * other threads stay in the caller's), adopts them from a second handle,
 * stops them gracefully and removes them. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/runtime/runtime.h"
#include "tests/unit/test.h"

static const char *state, *cgparent, *netns;
static struct rt *rt;

#define NTHREADS 4
static char ids[NTHREADS][80];
static int run_rc[NTHREADS];
static char run_msg[NTHREADS][512];

static void *runner(void *arg)
{
	long i = (long)arg;
	char script[256];
	struct gerr e = { 0 };

	/* Each container listens on its own port: 9100 + i. */
	snprintf(script, sizeof(script),
		 "mkdir -p /w && echo ok-%ld > /w/index.html && httpd -p %ld -h /w && "
		 "trap 'exit 0' TERM; while :; do sleep 0.1; done", i, 9100 + i);
	const char *cmd[] = { "sh", "-c", script, NULL };
	struct rt_kv env[] = { { "IDX", "x" } };
	char name[32];
	snprintf(name, sizeof(name), "c%ld", i);
	struct rt_container_spec spec = {
		.name = name, .pod_namespace = "default", .pod_name = "api-pod",
		.pod_uid = "uid-api", .image = "busybox", .command = cmd, .env = env, .nenv = 1,
		.netns_path = netns, .res = { .mem_limit_bytes = 32 << 20 },
	};
	run_rc[i] = rt_run(rt, &spec, ids[i], sizeof(ids[i]), &e);
	snprintf(run_msg[i], sizeof(run_msg[i]), "%s", e.msg);
	return NULL;
}

static int probe_ok[NTHREADS * 2], probe_rc[NTHREADS * 2];

static void *prober(void *arg)
{
	long i = (long)arg;
	int c = (int)(i % NTHREADS);
	struct rt_probe p = { .kind = i < NTHREADS ? RT_PROBE_TCP : RT_PROBE_HTTP,
			      .host = "127.0.0.1", .port = 9100 + c, .path = "/index.html",
			      .timeout_sec = 2 };
	char msg[256];
	bool ok = false;

	/* The server may need a moment after rt_run returned. */
	for (int tries = 0; tries < 20; tries++) {
		probe_rc[i] = rt_probe_run(rt, ids[c], netns, &p, &ok, msg, sizeof(msg), NULL);
		if (probe_rc[i] || ok)
			break;
		usleep(100000);
	}
	probe_ok[i] = ok;
	return NULL;
}

static void test_concurrent_run_probe_adopt(void)
{
	pthread_t t[NTHREADS * 2];
	struct gerr e = { 0 };

	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, runner, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		if (run_rc[i])
			fprintf(stderr, "run %d: %s\n", i, run_msg[i]);
		CHECK_EQ(run_rc[i], 0);
	}

	for (long i = 0; i < NTHREADS * 2; i++)
		pthread_create(&t[i], NULL, prober, (void *)i);
	for (int i = 0; i < NTHREADS * 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS * 2; i++) {
		CHECK_EQ(probe_rc[i], 0);
		CHECK(probe_ok[i]);
	}
	/* The probing threads entered the pod netns; this one did not, and
	 * nothing listens on 9100 here (our netns is the node's). */
	struct rt_probe p = { .kind = RT_PROBE_TCP, .host = "127.0.0.1", .port = 9100,
			      .timeout_sec = 1 };
	bool ok = true;
	char msg[256];
	CHECK_EQ(rt_probe_run(rt, ids[0], "/proc/self/ns/net", &p, &ok, msg, sizeof(msg), NULL), 0);
	(void)ok;   /* informational: the node netns may have something on 9100 */

	/* Exec probe through the API. */
	const char *cmd[] = { "sh", "-c", "test \"$IDX\" = x", NULL };
	struct rt_probe ep = { .kind = RT_PROBE_EXEC, .command = cmd, .timeout_sec = 2 };
	CHECK_EQ(rt_probe_run(rt, ids[1], NULL, &ep, &ok, msg, sizeof(msg), &e), 0);
	CHECK(ok);

	/* A second handle on the same state dir (an agent restart) adopts. */
	struct rt *r2 = NULL;
	struct rt_opts o = { .state_dir = state, .cgroup_parent = cgparent };
	CHECK_EQ(rt_open(&o, &r2, &e), 0);
	if (r2) {
		char **list = NULL;
		CHECK_EQ(rt_list(r2, &list, &e), 0);
		CHECK_EQ(rt_strv_len(list), NTHREADS);
		for (char **l = list; l && *l; l++) {
			struct rt_status st;
			CHECK_EQ(rt_status(r2, *l, &st, &e), 0);
			CHECK_EQ(st.state, RT_RUNNING);
			CHECK_STR(st.pod_uid, "uid-api");
			CHECK_STR(st.pod_name, "api-pod");
			CHECK(!strncmp(st.name, "c", 1));
			CHECK(st.started.tv_sec > 0);
		}
		rt_strv_free(list);

		/* Graceful stop from the adopting handle: the TERM trap exits 0. */
		for (int i = 0; i < NTHREADS; i++) {
			struct rt_status st;
			CHECK_EQ(rt_stop(r2, ids[i], 5, &e), 0);
			CHECK_EQ(rt_status(r2, ids[i], &st, &e), 0);
			CHECK_EQ(st.state, RT_EXITED);
			CHECK_EQ(st.exit_code, 0);
			CHECK_STR(st.reason, "Completed");
			CHECK(st.finished.tv_sec >= st.started.tv_sec);
			CHECK_EQ(rt_remove(r2, ids[i], &e), 0);
		}
		char **left = NULL;
		CHECK_EQ(rt_list(r2, &left, &e), 0);
		CHECK_EQ(rt_strv_len(left), 0);
		rt_strv_free(left);
		rt_close(r2);
	}
	if (e.msg[0])
		fprintf(stderr, "last error: %s\n", e.msg);
}

static void test_errors(void)
{
	struct gerr e = { 0 };
	char id[80];
	const char *cmd[] = { "true", NULL };
	struct rt_container_spec s = { .image = "nope:0", .command = cmd, .netns_path = netns };

	CHECK_EQ(rt_run(rt, &s, id, sizeof(id), &e), -ENOENT);
	CHECK(strstr(e.msg, "not found") != NULL);
	memset(&e, 0, sizeof(e));
	const char *bad[] = { "/no/such", NULL };
	s.image = "busybox";
	s.command = bad;
	CHECK_EQ(rt_run(rt, &s, id, sizeof(id), &e), -ENOENT);
	CHECK(strstr(e.msg, "runc run failed") != NULL);
	struct rt_status st;
	CHECK_EQ(rt_status(rt, "no-such-container", &st, NULL), -ENOENT);
	CHECK_EQ(rt_remove(rt, "no-such-container", NULL), -ENOENT);
	CHECK_EQ(rt_stop(rt, "../x", 1, NULL), -EINVAL);
	char **list = NULL;
	CHECK_EQ(rt_list(rt, &list, NULL), 0);
	CHECK_EQ(rt_strv_len(list), 0);
	rt_strv_free(list);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = {
		T(test_concurrent_run_probe_adopt), T(test_errors),
	};
	struct gerr e = { 0 };

	if (argc != 4) {
		fprintf(stderr, "usage: %s STATE_DIR CGROUP_PARENT NETNS_PATH\n", argv[0]);
		return 2;
	}
	state = argv[1];
	cgparent = argv[2];
	netns = argv[3];
	signal(SIGPIPE, SIG_IGN);
	struct rt_opts o = { .state_dir = state, .cgroup_parent = cgparent };
	if (rt_open(&o, &rt, &e)) {
		fprintf(stderr, "rt_open: %s\n", e.msg);
		return 1;
	}
	int rc = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	rt_close(rt);
	return rc;
}
