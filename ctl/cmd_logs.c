/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl logs POD [-c CTR] [-f] [--tail N] [--timestamps]: GET
 * pods/NAME/log, which the API server proxies to the agent of the pod's
 * node. Without -f the answer comes through the API client; with -f it is
 * streamed to stdout as it arrives (ctl_stream: apiclient buffers whole
 * answers and only streams watches). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

void ctl_logs_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-f"))
			argv[i] = "--follow";
	}
}

static int out_cb(const char *d, size_t n, void *arg)
{
	(void)arg;
	fwrite(d, 1, n, stdout);
	fflush(stdout);
	return 0;
}

/* Streams path to stdout; returns a CTL_EXIT_* code. */
static int stream(struct ctl *c, const char *path)
{
	char err[512];
	long code = 0;

	if (ctl_stream(c, path, false, out_cb, NULL, &code, err, sizeof(err))) {
		fprintf(stderr, "error: %s (HTTP %ld)\n", err, code);
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

int cmd_logs(struct ctl *c, int argc, char **argv)
{
	char path[1024], esc[300];
	const char *pod;
	struct api_resp r = { 0 };
	int ret;

	if (argc != 1) {
		fprintf(stderr, "error: expected exactly one pod name\n");
		return CTL_EXIT_USAGE;
	}
	pod = argv[0];
	if (!strncmp(pod, "pod/", 4) || !strncmp(pod, "pods/", 5))
		pod = strchr(pod, '/') + 1;
	ret = ctl_connect(c);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/log?",
		 apiclient_escape(c->ns, esc, sizeof(esc)), pod);
	if (c->o.container) {
		strcat(path, "container=");
		strcat(path, apiclient_escape(c->o.container, esc, sizeof(esc)));
		strcat(path, "&");
	}
	if (c->o.tail) {
		strcat(path, "tailLines=");
		strcat(path, apiclient_escape(c->o.tail, esc, sizeof(esc)));
		strcat(path, "&");
	}
	if (c->o.timestamps)
		strcat(path, "timestamps=true&");
	if (c->o.follow) {
		strcat(path, "follow=true");
		return stream(c, path);
	}
	path[strlen(path) - 1] = 0;
	if (ctl_call(c, "GET", path, NULL, &r))
		return CTL_EXIT_ERR;
	if (r.raw)
		fwrite(r.raw, 1, r.raw_len, stdout);
	api_resp_free(&r);
	return CTL_EXIT_OK;
}
