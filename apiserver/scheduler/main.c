/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-scheduler: the scheduler as a standalone process (tests,
 * benchmarks, or running it apart from gannet-apiserver). It is a plain API
 * client: give it a kubeconfig whose user may read nodes and pods and bind
 * pods (the system:kube-scheduler role). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/scheduler/sched.h"
#include "common/kubeconfig.h"
#include "common/log.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: gannet-scheduler [--kubeconfig FILE] [--context NAME] [--binders N] [-v]\n"
		"Binds pending pods to nodes through the API server until SIGINT/SIGTERM.\n"
		"  --kubeconfig FILE  credentials (default: $KUBECONFIG, ~/.kube/config, "
		KUBECONFIG_SERVER_PATH ")\n"
		"  --context NAME     kubeconfig context\n"
		"  --binders N        concurrent bind requests (default 4)\n"
		"  -v, --verbose      more logging (repeat for debug)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "binders", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kcpath = NULL, *context = NULL;
	struct sched_opts so = { 0 };
	struct kubeconfig kc = { 0 };
	struct gerr e = { 0 };
	struct sigaction sa;
	char *paths;
	int c, ret;

	log_set_prefix("gannet-scheduler");
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kcpath = optarg; break;
		case 'c': context = optarg; break;
		case 'b': so.binders = atoi(optarg); break;
		case 'v': log_level++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	paths = kubeconfig_locate(kcpath, &e);
	if (!paths || kubeconfig_load(paths, context, &kc, &e)) {
		fprintf(stderr, "gannet-scheduler: %s\n", e.msg);
		free(paths);
		return 1;
	}
	free(paths);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ret = sched_run_opts(&kc, &so, &stop_flag);
	kubeconfig_free(&kc);
	if (ret) {
		fprintf(stderr, "gannet-scheduler: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
