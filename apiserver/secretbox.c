/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption of Secrets at rest: AES-256-GCM (OpenSSL EVP) with a 32-byte
 * key kept in a file next to the database, never in it. Each message gets a
 * fresh random 96-bit nonce; the output is text so it can be stored where
 * JSON would be: "gannet:aesgcm:v1:" + base64(nonce | ciphertext | tag).
 * The prefix is also fed to GCM as associated data, so a message cannot be
 * relabelled as another format version without failing authentication.
 * Thread-safe: the key is read-only after open, each call has its own
 * cipher context. */
#include "apiserver/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SB_PREFIX     "gannet:aesgcm:v1:"
#define SB_PREFIX_LEN (sizeof(SB_PREFIX) - 1)
#define SB_KEY_LEN    32
#define SB_NONCE_LEN  12
#define SB_TAG_LEN    16
/* Secrets are small (Kubernetes caps them at 1 MiB); refuse absurd sizes
 * before the base64/int arithmetic below could overflow. */
#define SB_MAX_PLAIN  (64u << 20)

struct secretbox {
	unsigned char key[SB_KEY_LEN];
};

/* Create the key file with 32 random bytes; O_EXCL so two servers starting
 * at once cannot both write (the loser reads the winner's key). */
static int sb_create_key(const char *path, struct gerr *err)
{
	unsigned char key[SB_KEY_LEN];
	int fd, ret = 0;

	if (RAND_bytes(key, sizeof(key)) != 1)
		return gerr_set(err, -EIO, "secretbox: no randomness");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = errno == EEXIST ? 0 : gerr_set(err, -errno, "secretbox: create %s: %s",
						     path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) || write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd)) {
		ret = gerr_set(err, -errno ? -errno : -EIO, "secretbox: write %s: %s", path,
			       strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	pr_info("secretbox: created encryption key %s", path);
out:
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}

int secretbox_open(const char *key_file, struct secretbox **out, struct gerr *err)
{
	struct secretbox *sb = NULL;
	unsigned char buf[SB_KEY_LEN + 1];
	struct stat st;
	ssize_t n;
	int fd, ret;

	*out = NULL;
	if (!key_file)
		return gerr_set(err, -EINVAL, "secretbox: no key file");
	if (access(key_file, F_OK) && (ret = sb_create_key(key_file, err)))
		return ret;
	fd = open(key_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gerr_set(err, -errno, "secretbox: open %s: %s", key_file, strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		pr_warn("secretbox: key file %s is readable by group/others (mode %03o)",
			key_file, (unsigned)(st.st_mode & 0777));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != SB_KEY_LEN) {
		ret = gerr_set(err, -EINVAL, "secretbox: %s must hold exactly %d bytes", key_file,
			       SB_KEY_LEN);
		goto out;
	}
	sb = calloc(1, sizeof(*sb));
	if (!sb) {
		ret = gerr_set(err, -ENOMEM, "secretbox: out of memory");
		goto out;
	}
	memcpy(sb->key, buf, SB_KEY_LEN);
	*out = sb;
	ret = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}

void secretbox_close(struct secretbox *sb)
{
	if (!sb)
		return;
	OPENSSL_cleanse(sb->key, sizeof(sb->key));
	free(sb);
}

bool secretbox_is_sealed(const char *buf, size_t len)
{
	return buf && len >= SB_PREFIX_LEN && !memcmp(buf, SB_PREFIX, SB_PREFIX_LEN);
}

int secretbox_seal(struct secretbox *sb, const char *plain, size_t len,
		   char **out, size_t *out_len, struct gerr *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL;
	char *res = NULL;
	size_t raw_len, b64_len;
	int n, ret = -EIO;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!sb || (!plain && len))
		return gerr_set(err, -EINVAL, "secretbox: bad arguments");
	if (len > SB_MAX_PLAIN)
		return gerr_set(err, -EFBIG, "secretbox: message too large");
	raw_len = SB_NONCE_LEN + len + SB_TAG_LEN;
	raw = malloc(raw_len);
	b64_len = 4 * ((raw_len + 2) / 3);
	res = malloc(SB_PREFIX_LEN + b64_len + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!raw || !res || !ctx) {
		ret = gerr_set(err, -ENOMEM, "secretbox: out of memory");
		goto out;
	}
	if (RAND_bytes(raw, SB_NONCE_LEN) != 1) {
		gerr_set(err, -EIO, "secretbox: no randomness");
		goto out;
	}
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SB_NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, sb->key, raw) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)SB_PREFIX, SB_PREFIX_LEN) != 1 ||
	    (len && EVP_EncryptUpdate(ctx, raw + SB_NONCE_LEN, &n,
				      (const unsigned char *)plain, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, raw + SB_NONCE_LEN + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SB_TAG_LEN,
				raw + SB_NONCE_LEN + len) != 1) {
		gerr_set(err, -EIO, "secretbox: encryption failed");
		goto out;
	}
	memcpy(res, SB_PREFIX, SB_PREFIX_LEN);
	n = EVP_EncodeBlock((unsigned char *)res + SB_PREFIX_LEN, raw, (int)raw_len);
	*out = res;
	if (out_len)
		*out_len = SB_PREFIX_LEN + (size_t)n;
	res = NULL;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	free(res);
	return ret;
}

int secretbox_open_msg(struct secretbox *sb, const char *sealed, size_t len,
		       char **out, size_t *out_len, struct gerr *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL;
	char *plain = NULL;
	size_t b64_len, raw_len, ct_len;
	int n, pad = 0, ret = -EBADMSG;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!sb || !secretbox_is_sealed(sealed, len))
		return gerr_set(err, -EINVAL, "secretbox: not a sealed message");
	b64_len = len - SB_PREFIX_LEN;
	if (b64_len % 4 || b64_len > 4 * (SB_MAX_PLAIN / 3 + 16))
		return gerr_set(err, -EBADMSG, "secretbox: malformed message");
	for (size_t i = 0; i < b64_len; i++) {
		char c = sealed[SB_PREFIX_LEN + i];

		/* EVP_DecodeBlock skips whitespace; we want exact text. */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return gerr_set(err, -EBADMSG, "secretbox: malformed message");
	}
	if (b64_len && sealed[len - 1] == '=')
		pad = sealed[len - 2] == '=' ? 2 : 1;
	raw = malloc(b64_len / 4 * 3 + 1);
	if (!raw)
		return gerr_set(err, -ENOMEM, "secretbox: out of memory");
	n = EVP_DecodeBlock(raw, (const unsigned char *)sealed + SB_PREFIX_LEN, (int)b64_len);
	if (n < 0 || n - pad < SB_NONCE_LEN + SB_TAG_LEN) {
		gerr_set(err, -EBADMSG, "secretbox: malformed message");
		goto out;
	}
	raw_len = (size_t)(n - pad);
	ct_len = raw_len - SB_NONCE_LEN - SB_TAG_LEN;
	plain = malloc(ct_len + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!plain || !ctx) {
		ret = gerr_set(err, -ENOMEM, "secretbox: out of memory");
		goto out;
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SB_NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, sb->key, raw) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)SB_PREFIX, SB_PREFIX_LEN) != 1 ||
	    (ct_len && EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n, raw + SB_NONCE_LEN,
					 (int)ct_len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SB_TAG_LEN,
				raw + SB_NONCE_LEN + ct_len) != 1) {
		gerr_set(err, -EIO, "secretbox: decryption setup failed");
		ret = -EIO;
		goto out;
	}
	/* Final checks the tag: wrong key, tampering and truncation all
	 * end here, and no plaintext is released. */
	if (EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + ct_len, &n) != 1) {
		gerr_set(err, -EBADMSG, "secretbox: authentication failed (wrong key or tampered data)");
		OPENSSL_cleanse(plain, ct_len);
		goto out;
	}
	plain[ct_len] = '\0';
	*out = plain;
	if (out_len)
		*out_len = ct_len;
	plain = NULL;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	free(plain);
	return ret;
}
