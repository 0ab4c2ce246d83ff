/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver for the security module, used by tests/suites/15-unit-auth.sh
 * to check its output with independent tools (openssl s_server, curl,
 * kubectl). Not an operator CLI: the server's own subcommands own that. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "apiserver/auth.h"
#include "common/fileutil.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: auth_tool bootstrap DIR URL [SAN...]\n"
		"       auth_tool node DIR URL NODE OUT\n"
		"       auth_tool client DIR CN ORGS CRT KEY\n"
		"       auth_tool sa-token DIR NS NAME\n"
		"       auth_tool whoami DIR [--cert PEM] [--token TOKEN] [--token-file F]\n"
		"       auth_tool seal KEYFILE < plain > sealed\n"
		"       auth_tool open KEYFILE < sealed > plain\n"
		"       auth_tool bootstrap-rbac   (prints the default objects)\n");
	return 2;
}

static int cmd_whoami(int argc, char **argv)
{
	const char *cert = NULL, *token = NULL, *tf = NULL;
	unsigned char *der = NULL;
	struct authn *a = NULL;
	struct auth_user u;
	struct gerr e = { 0 };
	int len = 0, ret;

	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--token"))
			token = argv[i + 1];
		else if (!strcmp(argv[i], "--token-file"))
			tf = argv[i + 1];
		else
			return usage();
	}
	if (cert) {
		FILE *f = fopen(cert, "re");
		X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

		if (f)
			fclose(f);
		if (!x) {
			fprintf(stderr, "cannot read %s\n", cert);
			return 1;
		}
		len = i2d_X509(x, &der);
		X509_free(x);
	}
	if ((ret = authn_open(argv[2], tf, &a, &e))) {
		fprintf(stderr, "authn_open: %s\n", e.msg);
		return 1;
	}
	ret = authn_authenticate(a, der, len > 0 ? (size_t)len : 0, token, &u);
	if (ret) {
		printf("unauthenticated\n");
	} else {
		printf("user=%s uid=%s groups=", u.name, u.uid);
		for (int i = 0; i < u.n_groups; i++)
			printf("%s%s", i ? "," : "", u.groups[i]);
		printf("\n");
	}
	OPENSSL_free(der);
	authn_close(a);
	return ret ? 3 : 0;
}

static int cmd_box(const char *keyfile, bool seal)
{
	struct secretbox *sb = NULL;
	struct gerr e = { 0 };
	char *in, *out = NULL;
	size_t len, olen = 0;
	int ret;

	if (secretbox_open(keyfile, &sb, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (fu_read_file("/dev/stdin", &in, &len))
		return 1;
	ret = seal ? secretbox_seal(sb, in, len, &out, &olen, &e)
		   : secretbox_open_msg(sb, in, len, &out, &olen, &e);
	if (ret)
		fprintf(stderr, "%s\n", e.msg);
	else
		fwrite(out, 1, olen, stdout);
	free(in);
	free(out);
	secretbox_close(sb);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct gerr e = { 0 };
	int ret;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "bootstrap") && argc >= 4) {
		ret = pki_bootstrap(argv[2], argv[3], (const char *const *)argv + 4,
				    (size_t)(argc - 4), &e);
	} else if (!strcmp(argv[1], "node") && argc == 6) {
		ret = pki_node_kubeconfig(argv[2], argv[3], argv[4], argv[5], &e);
	} else if (!strcmp(argv[1], "client") && argc == 7) {
		ret = pki_issue_client(argv[2], argv[3], argv[4], argv[5], argv[6], &e);
	} else if (!strcmp(argv[1], "sa-token") && argc == 5) {
		struct authn *a = NULL;
		char *t;

		if ((ret = authn_open(argv[2], NULL, &a, &e)) == 0) {
			t = authn_sa_token(a, argv[3], argv[4]);
			if (t)
				printf("%s\n", t);
			else
				ret = gerr_set(&e, -EINVAL, "cannot mint token");
			free(t);
			authn_close(a);
		}
	} else if (!strcmp(argv[1], "whoami") && argc >= 3) {
		return cmd_whoami(argc, argv);
	} else if ((!strcmp(argv[1], "seal") || !strcmp(argv[1], "open")) && argc == 3) {
		return cmd_box(argv[2], !strcmp(argv[1], "seal"));
	} else if (!strcmp(argv[1], "bootstrap-rbac")) {
		json_t *o = rbac_bootstrap_objects();

		if (!o)
			return 1;
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
		return 0;
	} else {
		return usage();
	}
	if (ret) {
		fprintf(stderr, "auth_tool %s: %s\n", argv[1], e.msg);
		return 1;
	}
	return 0;
}
