/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's authenticated endpoint for logs and exec (the kubelet port,
 * 10250 by default): HTTPS with a self-signed serving certificate kept in
 * <stateDir>/kubelet.{crt,key} (as kubelet's default; the API server does
 * not verify it), and every request must carry a client certificate
 * signed by the cluster CA (the kubeconfig's CA) whose subject has
 * O=system:masters — the API server's proxy client certificate, or an
 * admin. Node credentials (O=system:nodes) are refused, so one node cannot
 * exec into another node's pods. The certificate is checked with OpenSSL
 * (chain, clientAuth purpose, not a CA), like the API server's authn. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/dpview.h"
#include "agent/kubelet.h"
#include "agent/policy.h"
#include "common/fileutil.h"

struct ktls {
	struct MHD_Daemon *d;
	char *cert, *key;       /* PEM */
	char *ca_pem;
	X509_STORE *ca;
};

/* A PEM file kept in the state dir, or NULL when missing, empty or past
 * 1 MiB (the caller then makes a new one). */
static char *read_pem(const char *path)
{
	char *buf = NULL;
	size_t n = 0;

	if (fu_read_file_max(path, 1 << 20, &buf, &n) || !n) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *bio_str(BIO *b)
{
	char *p, *out;
	long n = BIO_get_mem_data(b, &p);

	out = n > 0 ? strndup(p, (size_t)n) : NULL;
	return out;
}

/* Self-signed P-256 serving certificate (CN = node, SAN = node IP), made
 * once and kept, so a restarted agent serves the same one. */
static int serving_cert(const struct agentcfg *cfg, struct ktls *t, struct gerr *err)
{
	char crt[300], key[300], san[64], ip[INET_ADDRSTRLEN];
	struct in_addr ia = { cfg->node_ip };
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	BIO *bc = NULL, *bk = NULL;
	FILE *f;
	int ret = -EIO, fd;

	snprintf(crt, sizeof(crt), "%s/kubelet.crt", cfg->state_dir);
	snprintf(key, sizeof(key), "%s/kubelet.key", cfg->state_dir);
	t->cert = read_pem(crt);
	t->key = read_pem(key);
	if (t->cert && t->key)
		return 0;
	free(t->cert);
	free(t->key);
	t->cert = t->key = NULL;
	inet_ntop(AF_INET, &ia, ip, sizeof(ip));
	pk = EVP_EC_gen("P-256");
	x = X509_new();
	if (!pk || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cfg->node_name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "IP:%s", ip);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	bc = BIO_new(BIO_s_mem());
	bk = BIO_new(BIO_s_mem());
	if (!bc || !bk || !PEM_write_bio_X509(bc, x) ||
	    !PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL))
		goto out;
	t->cert = bio_str(bc);
	t->key = bio_str(bk);
	if (!t->cert || !t->key)
		goto out;
	/* 0600 by open(), not umask(): the umask is process-wide and would
	 * make the runtime's container directories unreadable to non-root
	 * container users */
	fd = open(key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && (f = fdopen(fd, "w"))) {
		fputs(t->key, f);
		fclose(f);
	} else if (fd >= 0) {
		close(fd);
	}
	if ((f = fopen(crt, "we"))) {
		fputs(t->cert, f);
		fclose(f);
	}
	ret = 0;
out:
	BIO_free(bc);
	BIO_free(bk);
	X509_free(x);
	EVP_PKEY_free(pk);
	if (ret)
		gerr_set(err, ret, "cannot create the kubelet serving certificate");
	return ret;
}

/* 0 = authorized; 401 no/invalid certificate; 403 not system:masters. */
static int check_client(struct ktls *t, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const gnutls_datum_t *peers;
	const unsigned char *p;
	X509_STORE_CTX *ctx = NULL;
	X509 *x = NULL;
	X509_NAME *subj;
	unsigned n = 0;
	int ret = 401, idx;

	if (!ci || !ci->tls_session)
		return 401;
	peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (!peers || !n)
		return 401;
	p = peers[0].data;
	x = d2i_X509(NULL, &p, (long)peers[0].size);
	ctx = X509_STORE_CTX_new();
	if (!x || !ctx || !X509_STORE_CTX_init(ctx, t->ca, x, NULL))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1 || X509_check_ca(x) != 0)
		goto out;
	ret = 403;
	subj = X509_get_subject_name(x);
	for (idx = -1; (idx = X509_NAME_get_index_by_NID(subj, NID_organizationName, idx)) >= 0;) {
		unsigned char *s = NULL;
		int len = ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));

		if (len == 14 && !memcmp(s, "system:masters", 14))
			ret = 0;
		OPENSSL_free(s);
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	return ret;
}

/* ---- interactive exec (Upgrade: gannet-exec) ---------------------------- */

/* Frames both ways: 1 byte type + 4 bytes big-endian length + payload.
 * Client to agent: 0 stdin (length 0 = stdin closed), 4 window size
 * (2+2 bytes: columns, rows). Agent to client: 1 stdout (the pty with a
 * tty, stdout+stderr merged without: runc gives one pipe), 3 exit status
 * {"exitCode":N} as the last frame. */
struct xpump {
	pid_t pid;
	int io, out, sock;
	int peer;               /* the client's TCP socket (read by MHD) */
	bool tty;
	char *extra;            /* bytes read with the request's headers */
	size_t nextra;
	struct MHD_UpgradeResponseHandle *urh;
};

static int send_frame(int sock, unsigned char type, const void *p, size_t n)
{
	unsigned char h[5] = { type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };

	return fu_write_all(sock, h, 5) ? -EPIPE : n ? fu_write_all(sock, p, n) : 0;
}

/* Consumes whole client frames from buf[0..*len); returns -1 once the
 * process' stdin should be closed. */
static int client_frames(struct xpump *x, char *buf, size_t *len)
{
	size_t off = 0;
	int ret = 0;

	while (*len - off >= 5) {
		unsigned char *h = (unsigned char *)buf + off;
		size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];

		if (n > 65536) {
			ret = -1;   /* not our framing: stop listening */
			off = *len;
			break;
		}
		if (*len - off < 5 + n)
			break;
		if (h[0] == 0 && n == 0)
			ret = -1;
		else if (h[0] == 0 && x->io >= 0 && fu_write_all(x->io, h + 5, n))
			ret = -1;
		else if (h[0] == 4 && n == 4 && x->tty) {
			struct winsize ws = { .ws_col = (unsigned short)(h[5] << 8 | h[6]),
					      .ws_row = (unsigned short)(h[7] << 8 | h[8]) };

			ioctl(x->io, TIOCSWINSZ, &ws);
		}
		off += 5 + n;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
	return ret;
}

static void *xpump_thread(void *arg)
{
	struct xpump *x = arg;
	char in[65536 + 5 + 4096], out[16384], st[64];
	size_t nin = 0;
	bool in_open = true, gone = false;
	int rd = x->tty ? x->io : x->out, status = 0, code;

	fcntl(x->sock, F_SETFL, fcntl(x->sock, F_GETFL) & ~O_NONBLOCK);
	if (x->nextra && x->nextra <= sizeof(in)) {
		memcpy(in, x->extra, x->nextra);
		nin = x->nextra;
		if (client_frames(x, in, &nin) < 0)
			in_open = false;
	}
	if (!in_open && !x->tty) {
		close(x->io);
		x->io = -1;
	}
	for (;;) {
		/* MHD does not pass the client's close on to the upgraded
		 * socket: watch the TCP socket itself for the peer's FIN */
		struct pollfd p[3] = { { .fd = rd, .events = POLLIN },
				       { .fd = in_open ? x->sock : -1, .events = POLLIN },
				       { .fd = x->peer, .events = POLLRDHUP } };

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents) {
			gone = true;
			break;
		}
		if (p[1].revents) {
			ssize_t n = read(x->sock, in + nin, sizeof(in) - nin);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				gone = true;   /* the client left without closing stdin */
				break;
			}
			nin += (size_t)n;
			if (client_frames(x, in, &nin) < 0) {
				in_open = false;
				if (x->tty) {
					/* EOF at a terminal is ^D (at the start of a line) */
					if (x->io >= 0 && fu_write_all(x->io, "\x04", 1))
						break;
				} else if (x->io >= 0) {
					close(x->io);
					x->io = -1;
				}
			}
		}
		if (p[0].revents) {
			ssize_t n = read(rd, out, sizeof(out));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;   /* EOF, or EIO on the pty master once the process left */
			if (send_frame(x->sock, 1, out, (size_t)n)) {
				gone = true;
				break;
			}
		}
	}
	if (x->io >= 0)
		close(x->io);   /* with a tty: hangs up the terminal */
	if (x->out >= 0)
		close(x->out);
	pr_debug("exec session: %s", gone ? "client left" : "command ended");
	if (gone) {
		/* runc exec forwards these to the command */
		kill(x->pid, SIGHUP);
		kill(x->pid, SIGTERM);
	}
	while (waitpid(x->pid, &status, 0) < 0 && errno == EINTR)
		;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	snprintf(st, sizeof(st), "{\"exitCode\":%d}", code);
	send_frame(x->sock, 3, st, strlen(st));
	MHD_upgrade_action(x->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(x->extra);
	free(x);
	return NULL;
}

static void xpump_upgraded(void *cls, struct MHD_Connection *c, void *req_cls,
			   const char *extra_in, size_t extra_in_size, MHD_socket sock,
			   struct MHD_UpgradeResponseHandle *urh)
{
	struct xpump *x = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_t th;

	(void)req_cls;
	x->peer = ci ? ci->connect_fd : -1;
	x->sock = sock;
	x->urh = urh;
	if (extra_in_size && (x->extra = malloc(extra_in_size))) {
		memcpy(x->extra, extra_in, extra_in_size);
		x->nextra = extra_in_size;
	}
	/* MHD forwards TLS for us on this connection's thread once we return */
	if (pthread_create(&th, NULL, xpump_thread, x)) {
		kill(x->pid, SIGKILL);
		if (x->io >= 0)
			close(x->io);
		if (x->out >= 0)
			close(x->out);
		waitpid(x->pid, NULL, 0);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(x->extra);
		free(x);
		return;
	}
	pthread_detach(th);
}

int kubelet_exec_upgrade(struct MHD_Connection *c, pid_t pid, int io, int out, bool tty)
{
	struct xpump *x = calloc(1, sizeof(*x));
	struct MHD_Response *r = NULL;
	enum MHD_Result ret;

	if (x)
		r = MHD_create_response_for_upgrade(xpump_upgraded, x);
	if (!r) {
		free(x);
		kill(pid, SIGKILL);
		close(io);
		if (out >= 0)
			close(out);
		waitpid(pid, NULL, 0);
		return MHD_NO;
	}
	if (tty) {
		/* the client's window size at once, before runc reads it */
		const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "width");
		const char *h = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "height");
		struct winsize ws = { .ws_col = (unsigned short)(w ? atoi(w) : 0),
				      .ws_row = (unsigned short)(h ? atoi(h) : 0) };

		if (ws.ws_col && ws.ws_row)
			ioctl(io, TIOCSWINSZ, &ws);
	}
	x->pid = pid;
	x->io = io;
	x->out = out;
	x->tty = tty;
	MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "gannet-exec");
	ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	if (ret != MHD_YES) {
		/* the upgrade callback will never run */
		kill(pid, SIGKILL);
		close(io);
		if (out >= 0)
			close(out);
		waitpid(pid, NULL, 0);
		free(x);
	}
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_size, void **ptr)
{
	struct agent *a = cls;
	int auth, kr;

	(void)version;
	(void)upload_data;
	if (!*ptr) {
		*ptr = (void *)1;
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	auth = check_client(a->ktls, c);
	if (auth == 401)
		return kubelet_reply(c, 401, "Unauthorized: a client certificate from the cluster CA is required\n");
	if (auth)
		return kubelet_reply(c, 403, "Forbidden: only the API server (system:masters) may use this endpoint\n");
	if (!strcmp(url, "/healthz"))
		return kubelet_reply(c, 200, "ok\n");
	kr = dpview_http(a, c, url, method);   /* /dataplane/services */
	if (kr < 0)
		kr = policy_http(a, c, url, method);   /* GET /flows */
	if (kr < 0)
		kr = kubelet_http(a, c, url, method);
	return kr >= 0 ? (enum MHD_Result)kr : kubelet_reply(c, 404, "not found\n");
}

int kubelet_tls_start(struct agent *a, const unsigned char *ca_pem, size_t ca_len,
		      struct gerr *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = a->cfg.node_ip,
				  .sin_port = htons((uint16_t)a->cfg.kubelet_port) };
	struct ktls *t;
	BIO *b = NULL;
	X509 *x;
	char *ca;
	int ret;

	if (!a->cfg.kubelet_port)
		return 0;
	if (!ca_pem || !ca_len)
		return gerr_set(err, -EINVAL, "kubelet port: the kubeconfig has no CA to verify clients");
	t = calloc(1, sizeof(*t));
	ca = strndup((const char *)ca_pem, ca_len);
	if (!t || !ca) {
		free(t);
		free(ca);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	ret = serving_cert(&a->cfg, t, err);
	if (ret)
		goto fail;
	t->ca = X509_STORE_new();
	b = BIO_new_mem_buf(ca, -1);
	while (t->ca && b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		X509_STORE_add_cert(t->ca, x);
		X509_free(x);
	}
	BIO_free(b);
	a->ktls = t;
	t->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
				handler, a,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_HTTPS_MEM_KEY, t->key,
				MHD_OPTION_HTTPS_MEM_CERT, t->cert,
				/* makes the server ask for a client certificate */
				MHD_OPTION_HTTPS_MEM_TRUST, ca,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				MHD_OPTION_END);
	if (!t->d) {
		a->ktls = NULL;
		ret = gerr_set(err, -EADDRNOTAVAIL, "kubelet port %u: cannot listen",
			       a->cfg.kubelet_port);
		goto fail;
	}
	t->ca_pem = ca;   /* kept for the daemon's lifetime */
	pr_info("logs/exec on https://%s:%u (client certificates, system:masters)",
		inet_ntoa(sa.sin_addr), a->cfg.kubelet_port);
	return 0;
fail:
	if (t->ca)
		X509_STORE_free(t->ca);
	free(t->cert);
	free(t->key);
	free(t);
	free(ca);
	return ret;
}

void kubelet_tls_stop(struct agent *a)
{
	struct ktls *t = a->ktls;

	if (!t)
		return;
	MHD_stop_daemon(t->d);
	X509_STORE_free(t->ca);
	free(t->cert);
	free(t->key);
	free(t->ca_pem);
	free(t);
	a->ktls = NULL;
}
