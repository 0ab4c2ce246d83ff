/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-controller-manager: runs the controllers out of the API server
 * process (gannet-apiserver runs the same code as threads).
 *   gannet-controller-manager --kubeconfig F [--controllers a,b]
 *       [--node-grace 40s] [--eviction-timeout 10s]
 *       [--cluster-cidr 10.244.0.0/16] [--node-cidr-mask-size 24] [-v] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/controllers/controllers.h"
#include "common/duration.h"
#include "common/kubeconfig.h"
#include "common/log.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gannet-controller-manager [--kubeconfig FILE] [--controllers LIST]\n"
		   "         [--node-grace DUR] [--eviction-timeout DUR] [--cluster-cidr CIDR]\n"
		   "         [--node-cidr-mask-size N] [-v]\n"
		   "controllers: %s (default: all)\n"
		   "defaults: --node-grace 40s --eviction-timeout 10s --cluster-cidr 10.244.0.0/16\n"
		   "          --node-cidr-mask-size 24\n", controllers_names());
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "controllers", required_argument, NULL, 'c' },
		{ "node-grace", required_argument, NULL, 'g' },
		{ "eviction-timeout", required_argument, NULL, 'e' },
		{ "cluster-cidr", required_argument, NULL, 'C' },
		{ "node-cidr-mask-size", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ctrl_options o = { 0 };
	struct kubeconfig kc = { 0 };
	struct gerr e = { 0 };
	const char *kcpath = NULL;
	char *paths;
	int c, ret;

	log_set_prefix("gannet-controller-manager");
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kcpath = optarg; break;
		case 'c': o.controllers = optarg; break;
		case 'g':
		case 'e': {
			long ms = duration_parse_ms(optarg);

			if (ms <= 0) {
				fprintf(stderr, "bad duration %s\n", optarg);
				return 2;
			}
			if (c == 'g')
				o.node_grace_ms = ms;
			else
				o.eviction_timeout_ms = ms;
			break;
		}
		case 'C': o.cluster_cidr = optarg; break;
		case 'm': o.node_cidr_mask = atoi(optarg); break;
		case 'v': log_level++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	paths = kubeconfig_locate(kcpath, &e);
	if (!paths || kubeconfig_load(paths, NULL, &kc, &e)) {
		fprintf(stderr, "gannet-controller-manager: %s\n", e.msg);
		free(paths);
		return 1;
	}
	free(paths);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	pr_info("controllers against %s (node grace %ld ms, eviction %ld ms)", kc.server,
		o.node_grace_ms ? o.node_grace_ms : CTRL_DEFAULT_NODE_GRACE_MS,
		o.eviction_timeout_ms ? o.eviction_timeout_ms : CTRL_DEFAULT_EVICTION_MS);
	ret = controllers_run(&kc, &o, &stop_flag);
	kubeconfig_free(&kc);
	return ret ? 1 : 0;
}
