/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's CNI socket: a unix stream socket, one request per connection
 * (protocol in proto.h / docs/cni.md), one short-lived thread per
 * connection so a slow ADD never blocks STATUS. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/agent.h"

struct cnisrv {
	int fd;
	pthread_t thread;
	atomic_bool stopping;
};

struct conn {
	struct agent *a;
	int fd;
};

static void reply(int fd, json_t *result, const struct cni_err *e)
{
	json_t *o;
	char *s;

	if (e && e->code)
		o = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", e->code, "msg", e->msg,
			      "details", e->details);
	else if (result)
		o = json_pack("{s:O}", "result", result);
	else
		o = json_pack("{s:{}}", "result");
	s = json_dumps(o, JSON_COMPACT);
	if (s && proto_send(fd, s, strlen(s), -1))
		pr_warn("CNI reply: %s", strerror(errno));
	free(s);
	json_decref(o);
}

static void *conn_thread(void *p)
{
	struct conn *c = p;
	struct agent *a = c->a;
	struct cni_err e = { 0 };
	json_t *req = NULL, *result = NULL;
	json_error_t jerr;
	const char *cmd;
	char *txt;
	int nsfd = -1, rerr = 0, ret = -1, idx = -1;

	txt = proto_recv(c->fd, &nsfd, &rerr);
	if (!txt) {
		pr_warn("CNI request: %s", strerror(-rerr));
		goto out;
	}
	req = json_loads(txt, 0, &jerr);
	cmd = json_string_value(json_object_get(req, "command"));
	pr_debug("CNI %s %s/%s", cmd ? cmd : "?",
		 json_string_value(json_object_get(req, "containerID")) ?: "-",
		 json_string_value(json_object_get(req, "ifName")) ?: "-");
	if (!req || !cmd) {
		cni_set_err(&e, CNI_ERR_DECODE, req ? NULL : jerr.text, "bad request");
	} else if (!atomic_load(&a->ready)) {
		cni_set_err(&e, !strcmp(cmd, "STATUS") ? CNI_ERR_NOT_AVAILABLE : CNI_ERR_TRY_AGAIN,
			    NULL, "gannet-agent is starting, try again later");
	} else if (!strcmp(cmd, "ADD")) {
		idx = CNI_CMD_ADD;
		ret = pods_add(a, req, nsfd, &result, &e);
	} else if (!strcmp(cmd, "DEL")) {
		idx = CNI_CMD_DEL;
		ret = pods_del(a, req, nsfd, &e);
	} else if (!strcmp(cmd, "CHECK")) {
		idx = CNI_CMD_CHECK;
		ret = pods_check(a, req, nsfd, &e);
	} else if (!strcmp(cmd, "GC")) {
		idx = CNI_CMD_GC;
		ret = pods_gc(a, req, &e);
	} else if (!strcmp(cmd, "STATUS")) {
		idx = CNI_CMD_STATUS;
		ret = pods_status(a, &e);
	} else {
		cni_set_err(&e, CNI_ERR_INVALID_ENV, cmd, "unknown command");
	}
	if (idx >= 0) {
		if (ret)
			atomic_fetch_add(&a->cni_fail[idx], 1);
		else
			atomic_fetch_add(&a->cni_ok[idx], 1);
	}
	if (ret && !e.code)
		cni_set_err(&e, GANNET_ERR_INTERNAL, NULL, "internal error");
	reply(c->fd, result, ret ? &e : NULL);
out:
	json_decref(result);
	json_decref(req);
	free(txt);
	if (nsfd >= 0)
		close(nsfd);
	close(c->fd);
	free(c);
	return NULL;
}

static void *accept_thread(void *p)
{
	struct agent *a = p;
	struct cnisrv *s = a->srv;

	while (!atomic_load(&s->stopping)) {
		struct timeval tv = { .tv_sec = 300 };
		struct conn *c;
		pthread_attr_t attr;
		pthread_t t;
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (!atomic_load(&s->stopping))
				pr_err("CNI socket accept: %s", strerror(errno));
			break;
		}
		/* bound a stuck client; a real ADD takes milliseconds */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->a = a;
		c->fd = fd;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_thread, c)) {
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static int mkdir_parents(const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

int cnisrv_start(struct agent *a, struct gerr *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cnisrv *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return gerr_set(err, -ENOMEM, "out of memory");
	s->fd = -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->cfg.socket_path);
	ret = mkdir_parents(a->cfg.socket_path);
	if (ret) {
		gerr_set(err, ret, "socket directory for %s: %s", a->cfg.socket_path,
			 strerror(-ret));
		goto fail;
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		ret = gerr_set(err, -errno, "socket: %s", strerror(errno));
		goto fail;
	}
	/* A SIGKILLed agent leaves its socket file; nobody listens on it. */
	unlink(a->cfg.socket_path);
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = gerr_set(err, -errno, "bind %s: %s", a->cfg.socket_path, strerror(errno));
		goto fail;
	}
	chmod(a->cfg.socket_path, 0600);
	if (listen(s->fd, 128) < 0) {
		ret = gerr_set(err, -errno, "listen: %s", strerror(errno));
		goto fail;
	}
	a->srv = s;
	ret = pthread_create(&s->thread, NULL, accept_thread, a);
	if (ret) {
		a->srv = NULL;
		ret = gerr_set(err, -ret, "pthread_create: %s", strerror(ret));
		goto fail;
	}
	pr_info("serving CNI on %s", a->cfg.socket_path);
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return ret;
}

void cnisrv_stop(struct agent *a)
{
	struct cnisrv *s = a->srv;

	if (!s)
		return;
	atomic_store(&s->stopping, true);
	/* shutdown() wakes the blocked accept() */
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(a->cfg.socket_path);
	/* in-flight requests hold pods_lock; wait for them to finish */
	pthread_mutex_lock(&a->pods_lock);
	pthread_mutex_unlock(&a->pods_lock);
	free(s);
	a->srv = NULL;
}
