/* SPDX-License-Identifier: Apache-2.0 */
/* Manages one nginx instance in a private prefix directory: validate a new
 * configuration with `nginx -t` before it replaces the live one, start,
 * graceful reload (SIGHUP, then wait for workers of the new generation),
 * stop. Never touches /etc/nginx or the system pid file: everything lives
 * under the prefix (nginx.conf, nginx.pid, logs/, tmp/, certs/). A config
 * that fails validation is not installed; the running one keeps serving. */
#ifndef GANNET_INGRESS_NGINX_H
#define GANNET_INGRESS_NGINX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/log.h"

struct ngxm {
	char prefix[1024];    /* absolute, with trailing '/' */
	char conf[1100];      /* prefix + "nginx.conf" */
	char cert_dir[1100];  /* prefix + "certs" (for ing_render_opts) */
	char bin[256];        /* nginx executable */
	int timeout_ms;       /* for start/reload/stop checks */
};

/* Creates prefix (0711) and its logs/ (0700), tmp/ (0711), certs/ (0700). bin NULL
 * → "nginx" from PATH. */
int ngxm_init(struct ngxm *m, const char *prefix, const char *bin, struct gerr *err);

/* Runs `nginx -t` on text written to a temp file under the prefix. On
 * failure err holds nginx's message. The temp file is removed. */
int ngxm_validate(struct ngxm *m, const char *text, size_t len, struct gerr *err);

/* The master's pid if an nginx of this prefix runs, else 0. */
pid_t ngxm_pid(struct ngxm *m);

/* Validates text, installs it atomically as prefix/nginx.conf (only if it
 * differs) and starts nginx or reloads it gracefully. *changed (optional)
 * tells whether a start/reload happened. On a validation failure the live
 * file and process are untouched and -EINVAL is returned. */
int ngxm_apply(struct ngxm *m, const char *text, size_t len, bool *changed,
	       struct gerr *err);

int ngxm_start(struct ngxm *m, struct gerr *err);
/* SIGHUP, then waits until the worker set is entirely new (the old
 * generation keeps finishing its in-flight requests in the background). */
int ngxm_reload(struct ngxm *m, struct gerr *err);
/* SIGQUIT (graceful) and waits; SIGTERM after the timeout. */
int ngxm_stop(struct ngxm *m, struct gerr *err);

#endif
