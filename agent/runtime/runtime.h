/* SPDX-License-Identifier: Apache-2.0 */
/* Container runtime library for the node agent: a local image store, OCI
 * bundles generated from Kubernetes-shaped container specs, the runc
 * lifecycle (create/start/state/kill/delete) with a per-container shim that
 * timestamps stdout/stderr into a log file and records the exit status,
 * exec, graceful stop, adoption after an agent restart, restart back-off,
 * liveness/readiness probes and pod volume helpers.
 *
 * Every path is below the caller's state directory (runc --root, container
 * bundles, logs) and cgroups live under a caller-chosen parent, so several
 * agents (nodes) can share one machine. All functions return 0 or -errno and
 * fill the struct gerr (may be NULL). */
#ifndef GANNET_AGENT_RUNTIME_H
#define GANNET_AGENT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/log.h"

struct json_t;

/* ---- image store ------------------------------------------------------ */

struct rt_images;

/* Configuration carried by an image (from an OCI image config, or built in
 * for busybox). Arrays are NULL-terminated; owned by the image store. */
struct rt_image_config {
	char **entrypoint;
	char **cmd;
	char **env;          /* "K=V" */
	char *working_dir;
	char *user;          /* "uid[:gid]" or a name in the image's passwd */
};

struct rt_image_info {
	char *ref;           /* normalized "name:tag" */
	char *rootfs;        /* absolute path of the unpacked root fs */
	struct rt_image_config cfg;
};

/* Opens (creating if needed) the store under dir/. The busybox:latest image
 * is created from /bin/busybox (or $GANNET_BUSYBOX) when missing. */
int rt_images_open(const char *dir, struct rt_images **out, struct gerr *e);
void rt_images_close(struct rt_images *s);
/* Normalizes a reference: "docker.io/library/busybox" -> "busybox:latest".
 * Digests ("@sha256:...") are kept as the tag part. */
int rt_image_normalize(const char *ref, char *out, size_t len, struct gerr *e);
/* Imports a rootfs tarball (optionally compressed: tar detects it). */
int rt_image_import_tar(struct rt_images *s, const char *ref, const char *tarball,
			struct gerr *e);
/* Imports an OCI image layout directory (index.json, blobs/sha256/...):
 * layers applied in order with whiteouts, config (Env, Cmd, ...) kept. ref
 * may be NULL to use the index's org.opencontainers.image.ref.name. */
int rt_image_import_oci(struct rt_images *s, const char *ref, const char *layout,
			struct gerr *e);
/* Resolves a reference; -ENOENT with a clear message when unknown. */
int rt_image_resolve(struct rt_images *s, const char *ref, struct rt_image_info *out,
		     struct gerr *e);
void rt_image_info_free(struct rt_image_info *i);
/* Lists normalized references (NULL-terminated, free with rt_strv_free). */
int rt_image_list(struct rt_images *s, char ***refs, struct gerr *e);
/* Removes the reference; its content is dropped by rt_image_gc. */
int rt_image_remove(struct rt_images *s, const char *ref, struct gerr *e);
/* Deletes image contents that no reference points at and no container
 * mount uses, and import leftovers, older than min_age seconds. Returns the
 * number of directories removed or -errno. rt_images_open runs it with an
 * hour. */
int rt_image_gc(struct rt_images *s, int min_age, struct gerr *e);

void rt_strv_free(char **v);
size_t rt_strv_len(char *const *v);

/* ---- container spec --------------------------------------------------- */

struct rt_kv {
	const char *name;
	const char *value;
};

struct rt_mount {
	const char *source;  /* host path (bind) */
	const char *dest;    /* path in the container */
	bool readonly;
};

/* Tri-state for optional booleans of the Kubernetes securityContext. */
enum rt_opt { RT_UNSET = 0, RT_FALSE, RT_TRUE };

struct rt_security {
	bool has_uid, has_gid;
	int64_t run_as_user, run_as_group;
	gid_t *supplemental_groups;
	size_t nsupplemental;
	enum rt_opt run_as_non_root;
	enum rt_opt read_only_root;
	enum rt_opt allow_privilege_escalation;
	enum rt_opt privileged;
	const char *const *cap_add;   /* NULL-terminated; "NET_ADMIN" or "CAP_NET_ADMIN" */
	const char *const *cap_drop;  /* "ALL" drops every capability */
};

struct rt_resources {
	int64_t cpu_limit_milli;    /* 0 = none */
	int64_t cpu_request_milli;  /* -> cpu shares */
	int64_t mem_limit_bytes;    /* 0 = none */
	int64_t mem_request_bytes;
	int64_t pids_limit;         /* 0 = none */
};

/* What the agent extracts from a Kubernetes container (plus pod context). */
struct rt_container_spec {
	const char *id;              /* runc id; NULL = generated */
	const char *name;            /* container name (informational) */
	const char *pod_uid, *pod_namespace, *pod_name;  /* informational */
	const char *image;
	const char *const *command;  /* NULL-terminated, NULL = image entrypoint */
	const char *const *args;     /* NULL-terminated, NULL = image cmd */
	const struct rt_kv *env;
	size_t nenv;
	const char *working_dir;
	const struct rt_mount *mounts;
	size_t nmounts;
	struct rt_resources res;
	struct rt_security sec;
	const char *netns_path;      /* existing pod netns (/run/netns/x); NULL = new */
	const char *hostname;        /* defaults to the pod name */
	const char *cgroup_parent;   /* overrides the runtime's (e.g. a pod cgroup) */
	const char *log_path;        /* NULL = <container dir>/container.log */
	bool stdin_open;             /* keep stdin open (never EOF) */
	bool tty;                    /* process.terminal; output logged as stdout */
};

/* Inputs of the pure OCI config generator besides the spec. */
struct rt_oci_params {
	const char *rootfs;          /* bundle-relative or absolute */
	const char *cgroups_path;
	const struct rt_image_config *image;  /* may be NULL */
	const char *image_rootfs;    /* for resolving a user name; may be NULL */
};

/* Builds config.json (OCI runtime spec 1.0.2) from a spec. Pure except for
 * reading image_rootfs/etc/passwd when a user name must be resolved.
 * -EINVAL with a message for bad input (unknown capability, runAsNonRoot
 * with uid 0, no command, impossible resources). */
int rt_oci_config(const struct rt_container_spec *spec, const struct rt_oci_params *p,
		  struct json_t **out, struct gerr *e);

/* Kubernetes quantities: "128Mi", "1G", "500m", "2" -> bytes / millicores. */
int rt_parse_memory(const char *q, int64_t *bytes);
int rt_parse_cpu(const char *q, int64_t *milli);
/* Capability name -> number (accepts with or without the CAP_ prefix). */
int rt_cap_number(const char *name);

/* kubelet's crash-loop back-off: 10s doubling to a 300s cap; the count is
 * reset once a container ran for 10 minutes. */
#define RT_BACKOFF_RESET_SEC 600
unsigned rt_backoff_delay(unsigned restarts);
struct rt_backoff {
	unsigned restarts;       /* restarts so far */
	time_t last_finish;      /* when the last run ended */
};
/* Called when a container finished after running for ran_sec: returns the
 * delay before the next start and updates the state. */
unsigned rt_backoff_next(struct rt_backoff *b, time_t now, long ran_sec);

/* restartPolicy: whether a container that exited with exit_code is
 * restarted (Always, OnFailure: exit_code != 0, Never). */
enum rt_restart_policy { RT_RESTART_ALWAYS = 0, RT_RESTART_ON_FAILURE, RT_RESTART_NEVER };
int rt_restart_policy_parse(const char *s, enum rt_restart_policy *out);
bool rt_should_restart(enum rt_restart_policy p, int exit_code);

/* ---- runtime handle and lifecycle ------------------------------------ */

struct rt_opts {
	const char *state_dir;       /* required: all per-node state lives here */
	const char *cgroup_parent;   /* default "gannet/<basename(state_dir)>" */
	const char *runc;            /* default "runc" in PATH */
	const char *shim;            /* default $GANNET_SHIM or gannet-shim next to
				      * the executable; else an in-process fork */
	struct rt_images *images;    /* NULL = open <state_dir>/images */
	long long log_max_bytes;     /* rotate logs to <log>.1 at this size:
				      * 0 = 10 MiB (kubelet), < 0 = never */
};

struct rt;

int rt_open(const struct rt_opts *o, struct rt **out, struct gerr *e);
void rt_close(struct rt *r);
struct rt_images *rt_images_of(struct rt *r);
const char *rt_state_dir(struct rt *r);

enum rt_state { RT_CREATED = 0, RT_RUNNING, RT_EXITED, RT_UNKNOWN };

struct rt_status {
	char id[72];
	enum rt_state state;
	int exit_code;             /* valid when EXITED; 128+sig when signalled */
	int signal;                /* terminating signal or 0 */
	bool oom_killed;
	pid_t pid;                 /* container init pid (0 if none) */
	struct timespec created, started, finished;
	char reason[64];           /* Completed, Error, OOMKilled, ... */
	char name[128];            /* spec name */
	char image[256];           /* normalized image reference */
	char pod_uid[64], pod_namespace[128], pod_name[256];  /* for adoption */
	char log_path[4096];
};

/* Creates the bundle (overlay rootfs, config.json), starts the shim and
 * `runc create`. On error nothing is left behind. id_out gets the id. */
int rt_create(struct rt *r, const struct rt_container_spec *spec, char *id_out,
	      size_t id_len, struct gerr *e);
/* `runc start`: the user process runs. */
int rt_start(struct rt *r, const char *id, struct gerr *e);
/* create + start; on start failure the container is removed. */
int rt_run(struct rt *r, const struct rt_container_spec *spec, char *id_out,
	   size_t id_len, struct gerr *e);
int rt_status(struct rt *r, const char *id, struct rt_status *st, struct gerr *e);
/* Waits until the container exited or timeout_ms passed (-ETIMEDOUT). */
int rt_wait(struct rt *r, const char *id, int timeout_ms, struct rt_status *st,
	    struct gerr *e);
int rt_kill(struct rt *r, const char *id, int sig, struct gerr *e);
/* SIGTERM, wait grace_sec, then SIGKILL; returns once the container exited. */
int rt_stop(struct rt *r, const char *id, int grace_sec, struct gerr *e);
/* Deletes the runc container (forcibly), unmounts and removes the bundle.
 * The log file is removed too unless it lives outside the container dir. */
int rt_remove(struct rt *r, const char *id, struct gerr *e);
/* Resource usage of a running container (runc events --stats), for the
 * agent's metrics / kubectl top. */
struct rt_stats {
	uint64_t cpu_usage_ns;       /* cumulative CPU time */
	uint64_t memory_usage_bytes; /* current usage (cgroup, incl. page cache) */
	uint64_t memory_limit_bytes; /* effective limit */
	uint64_t pids;               /* current number of tasks */
};
int rt_stats(struct rt *r, const char *id, struct rt_stats *out, struct gerr *e);
/* Ids of all containers under this state dir (adoption after a restart);
 * NULL-terminated, free with rt_strv_free. */
int rt_list(struct rt *r, char ***ids, struct gerr *e);

/* ---- exec and logs ---------------------------------------------------- */

/* Runs argv in the container (runc exec, inheriting the container's user,
 * env and capabilities), capturing stdout+stderr (truncated to outlen-1,
 * NUL-terminated). exit_code gets the status (128+sig if killed; -1 on
 * timeout, which also returns -ETIMEDOUT). timeout_ms <= 0: no timeout. */
int rt_exec(struct rt *r, const char *id, const char *const *argv, int timeout_ms,
	    int *exit_code, char *out, size_t outlen, struct gerr *e);
/* Starts argv in the container with its stdio connected to the returned
 * fds (a pty master in *io_fd when tty, else pipes: *io_fd = stdin writer,
 * *out_fd = stdout+stderr reader). Caller waits for *pid. */
int rt_exec_spawn(struct rt *r, const char *id, const char *const *argv, bool tty,
		  pid_t *pid, int *io_fd, int *out_fd, struct gerr *e);

struct rt_log_opts {
	bool timestamps;       /* keep the RFC 3339 timestamp prefix */
	bool follow;           /* keep reading until the container exited */
	long tail;             /* last N lines; < 0 = all */
	time_t since;          /* only lines at or after (0 = all) */
	int stream;            /* 0 both, 1 stdout, 2 stderr */
};
/* Writes the container's log (CRI format on disk: "<ts> stdout|stderr F|P
 * <text>") as plain text to fd; a rotated <log>.1 comes first. */
int rt_logs(struct rt *r, const char *id, const struct rt_log_opts *o, int fd,
	    struct gerr *e);
/* Parses one CRI log line in place; returns 0 or -EINVAL. */
int rt_log_parse_line(char *line, char **ts, char **stream, bool *partial, char **text);

/* ---- probes ----------------------------------------------------------- */

enum rt_probe_kind { RT_PROBE_EXEC = 1, RT_PROBE_HTTP, RT_PROBE_TCP };

struct rt_probe {
	enum rt_probe_kind kind;
	const char *const *command;   /* exec */
	const char *host;             /* http/tcp: IP (pod IP), default 127.0.0.1 */
	int port;
	const char *path;             /* http, default "/" */
	const char *scheme;           /* "HTTP" (default) or "HTTPS" */
	const struct rt_kv *headers;  /* http */
	size_t nheaders;
	int timeout_sec;              /* default 1 */
};

/* Runs one probe; returns 0 and sets *ok plus a message for both outcomes,
 * or -errno when the probe could not run at all. netns: the namespace to
 * connect from (http/tcp), NULL = the caller's. id: container for exec. */
int rt_probe_run(struct rt *r, const char *id, const char *netns, const struct rt_probe *p,
		 bool *ok, char *msg, size_t msglen, struct gerr *e);

/* Thresholds as the kubelet applies them: the result flips to success
 * after success_threshold consecutive successes and to failure after
 * failure_threshold consecutive failures. Start liveness at RT_PROBE_OK
 * (assumed alive) and readiness at RT_PROBE_FAILED (not ready yet). */
enum rt_probe_result { RT_PROBE_FAILED = 0, RT_PROBE_OK };
struct rt_probe_tracker {
	enum rt_probe_result result;
	int successes, failures;   /* consecutive */
};
/* Records one outcome; returns true when the result changed. Thresholds
 * below 1 count as 1. */
bool rt_probe_record(struct rt_probe_tracker *t, bool ok, int success_threshold,
		     int failure_threshold);

/* ---- volumes ---------------------------------------------------------- */

/* emptyDir: <pod_dir>/volumes/empty-dir/<name>; medium_memory mounts a tmpfs
 * (size_limit bytes, 0 = default). path gets the host path. */
int rt_vol_empty_dir(const char *pod_dir, const char *name, bool medium_memory,
		     int64_t size_limit, char *path, size_t len, struct gerr *e);
/* ConfigMap / Secret: writes key -> value files atomically into
 * <pod_dir>/volumes/<kind>/<name> (mode e.g. 0644 / 0400; values may be
 * binary: vlens gives lengths, NULL = strlen). Files no longer listed are
 * removed. Mount the result read-only. */
int rt_vol_files(const char *pod_dir, const char *kind, const char *name,
		 const struct rt_kv *items, const size_t *vlens, size_t n, mode_t mode,
		 char *path, size_t len, struct gerr *e);
/* hostPath: checks/creates per type ("", "Directory", "DirectoryOrCreate",
 * "File", "FileOrCreate", "Socket") and returns the bind source. */
int rt_vol_host_path(const char *host_path, const char *type, char *path, size_t len,
		     struct gerr *e);
/* The pod's /etc/hosts, /etc/resolv.conf and /etc/hostname, written into
 * <pod_dir>/etc/ (shared by the pod's containers; bind them in). pod_ip
 * may be NULL; nameservers/searches are NULL-terminated (may be NULL);
 * ndots <= 0 leaves the resolver default. */
int rt_vol_pod_etc(const char *pod_dir, const char *hostname, const char *pod_ip,
		   const char *const *nameservers, const char *const *searches, int ndots,
		   struct gerr *e);
/* Unmounts tmpfs volumes and removes <pod_dir>/volumes and <pod_dir>/etc. */
int rt_vol_cleanup(const char *pod_dir, struct gerr *e);

#endif
