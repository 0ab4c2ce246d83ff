// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the runtime library's pure parts: OCI config generation
 * (command/args/env semantics, securityContext -> user, capabilities,
 * no_new_privs, readonly root; mounts; resources -> linux.resources; bad
 * input), Kubernetes quantities, back-off sequence, CRI log line parsing,
 * image reference normalization. No root, no runc. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/runtime/runtime.h"
#include "tests/unit/test.h"

static char img_root[256];

/* A fake image rootfs with /etc/passwd and /etc/group for user lookups. */
static void make_image_root(void)
{
	char p[512];
	FILE *f;

	snprintf(img_root, sizeof(img_root), "/tmp/rt-unit-%d", (int)getpid());
	snprintf(p, sizeof(p), "%s/etc", img_root);
	mkdir(img_root, 0755);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/passwd", img_root);
	f = fopen(p, "w");
	fputs("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n"
	      "web:x:33:44::/var/www:/bin/false\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/etc/group", img_root);
	f = fopen(p, "w");
	fputs("root:x:0:\nuser:x:1000:\nstaff:x:50:\n", f);
	fclose(f);
}

static void rm_image_root(void)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/etc/passwd", img_root); unlink(p);
	snprintf(p, sizeof(p), "%s/etc/group", img_root); unlink(p);
	snprintf(p, sizeof(p), "%s/etc", img_root); rmdir(p);
	rmdir(img_root);
}

static char *img_entry[] = { "/entry", NULL };
static char *img_cmd[] = { "default-arg", NULL };
static char *img_env[] = { "PATH=/img/bin", "FOO=image", "KEEP=1", NULL };

static struct rt_image_config image = {
	.entrypoint = img_entry, .cmd = img_cmd, .env = img_env, .working_dir = "/srv",
};

static json_t *gen(const struct rt_container_spec *s, const struct rt_image_config *img,
		   int *rc_out, struct gerr *e)
{
	struct rt_oci_params p = { .rootfs = "rootfs", .cgroups_path = "gannet/n1/c1",
				   .image = img, .image_rootfs = img_root };
	json_t *cfg = NULL;
	struct gerr le = { 0 };
	int rc = rt_oci_config(s, &p, &cfg, e ? e : &le);
	if (rc_out)
		*rc_out = rc;
	return cfg;
}

static const char *jstr(json_t *j, const char *path)
{
	json_t *v = j;
	char buf[256], *save, *tok;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return json_string_value(v);
}

static json_t *jget(json_t *j, const char *path)
{
	json_t *v = j;
	char buf[256], *save, *tok;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v;
}

static bool arr_has(json_t *a, const char *s)
{
	size_t i;
	json_t *it;
	json_array_foreach(a, i, it)
		if (json_is_string(it) && !strcmp(json_string_value(it), s))
			return true;
	return false;
}

static const char *arr_s(json_t *a, size_t i)
{
	return json_string_value(json_array_get(a, i));
}

static void test_command_semantics(void)
{
	static const char *cmd[] = { "/bin/app", "-x", NULL };
	static const char *args[] = { "a1", "a2", NULL };
	struct rt_container_spec s = { .image = "img" };
	json_t *c;

	/* Neither: entrypoint + cmd of the image. */
	c = gen(&s, &image, NULL, NULL);
	json_t *a = jget(c, "process.args");
	CHECK_EQ(json_array_size(a), 2);
	CHECK_STR(arr_s(a, 0), "/entry");
	CHECK_STR(arr_s(a, 1), "default-arg");
	json_decref(c);
	/* args only: entrypoint + args. */
	s.args = args;
	c = gen(&s, &image, NULL, NULL);
	a = jget(c, "process.args");
	CHECK_EQ(json_array_size(a), 3);
	CHECK_STR(arr_s(a, 0), "/entry");
	CHECK_STR(arr_s(a, 2), "a2");
	json_decref(c);
	/* command + args: image ignored. */
	s.command = cmd;
	c = gen(&s, &image, NULL, NULL);
	a = jget(c, "process.args");
	CHECK_EQ(json_array_size(a), 4);
	CHECK_STR(arr_s(a, 0), "/bin/app");
	CHECK_STR(arr_s(a, 3), "a2");
	json_decref(c);
	/* command only: the image's cmd is NOT appended. */
	s.args = NULL;
	c = gen(&s, &image, NULL, NULL);
	a = jget(c, "process.args");
	CHECK_EQ(json_array_size(a), 2);
	CHECK_STR(arr_s(a, 1), "-x");
	json_decref(c);
	/* Nothing anywhere: clear error. */
	struct rt_image_config empty = { 0 };
	struct rt_container_spec s2 = { .image = "scratch" };
	struct gerr e = { 0 };
	int rc;
	c = gen(&s2, &empty, &rc, &e);
	CHECK(c == NULL);
	CHECK_EQ(rc, -EINVAL);
	CHECK(strstr(e.msg, "no command") != NULL);
}

static void test_env_cwd_hostname(void)
{
	static const char *cmd[] = { "x", NULL };
	struct rt_kv env[] = { { "FOO", "container" }, { "NEW", "v=1" } };
	struct rt_container_spec s = { .image = "i", .command = cmd, .env = env, .nenv = 2,
				       .pod_name = "web-0" };
	json_t *c = gen(&s, &image, NULL, NULL), *ev = jget(c, "process.env");

	CHECK(arr_has(ev, "FOO=container"));
	CHECK(!arr_has(ev, "FOO=image"));
	CHECK(arr_has(ev, "KEEP=1"));
	CHECK(arr_has(ev, "NEW=v=1"));
	CHECK(arr_has(ev, "PATH=/img/bin"));
	CHECK(arr_has(ev, "HOSTNAME=web-0"));
	CHECK_STR(jstr(c, "hostname"), "web-0");
	CHECK_STR(jstr(c, "process.cwd"), "/srv");
	json_decref(c);

	/* No image PATH: a default one; workingDir from the container wins. */
	s.working_dir = "/data";
	c = gen(&s, NULL, NULL, NULL);
	ev = jget(c, "process.env");
	CHECK(arr_has(ev, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	CHECK_STR(jstr(c, "process.cwd"), "/data");
	json_decref(c);

	struct gerr e = { 0 };
	int rc;
	s.working_dir = "relative";
	CHECK(gen(&s, NULL, &rc, &e) == NULL);
	CHECK_EQ(rc, -EINVAL);
	struct rt_kv bad[] = { { "A=B", "x" } };
	s.working_dir = NULL;
	s.env = bad;
	s.nenv = 1;
	CHECK(gen(&s, NULL, &rc, NULL) == NULL);
	CHECK_EQ(rc, -EINVAL);
}

static void test_security_context(void)
{
	static const char *cmd[] = { "x", NULL };
	struct rt_container_spec s = { .image = "i", .command = cmd };
	json_t *c;

	/* Defaults: root, Docker's 14 capabilities, no_new_privs off, rw root,
	 * masked paths present. */
	c = gen(&s, NULL, NULL, NULL);
	CHECK_EQ(json_integer_value(jget(c, "process.user.uid")), 0);
	CHECK_EQ(json_array_size(jget(c, "process.capabilities.bounding")), 14);
	CHECK(arr_has(jget(c, "process.capabilities.effective"), "CAP_NET_BIND_SERVICE"));
	CHECK(!arr_has(jget(c, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));
	CHECK(json_is_false(jget(c, "process.noNewPrivileges")));
	CHECK(json_is_false(jget(c, "root.readonly")));
	CHECK(json_array_size(jget(c, "linux.maskedPaths")) > 0);
	json_decref(c);

	/* runAsUser 1000 (gid from the image's passwd), readOnlyRootFilesystem,
	 * allowPrivilegeEscalation=false, drop ALL + add NET_BIND_SERVICE. */
	static const char *drop[] = { "ALL", NULL };
	static const char *add[] = { "NET_BIND_SERVICE", "CAP_CHOWN", NULL };
	s.sec.has_uid = true;
	s.sec.run_as_user = 1000;
	s.sec.read_only_root = RT_TRUE;
	s.sec.allow_privilege_escalation = RT_FALSE;
	s.sec.cap_drop = drop;
	s.sec.cap_add = add;
	c = gen(&s, NULL, NULL, NULL);
	CHECK_EQ(json_integer_value(jget(c, "process.user.uid")), 1000);
	CHECK_EQ(json_integer_value(jget(c, "process.user.gid")), 1000);
	CHECK(json_is_true(jget(c, "root.readonly")));
	CHECK(json_is_true(jget(c, "process.noNewPrivileges")));
	CHECK_EQ(json_array_size(jget(c, "process.capabilities.bounding")), 2);
	CHECK(arr_has(jget(c, "process.capabilities.permitted"), "CAP_NET_BIND_SERVICE"));
	CHECK(arr_has(jget(c, "process.capabilities.permitted"), "CAP_CHOWN"));
	json_decref(c);

	/* runAsGroup + supplemental groups. */
	gid_t sup[] = { 50, 60 };
	s.sec.has_gid = true;
	s.sec.run_as_group = 3000;
	s.sec.supplemental_groups = sup;
	s.sec.nsupplemental = 2;
	c = gen(&s, NULL, NULL, NULL);
	CHECK_EQ(json_integer_value(jget(c, "process.user.gid")), 3000);
	CHECK_EQ(json_array_size(jget(c, "process.user.additionalGids")), 2);
	json_decref(c);

	/* Drop a single capability from the default set. */
	static const char *drop1[] = { "NET_RAW", NULL };
	struct rt_container_spec s2 = { .image = "i", .command = cmd };
	s2.sec.cap_drop = drop1;
	c = gen(&s2, NULL, NULL, NULL);
	CHECK_EQ(json_array_size(jget(c, "process.capabilities.bounding")), 13);
	CHECK(!arr_has(jget(c, "process.capabilities.bounding"), "CAP_NET_RAW"));
	json_decref(c);

	/* Unknown capability -> clear error. */
	static const char *badcap[] = { "NET_WIZARDRY", NULL };
	struct gerr e = { 0 };
	int rc;
	s2.sec.cap_drop = NULL;
	s2.sec.cap_add = badcap;
	CHECK(gen(&s2, NULL, &rc, &e) == NULL);
	CHECK_EQ(rc, -EINVAL);
	CHECK(strstr(e.msg, "NET_WIZARDRY") != NULL);

	/* runAsNonRoot with an image running as root -> refused. */
	struct rt_container_spec s3 = { .image = "i", .command = cmd };
	s3.sec.run_as_non_root = RT_TRUE;
	memset(&e, 0, sizeof(e));
	CHECK(gen(&s3, NULL, &rc, &e) == NULL);
	CHECK(strstr(e.msg, "runAsNonRoot") != NULL);
	/* ... but fine with the image's named non-root user. */
	struct rt_image_config iu = { .user = "web" };
	c = gen(&s3, &iu, &rc, NULL);
	CHECK(c != NULL);
	CHECK_EQ(json_integer_value(jget(c, "process.user.uid")), 33);
	CHECK_EQ(json_integer_value(jget(c, "process.user.gid")), 44);
	json_decref(c);
	struct rt_image_config iu2 = { .user = "user:staff" };
	c = gen(&s3, &iu2, &rc, NULL);
	CHECK_EQ(json_integer_value(jget(c, "process.user.uid")), 1000);
	CHECK_EQ(json_integer_value(jget(c, "process.user.gid")), 50);
	json_decref(c);
	struct rt_image_config iu3 = { .user = "ghost" };
	CHECK(gen(&s3, &iu3, &rc, NULL) == NULL);
	CHECK_EQ(rc, -EINVAL);

	/* privileged: every capability, no masked paths, all devices. */
	struct rt_container_spec s4 = { .image = "i", .command = cmd };
	s4.sec.privileged = RT_TRUE;
	c = gen(&s4, NULL, NULL, NULL);
	CHECK(arr_has(jget(c, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));
	CHECK(jget(c, "linux.maskedPaths") == NULL);
	CHECK(json_is_true(json_object_get(json_array_get(jget(c, "linux.resources.devices"), 0),
					   "allow")));
	json_decref(c);

	/* tty -> process.terminal */
	struct rt_container_spec s5 = { .image = "i", .command = cmd, .tty = true };
	c = gen(&s5, NULL, &rc, NULL);
	CHECK(json_is_true(jget(c, "process.terminal")));
	json_decref(c);
	c = gen(&s4, NULL, &rc, NULL);
	CHECK(json_is_false(jget(c, "process.terminal")));
	json_decref(c);
}

static void test_mounts_netns(void)
{
	static const char *cmd[] = { "x", NULL };
	struct rt_mount m[] = {
		{ "/var/lib/pod/cm", "/etc/config", true },
		{ "/var/lib/pod/data", "/data", false },
	};
	struct rt_container_spec s = { .image = "i", .command = cmd, .mounts = m, .nmounts = 2,
				       .netns_path = "/run/netns/pod1" };
	json_t *c = gen(&s, NULL, NULL, NULL), *mounts = jget(c, "mounts"), *it, *cm = NULL,
	       *data = NULL;
	size_t i;

	json_array_foreach(mounts, i, it) {
		const char *d = json_string_value(json_object_get(it, "destination"));
		if (!strcmp(d, "/etc/config"))
			cm = it;
		if (!strcmp(d, "/data"))
			data = it;
	}
	CHECK(cm && data);
	if (cm && data) {
		CHECK_STR(jstr(cm, "type"), "bind");
		CHECK_STR(jstr(cm, "source"), "/var/lib/pod/cm");
		CHECK(arr_has(json_object_get(cm, "options"), "ro"));
		CHECK(arr_has(json_object_get(cm, "options"), "rbind"));
		CHECK(arr_has(json_object_get(data, "options"), "rw"));
		CHECK(!arr_has(json_object_get(data, "options"), "ro"));
	}
	bool found = false;
	json_array_foreach(jget(c, "linux.namespaces"), i, it)
		if (!strcmp(jstr(it, "type"), "network")) {
			found = true;
			CHECK_STR(jstr(it, "path"), "/run/netns/pod1");
		}
	CHECK(found);
	CHECK_STR(jstr(c, "linux.cgroupsPath"), "gannet/n1/c1");
	CHECK(json_is_false(jget(c, "root.readonly")));
	CHECK_STR(jstr(c, "root.path"), "rootfs");
	json_decref(c);

	int rc;
	struct rt_mount bad[] = { { "relative", "/x", false } };
	s.mounts = bad;
	s.nmounts = 1;
	CHECK(gen(&s, NULL, &rc, NULL) == NULL);
	CHECK_EQ(rc, -EINVAL);
}

static void test_resources(void)
{
	static const char *cmd[] = { "x", NULL };
	struct rt_container_spec s = { .image = "i", .command = cmd };
	json_t *c;
	int rc;

	s.res.mem_limit_bytes = 64 << 20;
	s.res.cpu_limit_milli = 500;
	s.res.cpu_request_milli = 250;
	s.res.pids_limit = 100;
	c = gen(&s, NULL, NULL, NULL);
	CHECK_EQ(json_integer_value(jget(c, "linux.resources.memory.limit")), 64 << 20);
	CHECK_EQ(json_integer_value(jget(c, "linux.resources.cpu.quota")), 50000);
	CHECK_EQ(json_integer_value(jget(c, "linux.resources.cpu.period")), 100000);
	CHECK_EQ(json_integer_value(jget(c, "linux.resources.cpu.shares")), 256);
	CHECK_EQ(json_integer_value(jget(c, "linux.resources.pids.limit")), 100);
	json_decref(c);

	/* Limit only: request defaults to the limit (shares), as Kubernetes. */
	struct rt_container_spec s2 = { .image = "i", .command = cmd };
	s2.res.cpu_limit_milli = 2000;
	c = gen(&s2, NULL, NULL, NULL);
	CHECK_EQ(json_integer_value(jget(c, "linux.resources.cpu.shares")), 2048);
	CHECK(jget(c, "linux.resources.memory") == NULL);
	json_decref(c);

	/* Impossible requests. */
	struct gerr e = { 0 };
	struct rt_container_spec s3 = { .image = "i", .command = cmd };
	s3.res.mem_limit_bytes = 1024;
	CHECK(gen(&s3, NULL, &rc, &e) == NULL);
	CHECK_EQ(rc, -EINVAL);
	CHECK(strstr(e.msg, "memory limit") != NULL);
	s3.res.mem_limit_bytes = 64 << 20;
	s3.res.mem_request_bytes = 128 << 20;
	CHECK(gen(&s3, NULL, &rc, NULL) == NULL);
	s3.res.mem_request_bytes = 0;
	s3.res.cpu_limit_milli = 100;
	s3.res.cpu_request_milli = 200;
	CHECK(gen(&s3, NULL, &rc, NULL) == NULL);
	s3.res.cpu_request_milli = -1;
	CHECK(gen(&s3, NULL, &rc, NULL) == NULL);
}

static void test_quantities(void)
{
	int64_t v;
	CHECK_EQ(rt_parse_memory("128Mi", &v), 0); CHECK_EQ(v, 128LL << 20);
	CHECK_EQ(rt_parse_memory("1G", &v), 0); CHECK_EQ(v, 1000000000LL);
	CHECK_EQ(rt_parse_memory("1.5Gi", &v), 0); CHECK_EQ(v, 1610612736LL);
	CHECK_EQ(rt_parse_memory("4096", &v), 0); CHECK_EQ(v, 4096);
	CHECK_EQ(rt_parse_memory("1e3", &v), 0); CHECK_EQ(v, 1000);
	CHECK(rt_parse_memory("12XB", &v) < 0);
	CHECK(rt_parse_memory("", &v) < 0);
	CHECK(rt_parse_memory("-5Mi", &v) < 0);
	CHECK_EQ(rt_parse_cpu("500m", &v), 0); CHECK_EQ(v, 500);
	CHECK_EQ(rt_parse_cpu("2", &v), 0); CHECK_EQ(v, 2000);
	CHECK_EQ(rt_parse_cpu("0.1", &v), 0); CHECK_EQ(v, 100);
	CHECK(rt_parse_cpu("fast", &v) < 0);
	CHECK_EQ(rt_cap_number("NET_ADMIN"), 12);
	CHECK_EQ(rt_cap_number("cap_sys_admin"), 21);
	CHECK(rt_cap_number("CAP_NOPE") < 0);
}

static void test_backoff(void)
{
	static const unsigned want[] = { 10, 20, 40, 80, 160, 300, 300, 300 };
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(rt_backoff_delay(i), want[i]);
	CHECK_EQ(rt_backoff_delay(1000), 300);

	struct rt_backoff b = { 0 };
	CHECK_EQ(rt_backoff_next(&b, 100, 1), 10);
	CHECK_EQ(rt_backoff_next(&b, 120, 1), 20);
	CHECK_EQ(rt_backoff_next(&b, 150, 1), 40);
	CHECK_EQ(b.restarts, 3);
	/* Ran for 10 minutes: back to the initial delay. */
	CHECK_EQ(rt_backoff_next(&b, 900, RT_BACKOFF_RESET_SEC), 10);
	CHECK_EQ(rt_backoff_next(&b, 920, 2), 20);
}

static void test_restart_and_probe_thresholds(void)
{
	enum rt_restart_policy p;
	CHECK_EQ(rt_restart_policy_parse("OnFailure", &p), 0);
	CHECK(!rt_should_restart(p, 0));
	CHECK(rt_should_restart(p, 1));
	CHECK(rt_should_restart(p, 137));
	CHECK_EQ(rt_restart_policy_parse("Never", &p), 0);
	CHECK(!rt_should_restart(p, 1));
	CHECK_EQ(rt_restart_policy_parse(NULL, &p), 0);
	CHECK_EQ(p, RT_RESTART_ALWAYS);
	CHECK(rt_should_restart(p, 0));
	CHECK(rt_restart_policy_parse("Sometimes", &p) < 0);

	/* Liveness: failureThreshold 3, starts OK. */
	struct rt_probe_tracker live = { .result = RT_PROBE_OK };
	CHECK(!rt_probe_record(&live, false, 1, 3));
	CHECK(!rt_probe_record(&live, false, 1, 3));
	CHECK(!rt_probe_record(&live, true, 1, 3));     /* resets the failure run */
	CHECK(!rt_probe_record(&live, false, 1, 3));
	CHECK(!rt_probe_record(&live, false, 1, 3));
	CHECK(rt_probe_record(&live, false, 1, 3));     /* third in a row: flips */
	CHECK_EQ(live.result, RT_PROBE_FAILED);
	/* Readiness: successThreshold 2, starts not ready. */
	struct rt_probe_tracker ready = { .result = RT_PROBE_FAILED };
	CHECK(!rt_probe_record(&ready, true, 2, 1));
	CHECK(rt_probe_record(&ready, true, 2, 1));
	CHECK_EQ(ready.result, RT_PROBE_OK);
	CHECK(rt_probe_record(&ready, false, 2, 0));    /* threshold 0 counts as 1 */
	CHECK_EQ(ready.result, RT_PROBE_FAILED);
}

static void test_log_parse(void)
{
	char l1[] = "2026-01-02T03:04:05.123456789Z stdout F hello world";
	char l2[] = "2026-01-02T03:04:05.1Z stderr P part";
	char l3[] = "2026-01-02T03:04:05Z stdout F ";
	char bad[] = "garbage";
	char *ts, *st, *tx;
	bool p;

	CHECK_EQ(rt_log_parse_line(l1, &ts, &st, &p, &tx), 0);
	CHECK_STR(ts, "2026-01-02T03:04:05.123456789Z");
	CHECK_STR(st, "stdout");
	CHECK(!p);
	CHECK_STR(tx, "hello world");
	CHECK_EQ(rt_log_parse_line(l2, &ts, &st, &p, &tx), 0);
	CHECK_STR(st, "stderr");
	CHECK(p);
	CHECK_STR(tx, "part");
	CHECK_EQ(rt_log_parse_line(l3, &ts, &st, &p, &tx), 0);
	CHECK_STR(tx, "");
	CHECK(rt_log_parse_line(bad, &ts, &st, &p, &tx) < 0);
}

static void test_image_refs(void)
{
	char out[256];
	CHECK_EQ(rt_image_normalize("busybox", out, sizeof(out), NULL), 0);
	CHECK_STR(out, "busybox:latest");
	CHECK_EQ(rt_image_normalize("docker.io/library/busybox:1.36", out, sizeof(out), NULL), 0);
	CHECK_STR(out, "busybox:1.36");
	CHECK_EQ(rt_image_normalize("docker.io/nginx", out, sizeof(out), NULL), 0);
	CHECK_STR(out, "nginx:latest");
	CHECK_EQ(rt_image_normalize("registry:5000/team/app", out, sizeof(out), NULL), 0);
	CHECK_STR(out, "registry:5000/team/app:latest");
	CHECK_EQ(rt_image_normalize("quay.io/x/y:v2", out, sizeof(out), NULL), 0);
	CHECK_STR(out, "quay.io/x/y:v2");
	CHECK(rt_image_normalize("", out, sizeof(out), NULL) < 0);
	CHECK(rt_image_normalize("a b", out, sizeof(out), NULL) < 0);
	CHECK(rt_image_normalize("../../etc", out, sizeof(out), NULL) < 0);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return f ? buf : NULL;
}

static void test_volume_files(void)
{
	char pod[256], path[4096], p[4300];
	struct gerr e = { 0 };
	struct rt_kv items[] = { { "a.conf", "one" }, { "dir/b", "two" }, { "bin", "x\0y" } };
	size_t lens[] = { 3, 3, 3 };

	snprintf(pod, sizeof(pod), "%s/pod", img_root);
	CHECK_EQ(rt_vol_files(pod, "secret", "s1", items, lens, 3, 0400, path, sizeof(path), &e), 0);
	snprintf(p, sizeof(p), "%s/a.conf", path);
	CHECK_STR(slurp(p), "one");
	struct stat st;
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0400);
	snprintf(p, sizeof(p), "%s/dir/b", path);
	CHECK_STR(slurp(p), "two");
	snprintf(p, sizeof(p), "%s/bin", path);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_size, 3);   /* binary value with a NUL kept whole */
	/* Update: a.conf changes, dir/ and bin disappear. */
	struct rt_kv upd[] = { { "a.conf", "uno" } };
	CHECK_EQ(rt_vol_files(pod, "secret", "s1", upd, NULL, 1, 0400, path, sizeof(path), &e), 0);
	snprintf(p, sizeof(p), "%s/a.conf", path);
	CHECK_STR(slurp(p), "uno");
	snprintf(p, sizeof(p), "%s/dir", path);
	CHECK(access(p, F_OK) != 0);
	/* Escapes refused. */
	struct rt_kv evil[] = { { "../../etc/passwd", "x" } };
	CHECK_EQ(rt_vol_files(pod, "secret", "s1", evil, NULL, 1, 0400, path, sizeof(path), &e), -EINVAL);
	CHECK(rt_vol_files(pod, "secret", "../x", upd, NULL, 1, 0400, path, sizeof(path), NULL) < 0);

	/* hostPath type checks. */
	CHECK_EQ(rt_vol_host_path(path, "Directory", p, sizeof(p), NULL), 0);
	CHECK_STR(p, path);
	snprintf(p, sizeof(p), "%s/a.conf", path);
	char out[4300];
	CHECK_EQ(rt_vol_host_path(p, "Directory", out, sizeof(out), NULL), -ENOTDIR);
	CHECK_EQ(rt_vol_host_path(p, "File", out, sizeof(out), NULL), 0);
	snprintf(p, sizeof(p), "%s/new/dir", pod);
	CHECK_EQ(rt_vol_host_path(p, "Directory", out, sizeof(out), NULL), -ENOENT);
	CHECK_EQ(rt_vol_host_path(p, "DirectoryOrCreate", out, sizeof(out), NULL), 0);
	CHECK(rt_vol_host_path("relative", "", out, sizeof(out), NULL) < 0);

	/* Pod /etc files. */
	static const char *ns[] = { "10.96.0.10", NULL };
	static const char *search[] = { "default.svc.cluster.local", "svc.cluster.local",
					"cluster.local", NULL };
	CHECK_EQ(rt_vol_pod_etc(pod, "web-0", "10.244.1.7", ns, search, 5, &e), 0);
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", pod);
	CHECK_STR(slurp(p), "search default.svc.cluster.local svc.cluster.local cluster.local\n"
			    "nameserver 10.96.0.10\noptions ndots:5\n");
	snprintf(p, sizeof(p), "%s/etc/hosts", pod);
	CHECK(strstr(slurp(p), "10.244.1.7\tweb-0\n") != NULL);
	CHECK(strstr(slurp(p), "127.0.0.1\tlocalhost\n") != NULL);
	snprintf(p, sizeof(p), "%s/etc/hostname", pod);
	CHECK_STR(slurp(p), "web-0\n");
	CHECK(rt_vol_pod_etc(pod, "bad name", NULL, NULL, NULL, 0, NULL) < 0);

	CHECK_EQ(rt_vol_cleanup(pod, &e), 0);
	snprintf(p, sizeof(p), "%s/volumes", pod);
	CHECK(access(p, F_OK) != 0);
	snprintf(p, sizeof(p), "%s/etc", pod);
	CHECK(access(p, F_OK) != 0);
	/* what remains: pod/new/dir from DirectoryOrCreate */
	snprintf(p, sizeof(p), "%s/new/dir", pod); rmdir(p);
	snprintf(p, sizeof(p), "%s/new", pod); rmdir(p);
	rmdir(pod);
}

int main(void)
{
	static const struct t_case cases[] = {
		T(test_command_semantics), T(test_env_cwd_hostname), T(test_security_context),
		T(test_mounts_netns), T(test_resources), T(test_quantities), T(test_backoff),
		T(test_log_parse), T(test_image_refs), T(test_volume_files),
		T(test_restart_and_probe_thresholds),
	};
	make_image_root();
	int rc = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	rm_image_root();
	return rc;
}
