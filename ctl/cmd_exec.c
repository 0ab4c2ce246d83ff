/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl exec POD [-c CTR] -- CMD [ARG...]: POST pods/NAME/exec with one
 * command= per argument; the API server proxies it to the agent of the
 * pod's node, which runs it with `runc exec` and answers {exitCode,
 * output}. The output is printed and gannetctl exits with the command's
 * code, as kubectl exec does. Interactive -i/-t (an upgraded stream) is not
 * supported yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

int cmd_exec(struct ctl *c, int argc, char **argv)
{
	char *path = NULL, esc[1024];
	const char *pod;
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	size_t len;
	int ret, code;

	if (argc < 2) {
		fprintf(stderr, "error: expected POD -- COMMAND [ARG...]\n");
		return CTL_EXIT_USAGE;
	}
	if (c->o.tty || c->o.stdin_open)
		fprintf(stderr, "warning: -i/-t are not supported yet; running without a terminal\n");
	pod = argv[0];
	if (!strncmp(pod, "pod/", 4) || !strncmp(pod, "pods/", 5))
		pod = strchr(pod, '/') + 1;
	ret = ctl_connect(c);
	if (ret)
		return ret;
	len = 1024;
	for (int i = 1; i < argc; i++)
		len += strlen(argv[i]) * 3 + 16;
	path = malloc(len);
	if (!path)
		return CTL_EXIT_ERR;
	snprintf(path, len, "/api/v1/namespaces/%s/pods/%s/exec?", c->ns, pod);
	if (c->o.container) {
		strcat(path, "container=");
		strcat(path, apiclient_escape(c->o.container, esc, sizeof(esc)));
	}
	for (int i = 1; i < argc; i++) {
		if (strlen(argv[i]) * 3 >= sizeof(esc)) {
			fprintf(stderr, "error: argument %d is too long\n", i);
			free(path);
			return CTL_EXIT_USAGE;
		}
		strcat(path, path[strlen(path) - 1] == '?' ? "command=" : "&command=");
		strcat(path, apiclient_escape(argv[i], esc, sizeof(esc)));
	}
	ret = apiclient_post(c->api, path, NULL, &r, &err);
	free(path);
	if (ret) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	if (!api_ok(&r)) {
		ctl_print_api_error(&r, NULL);
		api_resp_free(&r);
		return CTL_EXIT_ERR;
	}
	if (json_string_value(json_object_get(r.body, "output")))
		fputs(json_string_value(json_object_get(r.body, "output")), stdout);
	code = (int)json_integer_value(json_object_get(r.body, "exitCode"));
	api_resp_free(&r);
	fflush(stdout);
	if (code < 0 || code > 255)
		code = 1;
	return code;
}
