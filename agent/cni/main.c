/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-cni: the CNI plugin binary. Validates the environment and network
 * configuration, answers VERSION itself, and forwards ADD/DEL/CHECK/GC/STATUS
 * to the node agent over its unix socket (the pod netns travels as an fd).
 * Prints the spec's result or error JSON on stdout; exit 0 on success. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/cni/cni.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define AGENT_TIMEOUT_S 120

static const char *env_get(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static char *read_stdin(void)
{
	size_t len = 0, cap = 0, n;
	char *buf = NULL;

	do {
		if (cap - len < 4096) {
			char *nb;

			if (cap >= PROTO_MAX_MSG) {
				free(buf);
				return NULL;
			}
			nb = realloc(buf, cap + 16384);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap += 16384;
		}
		n = fread(buf + len, 1, cap - len - 1, stdin);
		len += n;
	} while (n > 0);
	if (ferror(stdin)) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

static int fail(const struct cni_err *e, const char *version)
{
	char *s = cni_err_json(e, version);

	if (s) {
		puts(s);
		free(s);
	}
	fflush(stdout);
	return 1;
}

/* Opens the pod netns. ADD/CHECK need it; for DEL a missing netns is fine
 * (the spec wants DEL to succeed and still release the address). */
static int open_netns(const char *path, struct cni_err *e)
{
	struct statfs st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		cni_set_err(e, CNI_ERR_UNKNOWN_CONTAINER, path,
			    "cannot open network namespace: %s", strerror(errno));
		return -1;
	}
	if (fstatfs(fd, &st) < 0 || st.f_type != NSFS_MAGIC ||
	    ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		cni_set_err(e, CNI_ERR_UNKNOWN_CONTAINER, path, "not a network namespace");
		return -1;
	}
	return fd;
}

static int agent_connect(const char *path, struct cni_err *e, int unavailable_code)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = AGENT_TIMEOUT_S };
	int s;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		cni_set_err(e, unavailable_code, strerror(errno), "socket");
		return -1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		cni_set_err(e, unavailable_code, path, "gannet-agent is not reachable (%s)%s",
			    strerror(errno), unavailable_code == CNI_ERR_TRY_AGAIN ?
			    ", try again later" : "");
		close(s);
		return -1;
	}
	return s;
}

int main(void)
{
	struct cni_err e = { 0 };
	struct cni_env env;
	struct cni_netconf nc = { 0 };
	json_t *req = NULL, *resp = NULL, *v;
	char *in = NULL, *reqtxt = NULL, *resptxt = NULL;
	int sock = -1, nsfd = -1, rerr = 0, rc = 1, unavailable;
	json_error_t jerr;

	if (cni_env_parse(&env, env_get, NULL, &e))
		return fail(&e, NULL);
	in = read_stdin();
	if (!in) {
		cni_set_err(&e, CNI_ERR_IO, NULL, "cannot read network config from stdin");
		return fail(&e, NULL);
	}
	if (env.cmd == CNI_CMD_VERSION) {
		/* VERSION must work with any config, even an empty one */
		json_t *o = json_loads(in, 0, &jerr);
		const char *ver = json_string_value(json_object_get(o, "cniVersion"));
		char *s = cni_version_json(ver);

		puts(s);
		free(s);
		json_decref(o);
		free(in);
		return 0;
	}
	if (cni_netconf_parse(in, env.cmd, &nc, &e)) {
		rc = fail(&e, nc.cni_version);
		goto out;
	}
	if (env.cmd == CNI_CMD_ADD || env.cmd == CNI_CMD_CHECK) {
		nsfd = open_netns(env.netns, &e);
		if (nsfd < 0) {
			rc = fail(&e, nc.cni_version);
			goto out;
		}
	} else if (env.cmd == CNI_CMD_DEL && env.netns) {
		struct cni_err ignore = { 0 };

		nsfd = open_netns(env.netns, &ignore);
	}

	unavailable = env.cmd == CNI_CMD_STATUS ? CNI_ERR_NOT_AVAILABLE : CNI_ERR_TRY_AGAIN;
	sock = agent_connect(nc.agent_socket, &e, unavailable);
	if (sock < 0) {
		rc = fail(&e, nc.cni_version);
		goto out;
	}
	req = cni_request(&env, &nc);
	reqtxt = json_dumps(req, JSON_COMPACT);
	if (!reqtxt || proto_send(sock, reqtxt, strlen(reqtxt), nsfd) ||
	    shutdown(sock, SHUT_WR) < 0) {
		cni_set_err(&e, unavailable, strerror(errno),
			    "sending the request to gannet-agent failed, try again later");
		rc = fail(&e, nc.cni_version);
		goto out;
	}
	{
		int dummy;

		resptxt = proto_recv(sock, &dummy, &rerr);
		if (dummy >= 0)
			close(dummy);
	}
	resp = resptxt && *resptxt ? json_loads(resptxt, 0, &jerr) : NULL;
	if (!resp) {
		/* the agent died mid-request: ADD was rolled back or will be
		 * reconciled, so the runtime should simply retry */
		cni_set_err(&e, unavailable, resptxt ? jerr.text : strerror(-rerr),
			    "no valid answer from gannet-agent, try again later");
		rc = fail(&e, nc.cni_version);
		goto out;
	}
	v = json_object_get(resp, "error");
	if (v) {
		cni_set_err(&e, (int)json_integer_value(json_object_get(v, "code")),
			    json_string_value(json_object_get(v, "details")), "%s",
			    json_string_value(json_object_get(v, "msg")) ?: "agent error");
		if (!e.code)
			e.code = GANNET_ERR_INTERNAL;
		rc = fail(&e, nc.cni_version);
		goto out;
	}
	v = json_object_get(resp, "result");
	if (env.cmd == CNI_CMD_ADD) {
		char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (!s) {
			cni_set_err(&e, GANNET_ERR_INTERNAL, NULL, "agent sent no result");
			rc = fail(&e, nc.cni_version);
			goto out;
		}
		puts(s);
		free(s);
	}
	rc = 0;
out:
	fflush(stdout);
	if (sock >= 0)
		close(sock);
	if (nsfd >= 0)
		close(nsfd);
	json_decref(req);
	json_decref(resp);
	free(reqtxt);
	free(resptxt);
	free(in);
	cni_netconf_free(&nc);
	return rc;
}
