/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent API mode (the kubelet part): registers the Node, renews its
 * Lease in kube-node-lease, learns the other nodes (remote pod CIDR routes)
 * from Node objects, and runs the pods bound to this node: a pod network
 * namespace wired by executing gannet-cni as a CNI runtime does, then each
 * container through the runtime library (runc, OCI bundles, local image
 * store), with restart policy and back-off, liveness/readiness probes,
 * graceful termination and status reported through pods/status.
 *
 * Threads: one for the Lease/Node heartbeat, one watching Pods, one watching
 * Nodes, and one small-stack worker per pod (the worker alone touches its
 * pod's containers, so no per-container locking is needed). Workers share
 * one API client behind a mutex (status updates are short); each watch has
 * its own client because apiclient is not thread-safe.
 *
 * After an agent restart the worker of a pod finds its containers by their
 * deterministic runc ids and its netns by name, and adopts them: nothing is
 * restarted and restart counts continue from the API status. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/kubelet.h"
#include "agent/services.h"
#include "agent/runtime/runtime.h"
#include "common/apiclient.h"
#include "common/kubeconfig.h"
#include "common/nodeaddr.h"

extern char **environ;

#define KL_WATCH_MS     2000      /* watch reconnect period (bounds stop time) */
#define KL_STACK        (256 * 1024)
#define KL_MAX_CTRS     16
#define KL_DEFAULT_GRACE 30

struct kctr {
	char name[64];
	char id[72];
	bool created;            /* a runtime container with this id exists */
	bool exit_handled;       /* the current exit was accounted for */
	bool restart_pending;
	bool done;               /* terminated and will not restart */
	time_t next_start;
	unsigned restarts;
	struct rt_backoff bo;
	json_t *last_term;       /* lastState.terminated */
	char wait_reason[64];
	char wait_msg[512];
	char last_event[64];     /* last waiting reason reported as an Event */
	bool ready;
	int live_fail, ready_fail;
	time_t next_live, next_ready;
	struct rt_status st;
};

struct kubelet;

struct kpod {
	struct kpod *next;
	struct kubelet *kl;
	char uid[64], ns[128], name[256];
	json_t *obj;             /* latest object from the watch (kl->lock) */
	bool gone;               /* deleted from the API (kl->lock) */
	bool kick;               /* (kl->lock) */
	bool finished;           /* worker exited (kl->lock) */
	pthread_cond_t cv;
	pthread_t th;
	/* worker-private */
	char netns[128];
	char netns_path[160];    /* what containers and probes join */
	bool host_network;       /* spec.hostNetwork: the node's netns, no CNI */
	char ip[INET_ADDRSTRLEN];
	bool sandbox;
	char sandbox_err[512];
	time_t sandbox_retry;
	char start_time[40];
	struct kctr c[KL_MAX_CTRS];
	size_t nc;
	bool admitted, rejected;
	int ready_state;         /* -1 unknown, 0 not ready, 1 ready */
	char ready_ts[40];       /* last Ready transition */
	char reject_reason[64], reject_msg[256];
	json_t *last_status;
};

struct kubelet {
	struct agent *a;
	struct kubeconfig kc;
	struct apiclient *api;   /* workers' shared client (api_lock) */
	pthread_mutex_t api_lock;
	struct rt *rt;
	pthread_mutex_t lock;    /* pods list and their obj/gone/kick */
	struct kpod *pods;
	atomic_bool stop;
	atomic_int streams;      /* detached log followers still running */
	pthread_t lease_th, podw_th, nodew_th;
	bool lease_started, podw_started, nodew_started;
	char pod_root[300];
	int64_t cpu_milli, mem_bytes;
	char start_ts[40];
};

/* ---- small helpers -------------------------------------------------------- */

static void ts_fmt(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void now_micro(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char b[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ", b, ts.tv_nsec / 1000);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *jpath2(const json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Short-circuits cleanly when the agent stops during a sleep. */
static bool kl_sleep(struct kubelet *kl, long ms)
{
	while (ms > 0 && !atomic_load(&kl->stop)) {
		sleep_ms(ms > 200 ? 200 : ms);
		ms -= 200;
	}
	return !atomic_load(&kl->stop);
}

static int api_call(struct kubelet *kl, const char *method, const char *path, const char *ptype,
		    json_t *body, struct api_resp *r, struct gerr *e)
{
	int ret;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&kl->api_lock);
	if (ptype)
		ret = apiclient_patch(kl->api, path, ptype, body, r, e);
	else
		ret = apiclient_request(kl->api, method, path, body, NULL, r, e);
	pthread_mutex_unlock(&kl->api_lock);
	return ret;
}

/* Runs argv with stdin from in (may be NULL) and captures stdout into out.
 * env NULL = inherit. Returns the exit status (0..255) or -errno. */
static int run_cmd(char *const argv[], char *const envp[], const char *in, char *out,
		   size_t outlen)
{
	posix_spawn_file_actions_t fa;
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, st, ret;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	ret = -posix_spawn(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	pin[0] = pout[1] = -1;
	if (ret)
		goto out;
	if (in) {
		size_t n = strlen(in);

		if (write(pin[1], in, n) != (ssize_t)n)
			pr_debug("short write to %s", argv[0]);
	}
	close(pin[1]);
	pin[1] = -1;
	for (;;) {
		char tmp[4096];
		ssize_t n = read(pout[0], tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && got + 1 < outlen) {
			size_t c = (size_t)n < outlen - 1 - got ? (size_t)n : outlen - 1 - got;

			memcpy(out + got, tmp, c);
			got += c;
		}
	}
	if (out && outlen)
		out[got] = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
	}
	return ret;
}

/* ---- events ---------------------------------------------------------------- */

/* core/v1 Event about a pod (or one of its containers), as kubelet emits
 * them: `gannetctl describe` / `kubectl get events` show why a pod is not
 * running. Best effort: a failed write is only logged at debug level. */
static void kl_event(struct kubelet *kl, const struct kpod *p, const char *ctr, bool warning,
		     const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void kl_event(struct kubelet *kl, const struct kpod *p, const char *ctr, bool warning,
		     const char *reason, const char *fmt, ...)
{
	char msg[1024], name[300], ts[40], fp[100], path[300];
	struct timespec now;
	struct api_resp r;
	struct gerr e = { 0 };
	json_t *ev, *io;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	ts_fmt(now.tv_sec, ts, sizeof(ts));
	snprintf(name, sizeof(name), "%.200s.%llx", p->name,
		 (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec);
	io = json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Pod", "namespace",
		       p->ns, "name", p->name, "uid", p->uid);
	if (ctr) {
		snprintf(fp, sizeof(fp), "spec.containers{%s}", ctr);
		json_object_set_new(io, "fieldPath", json_string(fp));
	}
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i,"
		       " s:s, s:s}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", p->ns,
		       "involvedObject", io, "reason", reason, "message", msg, "type",
		       warning ? "Warning" : "Normal", "source", "component", "kubelet", "host",
		       kl->a->cfg.node_name, "firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
		       "reportingComponent", "gannet-agent", "reportingInstance", kl->a->cfg.node_name);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", p->ns);
	if (api_call(kl, "POST", path, NULL, ev, &r, &e) || !api_ok(&r))
		pr_debug("event %s for %s/%s: %s", reason, p->ns, p->name, e.msg[0] ? e.msg : r.message);
	api_resp_free(&r);
	json_decref(ev);
}

/* ---- pod sandbox: netns + CNI --------------------------------------------- */

static int ip_cmd(const char *a1, const char *a2, const char *a3, const char *a4,
		  const char *a5, const char *a6)
{
	char *argv[] = { "/usr/sbin/ip", (char *)a1, (char *)a2, (char *)a3, (char *)a4,
			 (char *)a5, (char *)a6, NULL };

	if (access(argv[0], X_OK))
		argv[0] = "/sbin/ip";
	return run_cmd(argv, NULL, NULL, NULL, 0);
}

static int cni_invoke(struct kubelet *kl, struct kpod *p, const char *cmd, char *out,
		      size_t outlen)
{
	char conf[512], e_cmd[32], e_cid[96], e_ns[160], e_path[300], e_args[512], dir[256];
	char *envp[] = { e_cmd, e_cid, e_ns, "CNI_IFNAME=eth0", e_path, e_args,
			 "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char *argv[] = { kl->a->cfg.cni_bin, NULL };
	char *slash;

	snprintf(dir, sizeof(dir), "%s", kl->a->cfg.cni_bin);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"gannet\",\"type\":\"gannet-cni\","
		 "\"agentSocket\":\"%s\"}", kl->a->cfg.socket_path);
	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(e_cid, sizeof(e_cid), "CNI_CONTAINERID=%s", p->uid);
	snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=/run/netns/%s", p->netns);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", dir);
	snprintf(e_args, sizeof(e_args),
		 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_UID=%s",
		 p->ns, p->name, p->uid);
	return run_cmd(argv, envp, conf, out, outlen);
}

static bool netns_exists(const char *name)
{
	char path[200];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

static int sandbox_up(struct kubelet *kl, struct kpod *p)
{
	char out[4096];
	json_t *res;
	json_error_t je;
	const char *addr;
	int ret;

	if (p->host_network) {
		struct in_addr ia = { kl->a->cfg.node_ip };

		inet_ntop(AF_INET, &ia, p->ip, sizeof(p->ip));
		p->sandbox = true;
		return 0;
	}
	if (!netns_exists(p->netns)) {
		ret = ip_cmd("netns", "add", p->netns, NULL, NULL, NULL);
		if (ret) {
			snprintf(p->sandbox_err, sizeof(p->sandbox_err),
				 "cannot create network namespace %s (ip exit %d)", p->netns, ret);
			return -EIO;
		}
	}
	ip_cmd("-n", p->netns, "link", "set", "lo", "up");
	ret = cni_invoke(kl, p, "ADD", out, sizeof(out));
	if (ret) {
		res = json_loads(out, 0, &je);
		snprintf(p->sandbox_err, sizeof(p->sandbox_err), "CNI ADD failed: %s",
			 res && jstr(res, "msg") ? jstr(res, "msg") : out);
		json_decref(res);
		return -EIO;
	}
	res = json_loads(out, 0, &je);
	addr = json_string_value(json_object_get(json_array_get(json_object_get(res, "ips"), 0),
						 "address"));
	if (!addr) {
		snprintf(p->sandbox_err, sizeof(p->sandbox_err), "CNI ADD: no IP in result");
		json_decref(res);
		return -EIO;
	}
	snprintf(p->ip, sizeof(p->ip), "%.*s", (int)strcspn(addr, "/"), addr);
	json_decref(res);
	p->sandbox = true;
	p->sandbox_err[0] = 0;
	pr_info("pod %s/%s: netns %s, IP %s", p->ns, p->name, p->netns, p->ip);
	return 0;
}

static void sandbox_down(struct kubelet *kl, struct kpod *p)
{
	char out[1024];

	if (p->host_network) {
		p->sandbox = false;
		return;
	}
	if (cni_invoke(kl, p, "DEL", out, sizeof(out)))
		pr_warn("pod %s/%s: CNI DEL: %s", p->ns, p->name, out);
	if (netns_exists(p->netns))
		ip_cmd("netns", "del", p->netns, NULL, NULL, NULL);
	p->sandbox = false;
}

/* ---- container spec from the pod ----------------------------------------- */

/* Strings referenced by an rt_container_spec live in keep (a JSON array)
 * or in the pod object, both held for the duration of rt_run. */
static const char *keep_str(json_t *keep, const char *s, size_t len)
{
	json_t *j = json_stringn_nocheck(s, len);

	json_array_append_new(keep, j);
	return json_string_value(j);
}

static const char **strv_of(json_t *arr, json_t *keep)
{
	size_t n = json_array_size(arr), i;
	const char **v;

	if (!json_is_array(arr))
		return NULL;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i)) ?: "";
	/* keep records the pointer; keep_free frees it */
	json_array_append_new(keep, json_integer((json_int_t)(intptr_t)v));
	return v;
}

static void keep_free(json_t *keep)
{
	size_t i;
	json_t *v;

	json_array_foreach(keep, i, v)
		if (json_is_integer(v))
			free((void *)(intptr_t)json_integer_value(v));
	json_decref(keep);
}

/* GET a ConfigMap or Secret; *data gets its "data" object (Secret values
 * base64-decoded by the caller). */
static int get_cfg_obj(struct kubelet *kl, const char *ns, const char *kind, const char *name,
		       json_t **obj, char *msg, size_t msglen)
{
	char path[600];
	struct api_resp r;
	struct gerr e = { 0 };
	int ret;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/%s/%s", ns, kind, name);
	ret = api_call(kl, "GET", path, NULL, NULL, &r, &e);
	if (ret || !api_ok(&r)) {
		snprintf(msg, msglen, "%s %s/%s: %s", kind, ns, name,
			 ret ? e.msg : r.message[0] ? r.message : "not found");
		api_resp_free(&r);
		return ret ? ret : -ENOENT;
	}
	*obj = json_incref(r.body);
	api_resp_free(&r);
	return 0;
}

static int cfg_value(struct kubelet *kl, const char *ns, bool secret, const json_t *ref,
		     json_t *keep, const char **val, char *msg, size_t msglen)
{
	const char *name = jstr(ref, "name"), *key = jstr(ref, "key");
	bool optional = json_is_true(json_object_get(ref, "optional"));
	json_t *o = NULL;
	const char *v;
	int ret;

	*val = NULL;
	if (!name || !key) {
		snprintf(msg, msglen, "%s reference needs name and key",
			 secret ? "secretKeyRef" : "configMapKeyRef");
		return -EINVAL;
	}
	ret = get_cfg_obj(kl, ns, secret ? "secrets" : "configmaps", name, &o, msg, msglen);
	if (ret)
		return optional ? 0 : ret;
	v = jpath2(o, "data", key);
	if (!v) {
		json_decref(o);
		if (optional)
			return 0;
		snprintf(msg, msglen, "key %s not found in %s %s/%s", key,
			 secret ? "secret" : "configmap", ns, name);
		return -ENOENT;
	}
	if (secret) {
		unsigned char *d;
		size_t dl;

		if (kc_base64_decode(v, &d, &dl)) {
			json_decref(o);
			snprintf(msg, msglen, "secret %s/%s: bad base64 in %s", ns, name, key);
			return -EINVAL;
		}
		*val = keep_str(keep, (const char *)d, dl);
		free(d);
	} else {
		*val = keep_str(keep, v, strlen(v));
	}
	json_decref(o);
	return 0;
}

/* Writes a ConfigMap/Secret volume; path gets the host directory. */
static int cfg_volume(struct kubelet *kl, struct kpod *p, const char *pod_dir, const char *vname,
		      bool secret, const json_t *src, char *path, size_t plen, char *msg,
		      size_t msglen)
{
	const char *name = jstr(src, secret ? "secretName" : "name");
	bool optional = json_is_true(json_object_get(src, "optional"));
	json_t *o = NULL, *data, *keep = json_array();
	struct rt_kv *items = NULL;
	size_t *lens = NULL, n = 0;
	const char *k;
	json_t *v;
	struct gerr e = { 0 };
	int ret;

	ret = name ? get_cfg_obj(kl, p->ns, secret ? "secrets" : "configmaps", name, &o, msg,
				 msglen) : -EINVAL;
	if (ret && !optional) {
		if (!name)
			snprintf(msg, msglen, "volume %s: missing name", vname);
		goto out;
	}
	data = json_object_get(o, "data");
	items = calloc(json_object_size(data) + 1, sizeof(*items));
	lens = calloc(json_object_size(data) + 1, sizeof(*lens));
	if (!items || !lens) {
		ret = -ENOMEM;
		goto out;
	}
	json_object_foreach(data, k, v) {
		const char *s = json_string_value(v);

		if (!s)
			continue;
		items[n].name = k;
		if (secret) {
			unsigned char *d;
			size_t dl;

			if (kc_base64_decode(s, &d, &dl))
				continue;
			items[n].value = keep_str(keep, (const char *)d, dl);
			lens[n] = dl;
			free(d);
		} else {
			items[n].value = s;
			lens[n] = strlen(s);
		}
		n++;
	}
	ret = rt_vol_files(pod_dir, secret ? "secret" : "configmap", vname, items, lens, n,
			   secret ? 0400 : 0644, path, plen, &e);
	if (ret)
		snprintf(msg, msglen, "volume %s: %s", vname, e.msg);
out:
	free(items);
	free(lens);
	json_decref(o);
	json_decref(keep);
	return ret;
}

static void sec_from(const json_t *sc, struct rt_security *s, json_t *keep)
{
	json_t *v, *caps;

	if (!json_is_object(sc))
		return;
	if ((v = json_object_get(sc, "runAsUser")) && json_is_integer(v)) {
		s->has_uid = true;
		s->run_as_user = json_integer_value(v);
	}
	if ((v = json_object_get(sc, "runAsGroup")) && json_is_integer(v)) {
		s->has_gid = true;
		s->run_as_group = json_integer_value(v);
	}
	if ((v = json_object_get(sc, "runAsNonRoot")) && json_is_boolean(v))
		s->run_as_non_root = json_is_true(v) ? RT_TRUE : RT_FALSE;
	if ((v = json_object_get(sc, "readOnlyRootFilesystem")) && json_is_boolean(v))
		s->read_only_root = json_is_true(v) ? RT_TRUE : RT_FALSE;
	if ((v = json_object_get(sc, "allowPrivilegeEscalation")) && json_is_boolean(v))
		s->allow_privilege_escalation = json_is_true(v) ? RT_TRUE : RT_FALSE;
	if ((v = json_object_get(sc, "privileged")) && json_is_boolean(v))
		s->privileged = json_is_true(v) ? RT_TRUE : RT_FALSE;
	caps = json_object_get(sc, "capabilities");
	if ((v = json_object_get(caps, "add")))
		s->cap_add = strv_of(v, keep);
	if ((v = json_object_get(caps, "drop")))
		s->cap_drop = strv_of(v, keep);
}

static json_t *find_named(const json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (jstr(v, "name") && !strcmp(jstr(v, "name"), name))
			return v;
	return NULL;
}

/* Builds the runtime spec for container ctr of pod obj. Returns 0, or
 * -errno with reason/msg (CreateContainerConfigError). */
static int build_spec(struct kubelet *kl, struct kpod *p, const json_t *obj, const json_t *ctr,
		      struct kctr *kc, struct rt_container_spec *s, json_t *keep, char *msg,
		      size_t msglen)
{
	const json_t *spec = json_object_get(obj, "spec");
	json_t *env = json_object_get(ctr, "env"), *mounts = json_object_get(ctr, "volumeMounts");
	json_t *vols = json_object_get(spec, "volumes"), *v, *res;
	struct rt_kv *kv;
	struct rt_mount *m;
	char pod_dir[400], hpath[PATH_MAX], netns_path[200];
	const char *q;
	size_t i, nm = 0;
	int ret;

	snprintf(pod_dir, sizeof(pod_dir), "%s/%s", kl->pod_root, p->uid);
	snprintf(netns_path, sizeof(netns_path), "%s", p->netns_path);
	s->id = kc->id;
	s->name = kc->name;
	s->pod_uid = p->uid;
	s->pod_namespace = p->ns;
	s->pod_name = p->name;
	s->image = jstr(ctr, "image");
	s->command = strv_of(json_object_get(ctr, "command"), keep);
	s->args = strv_of(json_object_get(ctr, "args"), keep);
	s->working_dir = jstr(ctr, "workingDir");
	s->netns_path = keep_str(keep, netns_path, strlen(netns_path));
	s->hostname = jstr(spec, "hostname") ?: p->name;
	s->stdin_open = json_is_true(json_object_get(ctr, "stdin"));

	kv = calloc(json_array_size(env) + 1, sizeof(*kv));
	json_array_append_new(keep, json_integer((json_int_t)(intptr_t)kv));
	json_array_foreach(env, i, v) {
		json_t *from = json_object_get(v, "valueFrom");
		const char *val = jstr(v, "value");

		if (!jstr(v, "name"))
			continue;
		if (from) {
			json_t *r;

			val = NULL;
			if ((r = json_object_get(from, "configMapKeyRef")))
				ret = cfg_value(kl, p->ns, false, r, keep, &val, msg, msglen);
			else if ((r = json_object_get(from, "secretKeyRef")))
				ret = cfg_value(kl, p->ns, true, r, keep, &val, msg, msglen);
			else if ((r = json_object_get(from, "fieldRef"))) {
				const char *fp = jstr(r, "fieldPath") ?: "";

				ret = 0;
				if (!strcmp(fp, "metadata.name"))
					val = p->name;
				else if (!strcmp(fp, "metadata.namespace"))
					val = p->ns;
				else if (!strcmp(fp, "metadata.uid"))
					val = p->uid;
				else if (!strcmp(fp, "status.podIP"))
					val = keep_str(keep, p->ip, strlen(p->ip));
				else if (!strcmp(fp, "spec.nodeName"))
					val = kl->a->cfg.node_name;
				else {
					snprintf(msg, msglen, "env %s: unsupported fieldPath %s",
						 jstr(v, "name"), fp);
					ret = -EINVAL;
				}
			} else {
				snprintf(msg, msglen, "env %s: unsupported valueFrom", jstr(v, "name"));
				ret = -EINVAL;
			}
			if (ret)
				return ret;
			if (!val)
				continue;
		}
		kv[s->nenv].name = jstr(v, "name");
		kv[s->nenv].value = val ?: "";
		s->nenv++;
	}
	s->env = kv;

	/* pod /etc files + volume mounts */
	m = calloc(json_array_size(mounts) + 4, sizeof(*m));
	json_array_append_new(keep, json_integer((json_int_t)(intptr_t)m));
	{
		static const char *const etc[] = { "hosts", "resolv.conf", "hostname" };
		struct gerr e = { 0 };

		if (!dnssync_pod_etc(obj, pod_dir, s->hostname, p->ip, &e)) {
			for (int k = 0; k < 3; k++) {
				snprintf(hpath, sizeof(hpath), "%s/etc/%s", pod_dir, etc[k]);
				m[nm].source = keep_str(keep, hpath, strlen(hpath));
				snprintf(hpath, sizeof(hpath), "/etc/%s", etc[k]);
				m[nm].dest = keep_str(keep, hpath, strlen(hpath));
				nm++;
			}
		}
	}
	json_array_foreach(mounts, i, v) {
		const char *vn = jstr(v, "name"), *mp = jstr(v, "mountPath");
		json_t *vol = vn ? find_named(vols, vn) : NULL, *src;
		struct gerr e = { 0 };
		bool ro = json_is_true(json_object_get(v, "readOnly"));

		if (!vol || !mp) {
			snprintf(msg, msglen, "volumeMount %s: no such volume", vn ?: "?");
			return -EINVAL;
		}
		if ((src = json_object_get(vol, "emptyDir"))) {
			int64_t lim = 0;

			if ((q = jstr(src, "sizeLimit")))
				rt_parse_memory(q, &lim);
			ret = rt_vol_empty_dir(pod_dir, vn, jstr(src, "medium") &&
					       !strcmp(jstr(src, "medium"), "Memory"), lim, hpath,
					       sizeof(hpath), &e);
		} else if ((src = json_object_get(vol, "hostPath"))) {
			ret = rt_vol_host_path(jstr(src, "path") ?: "", jstr(src, "type") ?: "", hpath,
					       sizeof(hpath), &e);
		} else if ((src = json_object_get(vol, "configMap"))) {
			ret = cfg_volume(kl, p, pod_dir, vn, false, src, hpath, sizeof(hpath), msg, msglen);
			ro = true;
			if (ret)
				return ret;
		} else if ((src = json_object_get(vol, "secret"))) {
			ret = cfg_volume(kl, p, pod_dir, vn, true, src, hpath, sizeof(hpath), msg, msglen);
			ro = true;
			if (ret)
				return ret;
		} else {
			snprintf(msg, msglen, "volume %s: unsupported volume type", vn);
			return -EINVAL;
		}
		if (ret) {
			snprintf(msg, msglen, "volume %s: %s", vn, e.msg);
			return ret;
		}
		m[nm].source = keep_str(keep, hpath, strlen(hpath));
		m[nm].dest = mp;
		m[nm].readonly = ro;
		nm++;
	}
	s->mounts = m;
	s->nmounts = nm;

	res = json_object_get(ctr, "resources");
	if ((q = jpath2(res, "limits", "cpu")) && rt_parse_cpu(q, &s->res.cpu_limit_milli))
		goto badq;
	if ((q = jpath2(res, "requests", "cpu")) && rt_parse_cpu(q, &s->res.cpu_request_milli))
		goto badq;
	if ((q = jpath2(res, "limits", "memory")) && rt_parse_memory(q, &s->res.mem_limit_bytes))
		goto badq;
	if ((q = jpath2(res, "requests", "memory")) &&
	    rt_parse_memory(q, &s->res.mem_request_bytes))
		goto badq;

	sec_from(json_object_get(spec, "securityContext"), &s->sec, keep);
	sec_from(json_object_get(ctr, "securityContext"), &s->sec, keep);
	return 0;
badq:
	snprintf(msg, msglen, "invalid resource quantity \"%s\"", q);
	return -EINVAL;
}

/* ---- admission ------------------------------------------------------------ */

/* Rejects pods whose requests exceed the node's allocatable resources (what
 * kubelet's admission does: phase Failed, reason OutOf<resource>). */
static bool admit(struct kubelet *kl, struct kpod *p, const json_t *obj)
{
	json_t *ctrs = json_object_get(json_object_get(obj, "spec"), "containers"), *c;
	int64_t cpu = 0, mem = 0, x;
	size_t i;
	const char *q;

	/* reported rather than silently ignored */
	if (json_array_size(json_object_get(json_object_get(obj, "spec"), "initContainers")) ||
	    json_array_size(json_object_get(json_object_get(obj, "spec"), "ephemeralContainers")) ||
	    json_array_size(ctrs) > KL_MAX_CTRS || !json_array_size(ctrs)) {
		snprintf(p->reject_reason, sizeof(p->reject_reason), "UnsupportedPodSpec");
		snprintf(p->reject_msg, sizeof(p->reject_msg),
			 "Pod was rejected: gannet-agent runs 1..%d containers and no init or ephemeral containers yet",
			 KL_MAX_CTRS);
		return false;
	}
	json_array_foreach(ctrs, i, c) {
		json_t *res = json_object_get(c, "resources");

		/* a limit without a request means request = limit */
		if ((q = jpath2(res, "requests", "cpu") ?: jpath2(res, "limits", "cpu")) &&
		    !rt_parse_cpu(q, &x))
			cpu += x;
		if ((q = jpath2(res, "requests", "memory") ?: jpath2(res, "limits", "memory")) &&
		    !rt_parse_memory(q, &x))
			mem += x;
	}
	if (cpu > kl->cpu_milli) {
		snprintf(p->reject_reason, sizeof(p->reject_reason), "OutOfcpu");
		snprintf(p->reject_msg, sizeof(p->reject_msg),
			 "Pod was rejected: Node didn't have enough resource: cpu, requested: %lld, capacity: %lld",
			 (long long)cpu, (long long)kl->cpu_milli);
		return false;
	}
	if (mem > kl->mem_bytes) {
		snprintf(p->reject_reason, sizeof(p->reject_reason), "OutOfmemory");
		snprintf(p->reject_msg, sizeof(p->reject_msg),
			 "Pod was rejected: Node didn't have enough resource: memory, requested: %lld, capacity: %lld",
			 (long long)mem, (long long)kl->mem_bytes);
		return false;
	}
	return true;
}

/* ---- probes --------------------------------------------------------------- */

static int probe_int(const json_t *pr, const char *k, int def)
{
	json_t *v = json_object_get(pr, k);

	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

/* Runs the probe if due; returns 1 on success, 0 on failure, -1 if not due. */
static int probe_due(struct kubelet *kl, struct kpod *p, struct kctr *kc, const json_t *pr,
		     time_t *next, time_t now)
{
	struct rt_probe rp = { 0 };
	const char *cmdv[64] = { 0 };
	char netns[200], msg[256], port_s[16];
	struct gerr e = { 0 };
	json_t *h;
	bool ok = false;
	time_t started = kc->st.started.tv_sec;

	if (now < started + probe_int(pr, "initialDelaySeconds", 0) || now < *next)
		return -1;
	*next = now + probe_int(pr, "periodSeconds", 10);
	snprintf(netns, sizeof(netns), "%s", p->netns_path);
	rp.timeout_sec = probe_int(pr, "timeoutSeconds", 1);
	if ((h = json_object_get(pr, "exec"))) {
		json_t *c = json_object_get(h, "command"), *v;
		size_t i;

		rp.kind = RT_PROBE_EXEC;
		json_array_foreach(c, i, v)
			if (i < 63)
				cmdv[i] = json_string_value(v) ?: "";
		rp.command = cmdv;
	} else if ((h = json_object_get(pr, "httpGet")) || (h = json_object_get(pr, "tcpSocket"))) {
		json_t *port = json_object_get(h, "port");

		rp.kind = json_object_get(pr, "httpGet") ? RT_PROBE_HTTP : RT_PROBE_TCP;
		rp.host = jstr(h, "host") ?: p->ip;
		if (json_is_integer(port)) {
			rp.port = (int)json_integer_value(port);
		} else {
			/* named port: look it up in the container's ports */
			json_t *ctrs = json_object_get(json_object_get(p->obj, "spec"), "containers");
			json_t *ctr = find_named(ctrs, kc->name);
			json_t *pp = find_named(json_object_get(ctr, "ports"), json_string_value(port) ?: "");

			rp.port = probe_int(pp, "containerPort", 0);
		}
		snprintf(port_s, sizeof(port_s), "%d", rp.port);
		rp.path = jstr(h, "path");
		rp.scheme = jstr(h, "scheme");
	} else {
		return 1;
	}
	if (rt_probe_run(kl->rt, kc->id, p->host_network ? NULL : netns, &rp, &ok, msg, sizeof(msg),
			 &e))
		ok = false;
	pr_debug("pod %s/%s container %s probe: %s (%s)", p->ns, p->name, kc->name,
		 ok ? "ok" : "failed", msg);
	return ok ? 1 : 0;
}

/* ---- container sync ------------------------------------------------------- */

static void ctr_ts(const struct timespec *t, char *buf, size_t len)
{
	ts_fmt(t->tv_sec, buf, len);
}

static json_t *term_state(struct kctr *kc)
{
	char a[40], b[40], cid[100];

	ctr_ts(&kc->st.started, a, sizeof(a));
	ctr_ts(&kc->st.finished, b, sizeof(b));
	snprintf(cid, sizeof(cid), "runc://%s", kc->id);
	return json_pack("{s:i, s:i, s:s, s:s, s:s, s:s}", "exitCode", kc->st.exit_code,
			 "signal", kc->st.signal,
			 "reason", kc->st.reason[0] ? kc->st.reason :
				   kc->st.exit_code ? "Error" : "Completed",
			 "startedAt", a, "finishedAt", b, "containerID", cid);
}

static bool should_restart(const char *policy, int code)
{
	if (!policy || !strcmp(policy, "Always"))
		return true;
	if (!strcmp(policy, "OnFailure"))
		return code != 0;
	return false;
}

static void ctr_start(struct kubelet *kl, struct kpod *p, const json_t *obj, const json_t *ctr,
		      struct kctr *kc)
{
	struct rt_container_spec s = { 0 };
	struct rt_image_info ii = { 0 };
	json_t *keep = json_array();
	struct gerr e = { 0 };
	char id[72], msg[512] = "";
	const char *img = jstr(ctr, "image");

	if (!img || rt_image_resolve(rt_images_of(kl->rt), img, &ii, &e)) {
		snprintf(kc->wait_reason, sizeof(kc->wait_reason), "ErrImageNeverPull");
		snprintf(kc->wait_msg, sizeof(kc->wait_msg),
			 "image \"%s\" is not in the node's image store and Gannet never pulls: %s",
			 img ?: "", e.msg);
		goto retry;
	}
	rt_image_info_free(&ii);
	if (build_spec(kl, p, obj, ctr, kc, &s, keep, msg, sizeof(msg))) {
		snprintf(kc->wait_reason, sizeof(kc->wait_reason), "CreateContainerConfigError");
		snprintf(kc->wait_msg, sizeof(kc->wait_msg), "%s", msg);
		goto retry;
	}
	if (kc->created) {
		memset(&e, 0, sizeof(e));
		rt_remove(kl->rt, kc->id, &e);
		kc->created = false;
	}
	memset(&e, 0, sizeof(e));
	if (rt_run(kl->rt, &s, id, sizeof(id), &e)) {
		time_t now = time(NULL);

		snprintf(kc->wait_reason, sizeof(kc->wait_reason),
			 e.code == -EINVAL ? "CreateContainerError" : "RunContainerError");
		snprintf(kc->wait_msg, sizeof(kc->wait_msg), "%s", e.msg);
		/* a command that cannot start is a crash for the back-off */
		kc->next_start = now + rt_backoff_next(&kc->bo, now, 0);
		kc->restart_pending = true;
		pr_warn("pod %s/%s container %s: %s", p->ns, p->name, kc->name, e.msg);
		kl_event(kl, p, kc->name, true, "Failed", "Error: %s", e.msg);
		goto out;
	}
	kc->created = true;
	kc->exit_handled = false;
	kc->restart_pending = false;
	/* without a readiness probe a started container is ready: report it
	 * in the same status write as Running (saves an API round trip) */
	kc->ready = !json_object_get(ctr, "readinessProbe");
	kc->live_fail = kc->ready_fail = 0;
	kc->next_live = kc->next_ready = 0;
	kc->wait_reason[0] = kc->wait_msg[0] = 0;
	memset(&e, 0, sizeof(e));
	rt_status(kl->rt, kc->id, &kc->st, &e);
	pr_info("pod %s/%s container %s started (%s)", p->ns, p->name, kc->name, kc->id);
	kl_event(kl, p, kc->name, false, "Started", "Started container %s", kc->name);
	kc->last_event[0] = 0;
	goto out;
retry:
	if (strcmp(kc->last_event, kc->wait_reason)) {
		kl_event(kl, p, kc->name, true, kc->wait_reason, "%s", kc->wait_msg);
		snprintf(kc->last_event, sizeof(kc->last_event), "%s", kc->wait_reason);
	}
	/* the image may be imported or the ConfigMap created later: look
	 * again every 2 s (not every sync: each try may cost API reads) */
	kc->restart_pending = true;
	kc->next_start = time(NULL) + 2;
out:
	keep_free(keep);
	/* strv_of/keep hold the arrays; spec pointers die with keep */
}

static void ctr_sync(struct kubelet *kl, struct kpod *p, const json_t *obj, const json_t *ctr,
		     struct kctr *kc, const char *policy, time_t now)
{
	struct gerr e = { 0 };

	if (kc->created && rt_status(kl->rt, kc->id, &kc->st, &e) == -ENOENT)
		kc->created = false;
	if (!kc->created) {
		if (kc->done || (kc->restart_pending && now < kc->next_start))
			return;
		if (kc->restart_pending && kc->last_term)
			kc->restarts++;
		ctr_start(kl, p, obj, ctr, kc);
		return;
	}
	if (kc->st.state == RT_EXITED) {
		if (!kc->exit_handled) {
			long ran = kc->st.finished.tv_sec - kc->st.started.tv_sec;

			kc->exit_handled = true;
			kc->ready = false;
			json_decref(kc->last_term);
			kc->last_term = term_state(kc);
			pr_info("pod %s/%s container %s exited (%d, %s)", p->ns, p->name, kc->name,
				kc->st.exit_code, kc->st.reason);
			if (should_restart(policy, kc->st.exit_code)) {
				/* the first restart is immediate, then kubelet's
				 * 10 s doubling back-off */
				unsigned d = kc->bo.restarts ? rt_backoff_delay(kc->bo.restarts - 1) : 0;

				if (ran >= RT_BACKOFF_RESET_SEC)
					kc->bo.restarts = 0, d = 0;
				kc->bo.restarts++;
				kc->restart_pending = true;
				kc->next_start = now + d;
				if (d)
					kl_event(kl, p, kc->name, true, "BackOff",
						 "Back-off %us restarting failed container %s", d,
						 kc->name);
			} else {
				kc->done = true;
			}
		}
		if (kc->restart_pending && now >= kc->next_start) {
			kc->restarts++;
			ctr_start(kl, p, obj, ctr, kc);
		}
		return;
	}
	/* running (or created): probes */
	json_t *lp = json_object_get(ctr, "livenessProbe"), *rp = json_object_get(ctr, "readinessProbe");

	if (lp) {
		int r = probe_due(kl, p, kc, lp, &kc->next_live, now);

		if (r == 1)
			kc->live_fail = 0;
		else if (r == 0 && ++kc->live_fail >= probe_int(lp, "failureThreshold", 3)) {
			int grace = (int)json_integer_value(json_object_get(json_object_get(obj, "spec"),
							    "terminationGracePeriodSeconds"));

			pr_info("pod %s/%s container %s failed liveness probe, will be restarted",
				p->ns, p->name, kc->name);
			kl_event(kl, p, kc->name, true, "Unhealthy", "Liveness probe failed");
			kl_event(kl, p, kc->name, false, "Killing",
				 "Container %s failed liveness probe, will be restarted", kc->name);
			kc->live_fail = 0;
			memset(&e, 0, sizeof(e));
			rt_stop(kl->rt, kc->id, json_object_get(json_object_get(obj, "spec"),
				"terminationGracePeriodSeconds") ? grace : KL_DEFAULT_GRACE, &e);
			memset(&e, 0, sizeof(e));
			rt_status(kl->rt, kc->id, &kc->st, &e);
			return;
		}
	}
	if (rp) {
		int r = probe_due(kl, p, kc, rp, &kc->next_ready, now);

		if (r == 1) {
			kc->ready_fail = 0;
			kc->ready = true;
		} else if (r == 0 && ++kc->ready_fail >= probe_int(rp, "failureThreshold", 3)) {
			if (kc->ready || kc->ready_fail == probe_int(rp, "failureThreshold", 3))
				kl_event(kl, p, kc->name, true, "Unhealthy", "Readiness probe failed");
			kc->ready = false;
		}
	} else {
		kc->ready = kc->st.state == RT_RUNNING;
	}
}

/* ---- status --------------------------------------------------------------- */

static json_t *cond(const char *type, bool ok, const char *reason, const char *ts)
{
	json_t *c = json_pack("{s:s, s:s, s:s}", "type", type, "status", ok ? "True" : "False",
			      "lastTransitionTime", ts);

	if (reason && !ok)
		json_object_set_new(c, "reason", json_string(reason));
	return c;
}

static json_t *pod_status(struct kubelet *kl, struct kpod *p, const json_t *obj)
{
	json_t *st = json_object(), *css = json_array(), *conds = json_array();
	json_t *ctrs = json_object_get(json_object_get(obj, "spec"), "containers");
	bool all_ready = p->nc > 0, any_running = false, all_done = p->nc > 0, all_ok = true;
	bool any_restarting = false;
	char ts[40];

	snprintf(ts, sizeof(ts), "%s", p->start_time);
	{
		char b[INET_ADDRSTRLEN];
		struct in_addr ia = { kl->a->cfg.node_ip };

		inet_ntop(AF_INET, &ia, b, sizeof(b));
		json_object_set_new(st, "hostIP", json_string(b));
		json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", b));
	}
	json_object_set_new(st, "startTime", json_string(p->start_time));
	if (p->rejected) {
		json_object_set_new(st, "phase", json_string("Failed"));
		json_object_set_new(st, "reason", json_string(p->reject_reason));
		json_object_set_new(st, "message", json_string(p->reject_msg));
		json_decref(css);
		json_decref(conds);
		return st;
	}
	if (p->sandbox) {
		json_object_set_new(st, "podIP", json_string(p->ip));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip));
	}
	for (size_t i = 0; i < p->nc; i++) {
		struct kctr *kc = &p->c[i];
		json_t *ctr = json_array_get(ctrs, i), *cs, *state;
		char a[40], cid[100];

		snprintf(cid, sizeof(cid), "runc://%s", kc->id);
		if (kc->created && kc->st.state != RT_EXITED) {
			ctr_ts(&kc->st.started, a, sizeof(a));
			state = json_pack("{s:{s:s}}", "running", "startedAt", a);
			any_running = true;
		} else if (kc->wait_reason[0] && (!kc->created || kc->restart_pending)) {
			state = json_pack("{s:{s:s, s:s}}", "waiting", "reason", kc->wait_reason,
					  "message", kc->wait_msg);
		} else if (kc->restart_pending) {
			char m[128];

			snprintf(m, sizeof(m), "back-off %lds restarting failed container=%s pod=%s",
				 (long)(kc->next_start - time(NULL)), kc->name, p->name);
			state = json_pack("{s:{s:s, s:s}}", "waiting", "reason", "CrashLoopBackOff",
					  "message", m);
		} else if (kc->last_term && kc->done) {
			state = json_pack("{s:O}", "terminated", kc->last_term);
		} else {
			state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
		}
		if (kc->restart_pending && kc->last_term)
			any_restarting = true;   /* ran before: the pod is Running */
		if (!kc->done)
			all_done = false;
		else if (kc->st.exit_code)
			all_ok = false;
		if (!kc->ready)
			all_ready = false;
		cs = json_pack("{s:s, s:o, s:b, s:i, s:s, s:s, s:b}", "name", kc->name, "state", state,
			       "ready", kc->ready, "restartCount", (int)kc->restarts,
			       "image", jstr(ctr, "image") ?: "", "imageID", "",
			       "started", kc->created && kc->st.state == RT_RUNNING);
		if (kc->created)
			json_object_set_new(cs, "containerID", json_string(cid));
		if (kc->last_term)
			json_object_set_new(cs, "lastState",
					    json_pack("{s:O}", "terminated", kc->last_term));
		else
			json_object_set_new(cs, "lastState", json_object());
		json_array_append_new(css, cs);
	}
	json_object_set_new(st, "containerStatuses", css);
	if (all_done)
		json_object_set_new(st, "phase", json_string(all_ok ? "Succeeded" : "Failed"));
	else if (any_running || any_restarting)
		json_object_set_new(st, "phase", json_string("Running"));
	else
		json_object_set_new(st, "phase", json_string("Pending"));
	if (!p->sandbox && p->sandbox_err[0])
		json_object_set_new(st, "message", json_string(p->sandbox_err));
	json_array_append_new(conds, cond("PodScheduled", true, NULL, ts));
	json_array_append_new(conds, cond("Initialized", true, NULL, ts));
	/* lastTransitionTime moves only when readiness flips (a first value
	 * comes from an adopted status, else the start time) */
	if (p->ready_state != (int)all_ready) {
		if (p->ready_state >= 0 || !p->ready_ts[0])
			ts_fmt(time(NULL), p->ready_ts, sizeof(p->ready_ts));
		p->ready_state = all_ready;
	}
	json_array_append_new(conds, cond("ContainersReady", all_ready, "ContainersNotReady",
					  p->ready_ts));
	json_array_append_new(conds, cond("Ready", all_ready, "ContainersNotReady", p->ready_ts));
	json_object_set_new(st, "conditions", conds);
	return st;
}

static void status_push(struct kubelet *kl, struct kpod *p, const json_t *obj)
{
	json_t *st = pod_status(kl, p, obj), *body;
	struct api_resp r;
	struct gerr e = { 0 };
	char path[600];

	if (p->last_status && json_equal(p->last_status, st)) {
		json_decref(st);
		return;
	}
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", p->ns, p->name);
	body = json_pack("{s:O}", "status", st);
	if (api_call(kl, "PATCH", path, "merge", body, &r, &e) || !api_ok(&r)) {
		pr_warn("pod %s/%s: status update: %s", p->ns, p->name,
			e.msg[0] ? e.msg : r.message);
		json_decref(st);
	} else {
		json_decref(p->last_status);
		p->last_status = st;
	}
	api_resp_free(&r);
	json_decref(body);
}

/* ---- pod worker ----------------------------------------------------------- */

static void pod_teardown(struct kubelet *kl, struct kpod *p, const json_t *obj)
{
	json_t *g = json_object_get(json_object_get(obj, "metadata"), "deletionGracePeriodSeconds");
	json_t *sg = json_object_get(json_object_get(obj, "spec"), "terminationGracePeriodSeconds");
	int grace = json_is_integer(sg) ? (int)json_integer_value(sg) : KL_DEFAULT_GRACE;
	char pod_dir[400];
	struct gerr e = { 0 };

	if (json_is_integer(g) && json_integer_value(g) > 0 && json_integer_value(g) < grace)
		grace = (int)json_integer_value(g);
	for (size_t i = 0; i < p->nc; i++) {
		struct kctr *kc = &p->c[i];

		memset(&e, 0, sizeof(e));
		if (rt_status(kl->rt, kc->id, &kc->st, &e) == -ENOENT)
			continue;
		memset(&e, 0, sizeof(e));
		if (kc->st.state != RT_EXITED && rt_stop(kl->rt, kc->id, grace, &e))
			pr_warn("pod %s/%s: stop %s: %s", p->ns, p->name, kc->name, e.msg);
		memset(&e, 0, sizeof(e));
		if (rt_remove(kl->rt, kc->id, &e))
			pr_warn("pod %s/%s: remove %s: %s", p->ns, p->name, kc->name, e.msg);
	}
	sandbox_down(kl, p);
	snprintf(pod_dir, sizeof(pod_dir), "%s/%s", kl->pod_root, p->uid);
	memset(&e, 0, sizeof(e));
	rt_vol_cleanup(pod_dir, &e);
	rmdir(pod_dir);
	pr_info("pod %s/%s torn down", p->ns, p->name);
}

static void ctr_id(const struct kpod *p, const char *name, char *id, size_t len)
{
	char b[72];

	/* deterministic so that a restarted agent finds (adopts) it */
	snprintf(b, sizeof(b), "k%.13s-%.48s", p->uid, name);
	snprintf(id, len, "%s", b);
}

/* First sync of a worker: set up containers and adopt what exists. */
static void pod_init(struct kubelet *kl, struct kpod *p, const json_t *obj)
{
	json_t *ctrs = json_object_get(json_object_get(obj, "spec"), "containers"), *c;
	json_t *ost = json_object_get(obj, "status");
	size_t i;

	snprintf(p->netns, sizeof(p->netns), "%s%.13s", kl->a->cfg.netns_prefix, p->uid);
	p->host_network = json_is_true(json_object_get(json_object_get(obj, "spec"), "hostNetwork"));
	if (p->host_network)
		/* the agent runs in the node's netns */
		snprintf(p->netns_path, sizeof(p->netns_path), "/proc/%d/ns/net", (int)getpid());
	else
		snprintf(p->netns_path, sizeof(p->netns_path), "/run/netns/%s", p->netns);
	p->ready_state = -1;
	{
		json_t *c2;
		size_t k;

		json_array_foreach(json_object_get(ost, "conditions"), k, c2)
			if (jstr(c2, "type") && !strcmp(jstr(c2, "type"), "Ready") &&
			    jstr(c2, "lastTransitionTime") && jstr(c2, "status")) {
				snprintf(p->ready_ts, sizeof(p->ready_ts), "%s",
					 jstr(c2, "lastTransitionTime"));
				p->ready_state = !strcmp(jstr(c2, "status"), "True");
			}
	}
	if (jstr(ost, "startTime"))
		snprintf(p->start_time, sizeof(p->start_time), "%s", jstr(ost, "startTime"));
	else
		ts_fmt(time(NULL), p->start_time, sizeof(p->start_time));
	json_array_foreach(ctrs, i, c) {
		struct kctr *kc;
		struct gerr e = { 0 };
		json_t *cs;

		if (i >= KL_MAX_CTRS)
			break;
		kc = &p->c[p->nc++];
		snprintf(kc->name, sizeof(kc->name), "%s", jstr(c, "name") ?: "");
		ctr_id(p, kc->name, kc->id, sizeof(kc->id));
		if (!rt_status(kl->rt, kc->id, &kc->st, &e) && !strcmp(kc->st.pod_uid, p->uid)) {
			kc->created = true;
			cs = find_named(json_object_get(ost, "containerStatuses"), kc->name);
			kc->restarts = (unsigned)json_integer_value(json_object_get(cs, "restartCount"));
			kc->bo.restarts = kc->restarts;
			if (json_object_get(json_object_get(cs, "lastState"), "terminated"))
				kc->last_term = json_incref(json_object_get(json_object_get(cs, "lastState"),
									 "terminated"));
			if (kc->st.state == RT_EXITED) {
				/* already reported? keep it handled */
				json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");

				if (t)
					kc->exit_handled = true, kc->done = true;
			}
			kc->ready = json_is_true(json_object_get(cs, "ready"));
			pr_info("pod %s/%s container %s adopted (%s)", p->ns, p->name, kc->name,
				kc->st.state == RT_RUNNING ? "running" : "not running");
		}
	}
	if ((p->host_network || netns_exists(p->netns)) && jstr(ost, "podIP")) {
		p->sandbox = true;
		snprintf(p->ip, sizeof(p->ip), "%s", jstr(ost, "podIP"));
		pr_info("pod %s/%s: sandbox %s (%s) adopted", p->ns, p->name, p->netns, p->ip);
	}
}

static void *pod_worker(void *arg)
{
	struct kpod *p = arg;
	struct kubelet *kl = p->kl;
	bool first = true;

	for (;;) {
		json_t *obj;
		bool gone, deleting;
		time_t now = time(NULL);
		const char *policy;
		struct timespec dl;

		pthread_mutex_lock(&kl->lock);
		obj = json_incref(p->obj);
		gone = p->gone;
		p->kick = false;
		pthread_mutex_unlock(&kl->lock);
		deleting = gone || jpath2(obj, "metadata", "deletionTimestamp");
		if (atomic_load(&kl->stop)) {
			json_decref(obj);
			break;
		}
		if (first) {
			pod_init(kl, p, obj);
			first = false;
		}
		if (deleting) {
			pod_teardown(kl, p, obj);
			if (!gone) {
				/* finalize as kubelet does: the object goes once
				 * everything on the node is gone */
				char path[600];
				struct api_resp r;
				struct gerr e = { 0 };
				json_t *b = json_pack("{s:s, s:s, s:s, s:i, s:{s:s}}", "kind",
						      "DeleteOptions", "apiVersion", "v1",
						      "propagationPolicy", "Background",
						      "gracePeriodSeconds", 0, "preconditions", "uid",
						      p->uid);

				snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", p->ns,
					 p->name);
				api_call(kl, "DELETE", path, NULL, b, &r, &e);
				api_resp_free(&r);
				json_decref(b);
			}
			json_decref(obj);
			break;
		}
		if (!p->admitted && !p->rejected) {
			if (admit(kl, p, obj)) {
				p->admitted = true;
			} else {
				p->rejected = true;
				kl_event(kl, p, NULL, true, p->reject_reason, "%s", p->reject_msg);
			}
		}
		if (p->admitted) {
			if (!p->sandbox && now >= p->sandbox_retry && sandbox_up(kl, p))
				p->sandbox_retry = now + 5;
			if (p->sandbox) {
				json_t *ctrs = json_object_get(json_object_get(obj, "spec"), "containers");

				policy = jpath2(obj, "spec", "restartPolicy");
				for (size_t i = 0; i < p->nc; i++)
					ctr_sync(kl, p, obj, json_array_get(ctrs, i), &p->c[i], policy, now);
			}
		}
		status_push(kl, p, obj);
		json_decref(obj);

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += kl->a->cfg.sync_ms / 1000;
		dl.tv_nsec += (long)(kl->a->cfg.sync_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&kl->lock);
		while (!p->kick && !atomic_load(&kl->stop))
			if (pthread_cond_timedwait(&p->cv, &kl->lock, &dl) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&kl->lock);
	}
	pthread_mutex_lock(&kl->lock);
	p->finished = true;
	pthread_mutex_unlock(&kl->lock);
	return NULL;
}

/* ---- pod registry (watch side) ------------------------------------------- */

/* Joins and frees workers that finished and whose object is gone. Called
 * with kl->lock held. */
static void pods_reap(struct kubelet *kl)
{
	struct kpod **pp = &kl->pods, *p;

	while ((p = *pp)) {
		if (p->finished && p->gone) {
			*pp = p->next;
			pthread_join(p->th, NULL);
			for (size_t i = 0; i < p->nc; i++)
				json_decref(p->c[i].last_term);
			json_decref(p->obj);
			json_decref(p->last_status);
			pthread_cond_destroy(&p->cv);
			free(p);
			continue;
		}
		pp = &p->next;
	}
}

static struct kpod *pod_find(struct kubelet *kl, const char *uid)
{
	for (struct kpod *p = kl->pods; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

static void pod_upsert(struct kubelet *kl, json_t *obj)
{
	const char *uid = jpath2(obj, "metadata", "uid");
	pthread_attr_t at;
	struct kpod *p;

	if (!uid || !jpath2(obj, "metadata", "name"))
		return;
	p = pod_find(kl, uid);
	if (p) {
		json_decref(p->obj);
		p->obj = json_incref(obj);
		p->kick = true;
		pthread_cond_signal(&p->cv);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->kl = kl;
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	snprintf(p->ns, sizeof(p->ns), "%s", jpath2(obj, "metadata", "namespace") ?: "default");
	snprintf(p->name, sizeof(p->name), "%s", jpath2(obj, "metadata", "name"));
	p->obj = json_incref(obj);
	pthread_cond_init(&p->cv, NULL);
	pthread_attr_init(&at);
	/* a worker per pod keeps the code simple; small stacks keep 50 pods
	 * cheap (only touched pages count towards RSS anyway) */
	pthread_attr_setstacksize(&at, KL_STACK);
	if (pthread_create(&p->th, &at, pod_worker, p)) {
		pr_err("pod %s/%s: cannot start worker", p->ns, p->name);
		json_decref(p->obj);
		free(p);
	} else {
		p->next = kl->pods;
		kl->pods = p;
	}
	pthread_attr_destroy(&at);
}

static void pod_mark_gone(struct kubelet *kl, const char *uid)
{
	struct kpod *p = uid ? pod_find(kl, uid) : NULL;

	if (!p)
		return;
	p->gone = true;
	p->kick = true;
	pthread_cond_signal(&p->cv);
}

/* Containers and netns this node has but the API no longer knows (pods
 * deleted while the agent was down) are removed once, after the first
 * list. */
static void remove_orphans(struct kubelet *kl)
{
	char **ids = NULL;
	struct gerr e = { 0 };

	if (rt_list(kl->rt, &ids, &e))
		return;
	for (char **id = ids; *id; id++) {
		struct rt_status st;
		bool known;

		memset(&e, 0, sizeof(e));
		if (rt_status(kl->rt, *id, &st, &e) || !st.pod_uid[0])
			continue;
		pthread_mutex_lock(&kl->lock);
		known = pod_find(kl, st.pod_uid) != NULL;
		pthread_mutex_unlock(&kl->lock);
		if (known)
			continue;
		pr_info("removing orphan container %s (pod %s/%s)", *id, st.pod_namespace,
			st.pod_name);
		memset(&e, 0, sizeof(e));
		rt_stop(kl->rt, *id, 2, &e);
		rt_remove(kl->rt, *id, &e);
		{
			struct kpod tmp = { .kl = kl };

			snprintf(tmp.uid, sizeof(tmp.uid), "%s", st.pod_uid);
			snprintf(tmp.ns, sizeof(tmp.ns), "%s", st.pod_namespace);
			snprintf(tmp.name, sizeof(tmp.name), "%s", st.pod_name);
			snprintf(tmp.netns, sizeof(tmp.netns), "%s%.13s", kl->a->cfg.netns_prefix,
				 st.pod_uid);
			if (netns_exists(tmp.netns))
				sandbox_down(kl, &tmp);
		}
	}
	rt_strv_free(ids);
}

struct watch_ctx {
	struct kubelet *kl;
	char rv[32];
	bool relist;
	bool nodes;
};

static void nodes_apply(struct kubelet *kl);
static json_t *node_table;       /* name -> Node (node watch thread only) */

static int watch_cb(const char *type, json_t *obj, void *arg)
{
	struct watch_ctx *w = arg;
	const char *rv = jpath2(obj, "metadata", "resourceVersion");

	if (!strcmp(type, "ERROR")) {
		w->relist = true;
		return 1;
	}
	if (rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	if (!strcmp(type, "BOOKMARK"))
		return atomic_load(&w->kl->stop);
	if (w->nodes) {
		const char *n = jpath2(obj, "metadata", "name");

		if (n) {
			if (!strcmp(type, "DELETED"))
				json_object_del(node_table, n);
			else
				json_object_set(node_table, n, obj);
			nodes_apply(w->kl);
		}
	} else {
		pthread_mutex_lock(&w->kl->lock);
		if (!strcmp(type, "DELETED"))
			pod_mark_gone(w->kl, jpath2(obj, "metadata", "uid"));
		else
			pod_upsert(w->kl, obj);
		pods_reap(w->kl);
		pthread_mutex_unlock(&w->kl->lock);
	}
	return atomic_load(&w->kl->stop);
}

/* List + watch loop shared by the Pod and Node watchers. */
static void list_watch(struct kubelet *kl, bool nodes)
{
	struct apiclient *c = NULL;
	struct apiclient_opts o = { .timeout_ms = 30000 };
	struct watch_ctx w = { .kl = kl, .nodes = nodes };
	char base[300], path[600], fs[200];
	bool first = true;

	if (nodes) {
		snprintf(base, sizeof(base), "/api/v1/nodes?");
	} else {
		char sel[160];

		snprintf(sel, sizeof(sel), "spec.nodeName=%s", kl->a->cfg.node_name);
		apiclient_escape(sel, fs, sizeof(fs));
		snprintf(base, sizeof(base), "/api/v1/pods?fieldSelector=%s&", fs);
	}
	while (!atomic_load(&kl->stop)) {
		struct api_resp r = { 0 };
		struct gerr e = { 0 };
		json_t *items, *it;
		size_t i;
		long code = 0;

		if (!c && apiclient_new(&kl->kc, &o, &c, &e)) {
			pr_warn("API client: %s", e.msg);
			kl_sleep(kl, 1000);
			continue;
		}
		snprintf(path, sizeof(path), "%s", base);
		path[strlen(path) - 1] = 0;
		if (apiclient_get(c, path, &r, &e) || !api_ok(&r)) {
			pr_warn("list %s: %s", nodes ? "nodes" : "pods", e.msg[0] ? e.msg : r.message);
			api_resp_free(&r);
			kl_sleep(kl, 1000);
			continue;
		}
		items = json_object_get(r.body, "items");
		snprintf(w.rv, sizeof(w.rv), "%s", jpath2(r.body, "metadata", "resourceVersion") ?: "0");
		if (nodes) {
			json_object_clear(node_table);
			json_array_foreach(items, i, it)
				if (jpath2(it, "metadata", "name"))
					json_object_set(node_table, jpath2(it, "metadata", "name"), it);
			nodes_apply(kl);
		} else {
			pthread_mutex_lock(&kl->lock);
			for (struct kpod *p = kl->pods; p; p = p->next) {
				bool seen = false;

				json_array_foreach(items, i, it)
					if (jpath2(it, "metadata", "uid") &&
					    !strcmp(jpath2(it, "metadata", "uid"), p->uid))
						seen = true;
				if (!seen)
					pod_mark_gone(kl, p->uid);
			}
			json_array_foreach(items, i, it)
				pod_upsert(kl, it);
			pods_reap(kl);
			pthread_mutex_unlock(&kl->lock);
			if (first)
				remove_orphans(kl);
		}
		first = false;
		api_resp_free(&r);
		w.relist = false;
		while (!atomic_load(&kl->stop) && !w.relist) {
			int ret;

			memset(&e, 0, sizeof(e));
			snprintf(path, sizeof(path), "%swatch=true&allowWatchBookmarks=true&resourceVersion=%s",
				 base, w.rv);
			ret = apiclient_watch(c, path, KL_WATCH_MS, watch_cb, &w, &code, &e);
			if (ret && ret != -ETIMEDOUT) {
				pr_debug("watch %s: %s", nodes ? "nodes" : "pods", e.msg);
				w.relist = true;
				kl_sleep(kl, 500);
			}
		}
	}
	apiclient_free(c);
}

static void *pod_watch_thread(void *arg)
{
	list_watch(arg, false);
	return NULL;
}

/* ---- nodes: remote routes ------------------------------------------------- */

static struct agentcfg *last_peers;   /* node watch thread only */

static void nodes_apply(struct kubelet *kl)
{
	struct agentcfg *c = calloc(1, sizeof(*c));
	struct gerr e = { 0 };
	const char *name;
	json_t *n;

	if (!c)
		return;
	json_object_foreach(node_table, name, n) {
		const char *ip = node_internal_ip(n), *cidr = jpath2(n, "spec", "podCIDR");
		struct agentcfg_peer *p;
		struct in_addr ia;

		if (!strcmp(name, kl->a->cfg.node_name) || !ip || !cidr ||
		    c->n_peers >= AGENTCFG_MAX_PEERS || inet_pton(AF_INET, ip, &ia) != 1)
			continue;
		p = &c->peers[c->n_peers];
		if (agentcfg_parse_cidr(cidr, &p->pod_cidr, &p->pod_prefix))
			continue;
		p->node_ip = ia.s_addr;
		snprintf(p->name, sizeof(p->name), "%s", name);
		c->n_peers++;
	}
	/* Node status heartbeats arrive every few seconds: program the maps
	 * only when the set of (podCIDR, nodeIP) changed. */
	if (last_peers && last_peers->n_peers == c->n_peers &&
	    !memcmp(last_peers->peers, c->peers, c->n_peers * sizeof(c->peers[0]))) {
		free(c);
		return;
	}
	if (!atomic_load(&kl->stop) && peers_sync(kl->a, c, &e)) {
		pr_warn("remote nodes: %s", e.msg);
		free(c);
		return;
	}
	free(last_peers);
	last_peers = c;
}

static void *node_watch_thread(void *arg)
{
	node_table = json_object();
	list_watch(arg, true);
	json_decref(node_table);
	node_table = NULL;
	free(last_peers);
	last_peers = NULL;
	return NULL;
}

/* ---- node registration and lease ------------------------------------------ */

static int http_port(const struct agent *a)
{
	return (int)a->cfg.kubelet_port;
}

static int node_register(struct kubelet *kl, struct apiclient *c, struct gerr *e)
{
	const struct agentcfg *cfg = &kl->a->cfg;
	char cidr[32], ip[INET_ADDRSTRLEN], path[300];
	struct in_addr ia = { cfg->pod_cidr };
	struct api_resp r = { 0 };
	json_t *body;
	int ret;

	inet_ntop(AF_INET, &ia, ip, sizeof(ip));
	snprintf(cidr, sizeof(cidr), "%s/%u", ip, cfg->pod_prefix);
	body = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}, s:{}}",
			 "apiVersion", "v1", "kind", "Node", "metadata", "name", cfg->node_name,
			 "labels", "kubernetes.io/hostname", cfg->node_name, "kubernetes.io/os",
			 "linux", "kubernetes.io/arch", "amd64", "spec");
	if (cfg->pod_cidr) {
		json_object_set_new(json_object_get(body, "spec"), "podCIDR", json_string(cidr));
		json_object_set_new(json_object_get(body, "spec"), "podCIDRs", json_pack("[s]", cidr));
	}
	if (cfg->agent_endpoint[0])
		json_object_set_new(json_object_get(body, "metadata"), "annotations",
				    json_pack("{s:s}", "gannet.io/agent-endpoint", cfg->agent_endpoint));
	ret = apiclient_post(c, "/api/v1/nodes", body, &r, e);
	json_decref(body);
	if (ret)
		return ret;
	if (r.status == 409) {
		/* exists: fill in the pod CIDR only when the IPAM controller
		 * has not assigned one */
		api_resp_free(&r);
		snprintf(path, sizeof(path), "/api/v1/nodes/%s", cfg->node_name);
		ret = apiclient_get(c, path, &r, e);
		if (ret)
			return ret;
		if (api_ok(&r) && cfg->agent_endpoint[0]) {
			struct api_resp r2 = { 0 };

			/* the API server proxies logs/exec there */
			body = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
					 "gannet.io/agent-endpoint", cfg->agent_endpoint);
			if (!apiclient_patch(c, path, "merge", body, &r2, e) && !api_ok(&r2))
				pr_warn("node annotation: %s", r2.message);
			api_resp_free(&r2);
			json_decref(body);
		}
		if (!cfg->pod_cidr) {
			/* waiting for the IPAM controller's CIDR */
		} else if (api_ok(&r) && !jpath2(r.body, "spec", "podCIDR")) {
			api_resp_free(&r);
			body = json_pack("{s:{s:s, s:[s]}}", "spec", "podCIDR", cidr, "podCIDRs", cidr);
			ret = apiclient_patch(c, path, "merge", body, &r, e);
			json_decref(body);
			if (ret)
				return ret;
		} else if (api_ok(&r) && strcmp(jpath2(r.body, "spec", "podCIDR"), cidr)) {
			pr_warn("Node %s has podCIDR %s, the configuration says %s (using %s)",
				cfg->node_name, jpath2(r.body, "spec", "podCIDR"), cidr, cidr);
		}
	}
	if (!api_ok(&r)) {
		ret = gerr_set(e, -EPROTO, "register node: %s", r.message);
		api_resp_free(&r);
		return ret;
	}
	api_resp_free(&r);
	pr_info("node %s registered", cfg->node_name);
	return 0;
}

static int node_status(struct kubelet *kl, struct apiclient *c, struct gerr *e)
{
	const struct agentcfg *cfg = &kl->a->cfg;
	char ip[INET_ADDRSTRLEN], now[40], cpu[32], mem[32], path[300];
	struct in_addr ia = { cfg->node_ip };
	struct api_resp r = { 0 };
	struct utsname u;
	json_t *cap, *body;
	int ret;

	inet_ntop(AF_INET, &ia, ip, sizeof(ip));
	ts_fmt(time(NULL), now, sizeof(now));
	uname(&u);
	snprintf(cpu, sizeof(cpu), "%lld", (long long)(kl->cpu_milli / 1000));
	snprintf(mem, sizeof(mem), "%lldKi", (long long)(kl->mem_bytes / 1024));
	cap = json_pack("{s:s, s:s, s:s}", "cpu", cpu, "memory", mem, "pods", "110");
	body = json_pack("{s:{s:[{s:s, s:s}, {s:s, s:s}], s:O, s:O, s:[{s:s, s:s, s:s, s:s, s:s, s:s}],"
			 " s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}}",
			 "status", "addresses", "type", "InternalIP", "address", ip, "type",
			 "Hostname", "address", cfg->node_name, "capacity", cap, "allocatable", cap,
			 "conditions", "type", "Ready", "status", "True", "reason", "KubeletReady",
			 "message", "gannet-agent is posting ready status", "lastHeartbeatTime", now,
			 "lastTransitionTime", kl->start_ts, "daemonEndpoints", "kubeletEndpoint",
			 "Port", http_port(kl->a), "nodeInfo", "kubeletVersion", "gannet-0.1",
			 "containerRuntimeVersion", "runc", "operatingSystem", "linux", "architecture",
			 "amd64", "kernelVersion", u.release, "osImage", "Gannet", "machineID",
			 cfg->node_name);
	json_decref(cap);
	snprintf(path, sizeof(path), "/api/v1/nodes/%s/status", cfg->node_name);
	ret = apiclient_patch(c, path, "merge", body, &r, e);
	json_decref(body);
	if (!ret && !api_ok(&r))
		ret = gerr_set(e, -EPROTO, "node status: %s", r.message);
	api_resp_free(&r);
	return ret;
}

static int lease_renew(struct kubelet *kl, struct apiclient *c, struct gerr *e)
{
	const char *node = kl->a->cfg.node_name;
	char path[300], now[48];
	struct api_resp r = { 0 };
	json_t *body;
	int ret;

	now_micro(now, sizeof(now));
	snprintf(path, sizeof(path),
		 "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", node);
	body = json_pack("{s:{s:s, s:i, s:s}}", "spec", "holderIdentity", node,
			 "leaseDurationSeconds", (int)kl->a->cfg.lease_sec * 4, "renewTime", now);
	ret = apiclient_patch(c, path, "merge", body, &r, e);
	if (!ret && r.status == 404) {
		api_resp_free(&r);
		json_object_set_new(body, "apiVersion", json_string("coordination.k8s.io/v1"));
		json_object_set_new(body, "kind", json_string("Lease"));
		json_object_set_new(body, "metadata", json_pack("{s:s, s:s}", "name", node,
								"namespace", "kube-node-lease"));
		json_object_set_new(json_object_get(body, "spec"), "acquireTime", json_string(now));
		ret = apiclient_post(c, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
				     body, &r, e);
	}
	json_decref(body);
	if (!ret && !api_ok(&r))
		ret = gerr_set(e, -EPROTO, "lease: %s", r.message);
	api_resp_free(&r);
	return ret;
}

static void *lease_thread(void *arg)
{
	struct kubelet *kl = arg;
	struct apiclient_opts o = { .timeout_ms = 10000 };
	struct apiclient *c = NULL;
	bool registered = false;

	while (!atomic_load(&kl->stop)) {
		struct gerr e = { 0 };

		if (!c && apiclient_new(&kl->kc, &o, &c, &e)) {
			pr_warn("API client: %s", e.msg);
		} else if (!registered) {
			registered = !node_register(kl, c, &e) && !node_status(kl, c, &e);
			if (!registered) {
				pr_warn("node registration: %s (retrying)", e.msg);
				kl_sleep(kl, 1000);
				continue;
			}
			if (lease_renew(kl, c, &e))
				pr_warn("%s", e.msg);
		} else {
			if (lease_renew(kl, c, &e))
				pr_warn("%s", e.msg);
			memset(&e, 0, sizeof(e));
			if (node_status(kl, c, &e))
				pr_warn("%s", e.msg);
		}
		kl_sleep(kl, (long)kl->a->cfg.lease_sec * 1000);
	}
	apiclient_free(c);
	return NULL;
}

/* ---- logs and exec over the agent's HTTP endpoint ------------------------ */

/* Container id for ns/pod/container ("" = the first container). */
static int lookup_ctr(struct kubelet *kl, const char *ns, const char *pod, const char *ctr,
		      char *id, size_t len)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&kl->lock);
	for (struct kpod *p = kl->pods; p; p = p->next) {
		json_t *ctrs;

		if (p->gone || strcmp(p->ns, ns) || strcmp(p->name, pod))
			continue;
		ctrs = json_object_get(json_object_get(p->obj, "spec"), "containers");
		if (!ctr || !*ctr)
			ctr = jstr(json_array_get(ctrs, 0), "name");
		if (ctr && find_named(ctrs, ctr)) {
			ctr_id(p, ctr, id, len);
			ret = 0;
		}
		break;
	}
	pthread_mutex_unlock(&kl->lock);
	return ret;
}

struct log_stream {
	struct kubelet *kl;
	char id[72];
	struct rt_log_opts o;
	int rfd, wfd;
	atomic_int refs;         /* the HTTP response and the writer */
	pthread_t th;
};

/* Detached: a follower whose client left ends only at the container's
 * next output (EPIPE) or exit, and must not hold up the HTTP connection
 * (or the agent's stop) until then. */
static void *log_writer(void *arg)
{
	struct log_stream *s = arg;
	struct kubelet *kl = s->kl;
	struct gerr e = { 0 };

	rt_logs(kl->rt, s->id, &s->o, s->wfd, &e);
	close(s->wfd);
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
	atomic_fetch_sub(&kl->streams, 1);
	return NULL;
}

static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *s = cls;
	ssize_t n;

	(void)pos;
	do
		n = read(s->rfd, buf, max);
	while (n < 0 && errno == EINTR);
	return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void log_free(void *cls)
{
	struct log_stream *s = cls;

	/* closing the read end makes a following writer fail with EPIPE */
	close(s->rfd);
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

struct argv_acc {
	const char *v[64];
	int n;
};

static enum MHD_Result collect_cmd(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct argv_acc *a = cls;

	(void)kind;
	if (!strcmp(key, "command") && value && a->n < 63)
		a->v[a->n++] = value;
	return MHD_YES;
}

enum MHD_Result kubelet_reply(struct MHD_Connection *c, unsigned code, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				body[0] == '{' ? "application/json" : "text/plain");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

int kubelet_http(struct agent *a, struct MHD_Connection *c, const char *url, const char *method)
{
	struct kubelet *kl = a->kl;
	char ns[128], pod[256], ctr[64] = "", id[72];
	bool logs = !strncmp(url, "/containerLogs/", 15), exec = !strncmp(url, "/exec/", 6);
	const char *rest;
	int n;

	if (!logs && !exec)
		return -1;
	if (!kl)
		return kubelet_reply(c, 503, "agent is not ready\n");
	rest = url + (logs ? 15 : 6);
	n = sscanf(rest, "%127[^/]/%255[^/]/%63[^/]", ns, pod, ctr);
	if (n < 2)
		return kubelet_reply(c, 400, "expected /<namespace>/<pod>[/<container>]\n");
	if (lookup_ctr(kl, ns, pod, ctr, id, sizeof(id)))
		return kubelet_reply(c, 404, "no such pod or container on this node\n");
	if (logs) {
		const char *v;
		struct log_stream *s = calloc(1, sizeof(*s));
		struct MHD_Response *r;
		int p[2];
		enum MHD_Result ret;

		if (!s || pipe2(p, O_CLOEXEC)) {
			free(s);
			return kubelet_reply(c, 500, "out of resources\n");
		}
		s->kl = kl;
		snprintf(s->id, sizeof(s->id), "%s", id);
		s->o.tail = -1;
		if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tailLines")))
			s->o.tail = atol(v);
		if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow")))
			s->o.follow = !strcmp(v, "true") || !strcmp(v, "1");
		if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timestamps")))
			s->o.timestamps = !strcmp(v, "true") || !strcmp(v, "1");
		s->rfd = p[0];
		s->wfd = p[1];
		atomic_init(&s->refs, 2);
		atomic_fetch_add(&kl->streams, 1);
		if (pthread_create(&s->th, NULL, log_writer, s)) {
			atomic_fetch_sub(&kl->streams, 1);
			close(p[0]);
			close(p[1]);
			free(s);
			return kubelet_reply(c, 500, "cannot start log stream\n");
		}
		pthread_detach(s->th);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, log_read, s, log_free);
		if (!r) {
			log_free(s);
			return MHD_NO;
		}
		MHD_add_response_header(r, "Content-Type", "text/plain");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(method, "POST"))
		return kubelet_reply(c, 405, "exec needs POST\n");
	{
		struct argv_acc acc = { 0 };
		char *out = malloc(65536);
		struct gerr e = { 0 };
		int code = -1, ret;
		json_t *j;
		char *body;
		enum MHD_Result mr;

		const char *up = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");

		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_cmd, &acc);
		if (!acc.n || !out) {
			free(out);
			return kubelet_reply(c, 400, "exec: no command= given\n");
		}
		if (up && !strcasecmp(up, "gannet-exec")) {
			/* interactive: stdin and maybe a pty, streamed (kubelet_tls.c) */
			const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tty");
			bool tty = t && (!strcmp(t, "true") || !strcmp(t, "1"));
			pid_t pid;
			int io, ofd;

			free(out);
			if (rt_exec_spawn(kl->rt, id, acc.v, tty, &pid, &io, &ofd, &e))
				return kubelet_reply(c, 500, "exec: cannot start the command\n");
			return kubelet_exec_upgrade(c, pid, io, ofd, tty);
		}
		ret = rt_exec(kl->rt, id, acc.v, 60000, &code, out, 65536, &e);
		if (ret && ret != -ETIMEDOUT) {
			free(out);
			j = json_pack("{s:s}", "error", e.msg);
			body = json_dumps(j, 0);
			mr = kubelet_reply(c, 500, body);
			free(body);
			json_decref(j);
			return mr;
		}
		j = json_pack("{s:i, s:s}", "exitCode", code, "output", out);
		free(out);
		body = json_dumps(j, 0);
		json_decref(j);
		if (!body)
			return kubelet_reply(c, 500, "exec: output is not valid UTF-8\n");
		mr = kubelet_reply(c, 200, body);
		free(body);
		return mr;
	}
}

/* ---- pod CIDR from the API (before IPAM/dataplane start) ---------------------- */

int kubelet_pod_cidr(struct agent *a, struct gerr *err)
{
	struct kubelet tmp = { .a = a };
	struct apiclient *c = NULL;
	char path[300];
	time_t last_log = 0;
	int ret;

	if (!a->cfg.kubeconfig[0] || a->cfg.pod_cidr)
		return 0;
	ret = kubeconfig_load(a->cfg.kubeconfig, NULL, &tmp.kc, err);
	if (!ret)
		ret = apiclient_new(&tmp.kc, &(struct apiclient_opts){ .timeout_ms = 10000 }, &c, err);
	if (ret)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", a->cfg.node_name);
	for (;;) {
		struct api_resp r = { 0 };
		struct gerr e = { 0 };
		const char *cidr;

		if (!node_register(&tmp, c, &e) && !apiclient_get(c, path, &r, &e) && api_ok(&r) &&
		    (cidr = jpath2(r.body, "spec", "podCIDR"))) {
			ret = agentcfg_parse_cidr(cidr, &a->cfg.pod_cidr, &a->cfg.pod_prefix);
			if (ret)
				gerr_set(err, ret, "Node %s: bad spec.podCIDR \"%s\"", a->cfg.node_name, cidr);
			else
				pr_info("pod CIDR %s from the API", cidr);
			api_resp_free(&r);
			break;
		}
		api_resp_free(&r);
		{
			/* main blocks these for sigwaitinfo: honour them here */
			sigset_t pend;

			sigpending(&pend);
			if (sigismember(&pend, SIGTERM) || sigismember(&pend, SIGINT)) {
				ret = gerr_set(err, -EINTR, "stopped while waiting for the pod CIDR");
				break;
			}
		}
		if (time(NULL) - last_log >= 10) {
			pr_info("waiting for Node %s to get a spec.podCIDR%s%s", a->cfg.node_name,
				e.msg[0] ? ": " : "", e.msg);
			last_log = time(NULL);
		}
		sleep_ms(500);
	}
out:
	apiclient_free(c);
	kubeconfig_free(&tmp.kc);
	return ret;
}

/* ---- component -------------------------------------------------------------- */

int kubelet_start(struct agent *a, struct gerr *err)
{
	struct kubelet *kl;
	struct rt_opts ro = { 0 };
	struct sysinfo si;
	pthread_attr_t at;
	char rtdir[300], exe[PATH_MAX];
	ssize_t n;
	int ret;

	if (!a->cfg.kubeconfig[0])
		return 0;
	kl = calloc(1, sizeof(*kl));
	if (!kl)
		return gerr_set(err, -ENOMEM, "out of memory");
	kl->a = a;
	pthread_mutex_init(&kl->lock, NULL);
	pthread_mutex_init(&kl->api_lock, NULL);
	ts_fmt(time(NULL), kl->start_ts, sizeof(kl->start_ts));
	kl->cpu_milli = (int64_t)get_nprocs() * 1000;
	kl->mem_bytes = !sysinfo(&si) ? (int64_t)si.totalram * si.mem_unit : 0;
	if (!a->cfg.cni_bin[0]) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		if (strrchr(exe, '/'))
			*strrchr(exe, '/') = 0;
		snprintf(a->cfg.cni_bin, sizeof(a->cfg.cni_bin), "%s/gannet-cni", exe);
	}
	ret = kubeconfig_load(a->cfg.kubeconfig, NULL, &kl->kc, err);
	if (ret)
		goto fail;
	ret = apiclient_new(&kl->kc, &(struct apiclient_opts){ .timeout_ms = 15000 }, &kl->api, err);
	if (ret)
		goto fail;
	snprintf(rtdir, sizeof(rtdir), "%s/runtime", a->cfg.state_dir);
	snprintf(kl->pod_root, sizeof(kl->pod_root), "%s/pods", a->cfg.state_dir);
	mkdir(kl->pod_root, 0700);
	ro.state_dir = rtdir;
	ro.cgroup_parent = a->cfg.cgroup_parent;
	ret = rt_open(&ro, &kl->rt, err);
	if (ret)
		goto fail;
	ret = kubelet_tls_start(a, kl->kc.ca.data, kl->kc.ca.len, err);
	if (ret)
		goto fail;
	a->kl = kl;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, KL_STACK);
	kl->lease_started = !pthread_create(&kl->lease_th, &at, lease_thread, kl);
	kl->podw_started = !pthread_create(&kl->podw_th, &at, pod_watch_thread, kl);
	kl->nodew_started = !pthread_create(&kl->nodew_th, &at, node_watch_thread, kl);
	pthread_attr_destroy(&at);
	pr_info("API mode: %s as node %s", kl->kc.server, a->cfg.node_name);
	return 0;
fail:
	if (kl->rt)
		rt_close(kl->rt);
	apiclient_free(kl->api);
	kubeconfig_free(&kl->kc);
	free(kl);
	return gerr_wrap(err, "kubeconfig %s", a->cfg.kubeconfig);
}

void kubelet_stop(struct agent *a)
{
	struct kubelet *kl = a->kl;

	if (!kl)
		return;
	/* Pods keep running: the next agent adopts them. */
	atomic_store(&kl->stop, true);
	pthread_mutex_lock(&kl->lock);
	for (struct kpod *p = kl->pods; p; p = p->next)
		pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&kl->lock);
	kubelet_tls_stop(a);
	if (kl->lease_started)
		pthread_join(kl->lease_th, NULL);
	if (kl->podw_started)
		pthread_join(kl->podw_th, NULL);
	if (kl->nodew_started)
		pthread_join(kl->nodew_th, NULL);
	pthread_mutex_lock(&kl->lock);
	for (struct kpod *p = kl->pods; p; p = p->next) {
		p->gone = true;          /* lets pods_reap free it ... */
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&kl->lock);
	for (struct kpod *p = kl->pods; p; p = p->next)
		pthread_join(p->th, NULL);
	while (kl->pods) {
		struct kpod *p = kl->pods;

		kl->pods = p->next;
		for (size_t i = 0; i < p->nc; i++)
			json_decref(p->c[i].last_term);
		json_decref(p->obj);
		json_decref(p->last_status);
		free(p);
	}
	a->kl = NULL;
	if (atomic_load(&kl->streams)) {
		/* a log follower may still use the runtime and kl: leave
		 * them to the process exit that follows */
		pr_debug("%d log streams still open at stop", atomic_load(&kl->streams));
		return;
	}
	rt_close(kl->rt);
	apiclient_free(kl->api);
	kubeconfig_free(&kl->kc);
	free(kl);
}
