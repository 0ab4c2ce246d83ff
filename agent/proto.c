/* SPDX-License-Identifier: Apache-2.0 */
/* Shared agent/plugin helpers: host veth naming and message framing with
 * fd passing (see proto.h). */
#include "agent/proto.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void proto_host_ifname(const char *container_id, const char *ifname, char out[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, container_id, strlen(container_id));
	EVP_DigestUpdate(ctx, ifname, strlen(ifname));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	/* 6 bytes = 12 hex digits, keep 11 */
	snprintf(out, 16, "gnt%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3],
		 md[4], md[5]);
	out[14] = 0;
}

int proto_send(int sock, const char *buf, size_t len, int fd)
{
	size_t off = 0;

	while (off < len) {
		struct iovec iov = { (void *)(buf + off), len - off };
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (off == 0 && fd >= 0) {
			struct cmsghdr *c;

			memset(&u, 0, sizeof(u));
			mh.msg_control = u.b;
			mh.msg_controllen = sizeof(u.b);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

char *proto_recv(int sock, int *fd_out, int *errp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	*fd_out = -1;
	if (!buf) {
		*errp = -ENOMEM;
		return NULL;
	}
	for (;;) {
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.b, .msg_controllen = sizeof(u.b) };
		ssize_t n;

		if (cap - len < 1024) {
			char *nb;

			if (cap >= PROTO_MAX_MSG) {
				*errp = -EMSGSIZE;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				*errp = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		iov.iov_base = buf + len;
		iov.iov_len = cap - len - 1;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*errp = -errno;
			goto fail;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int fd;

				memcpy(&fd, CMSG_DATA(c), sizeof(int));
				if (*fd_out >= 0)
					close(*fd_out);
				*fd_out = fd;
			}
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return buf;
fail:
	free(buf);
	if (*fd_out >= 0)
		close(*fd_out);
	*fd_out = -1;
	return NULL;
}
