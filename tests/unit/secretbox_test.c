/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for apiserver/secretbox.c: key file creation, AES-GCM
 * round trips, nonce freshness, tamper and wrong-key detection. No root. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiserver/auth.h"
#include "tests/unit/test.h"

static char dir[] = "/tmp/gannet-sbtest-XXXXXX";
static char keyf[256], key2f[256];

static void test_key_created(void)
{
	struct secretbox *sb = NULL;
	struct gerr e = { 0 };
	struct stat st;

	snprintf(keyf, sizeof(keyf), "%s/secrets.key", dir);
	snprintf(key2f, sizeof(key2f), "%s/other.key", dir);
	CHECK_EQ(access(keyf, F_OK), -1);
	CHECK_EQ(secretbox_open(keyf, &sb, &e), 0);
	CHECK(sb != NULL);
	CHECK_EQ(stat(keyf, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(st.st_size, 32);
	secretbox_close(sb);
}

static void test_roundtrip(void)
{
	static const char *msgs[] = { "", "x", "{\"data\":{\"password\":\"aHVudGVyMg==\"}}" };
	struct secretbox *sb = NULL;
	struct gerr e = { 0 };
	char *big;
	size_t big_len = 200000;

	CHECK_EQ(secretbox_open(keyf, &sb, &e), 0);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		char *sealed = NULL, *plain = NULL;
		size_t sl = 0, pl = 0;

		CHECK_EQ(secretbox_seal(sb, msgs[i], strlen(msgs[i]), &sealed, &sl, &e), 0);
		CHECK(sealed && strlen(sealed) == sl);
		CHECK(secretbox_is_sealed(sealed, sl));
		CHECK(!strncmp(sealed, "gannet:aesgcm:v1:", 17));
		/* 12 nonce + 16 tag + plaintext, base64 */
		CHECK_EQ(sl, 17 + 4 * ((28 + strlen(msgs[i]) + 2) / 3));
		CHECK_EQ(secretbox_open_msg(sb, sealed, sl, &plain, &pl, &e), 0);
		CHECK_EQ(pl, strlen(msgs[i]));
		CHECK_STR(plain, msgs[i]);
		free(sealed);
		free(plain);
	}
	/* binary with NULs, and big */
	big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)(i * 7);
	{
		char *sealed = NULL, *plain = NULL;
		size_t sl = 0, pl = 0;

		CHECK_EQ(secretbox_seal(sb, big, big_len, &sealed, &sl, &e), 0);
		CHECK_EQ(secretbox_open_msg(sb, sealed, sl, &plain, &pl, &e), 0);
		CHECK_EQ(pl, big_len);
		CHECK(plain && !memcmp(plain, big, big_len));
		free(sealed);
		free(plain);
	}
	free(big);
	secretbox_close(sb);
}

static void test_not_plaintext_and_fresh_nonce(void)
{
	const char *msg = "supersecretpassword-supersecretpassword";
	struct secretbox *sb = NULL;
	struct gerr e = { 0 };
	char *a = NULL, *b = NULL;
	size_t al, bl;

	CHECK_EQ(secretbox_open(keyf, &sb, &e), 0);
	CHECK_EQ(secretbox_seal(sb, msg, strlen(msg), &a, &al, &e), 0);
	CHECK_EQ(secretbox_seal(sb, msg, strlen(msg), &b, &bl, &e), 0);
	CHECK(strstr(a, "supersecret") == NULL);
	CHECK_EQ(al, bl);
	CHECK(strcmp(a, b) != 0);  /* same plaintext, different nonce */
	CHECK(!secretbox_is_sealed(msg, strlen(msg)));
	CHECK(!secretbox_is_sealed("gannet:aesgcm:v", 15));
	free(a);
	free(b);
	secretbox_close(sb);
}

static void test_tamper(void)
{
	const char *msg = "{\"kind\":\"Secret\",\"data\":{\"k\":\"dg==\"}}";
	struct secretbox *sb = NULL;
	struct gerr e = { 0 };
	char *s = NULL, *p = NULL;
	size_t sl, pl;

	CHECK_EQ(secretbox_open(keyf, &sb, &e), 0);
	CHECK_EQ(secretbox_seal(sb, msg, strlen(msg), &s, &sl, &e), 0);
	/* flip one base64 character in each region: nonce, ciphertext, tag */
	size_t pos[] = { 18, 17 + 20, sl - 6 };
	for (size_t i = 0; i < 3; i++) {
		char saved = s[pos[i]];
		struct gerr e2 = { 0 };

		s[pos[i]] = saved == 'A' ? 'B' : 'A';
		p = (char *)1;
		CHECK_EQ(secretbox_open_msg(sb, s, sl, &p, &pl, &e2), -EBADMSG);
		CHECK(p == NULL);
		CHECK(strstr(e2.msg, "authentication failed") != NULL);
		s[pos[i]] = saved;
	}
	/* truncation (keeping valid base64 length) */
	{
		struct gerr e2 = { 0 };

		CHECK(secretbox_open_msg(sb, s, sl - 4, &p, &pl, &e2) < 0);
		CHECK(p == NULL);
	}
	/* not a sealed message at all, bad characters */
	{
		struct gerr e2 = { 0 }, e3 = { 0 }, e4 = { 0 };
		char bad[] = "gannet:aesgcm:v1:AAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

		/* (a fresh gerr each: gerr_set keeps the first code) */
		CHECK_EQ(secretbox_open_msg(sb, msg, strlen(msg), &p, &pl, &e2), -EINVAL);
		CHECK_EQ(secretbox_open_msg(sb, bad, strlen(bad), &p, &pl, &e3), -EBADMSG);
		CHECK_EQ(secretbox_open_msg(sb, "gannet:aesgcm:v1:", 17, &p, &pl, &e4), -EBADMSG);
	}
	/* still fine untouched */
	CHECK_EQ(secretbox_open_msg(sb, s, sl, &p, &pl, &e), 0);
	CHECK_STR(p, msg);
	free(p);
	free(s);
	secretbox_close(sb);
}

static void test_wrong_key(void)
{
	struct secretbox *a = NULL, *b = NULL;
	struct gerr e = { 0 };
	char *s = NULL, *p = NULL;
	size_t sl, pl;

	CHECK_EQ(secretbox_open(keyf, &a, &e), 0);
	CHECK_EQ(secretbox_open(key2f, &b, &e), 0);
	CHECK_EQ(secretbox_seal(a, "hello", 5, &s, &sl, &e), 0);
	CHECK_EQ(secretbox_open_msg(b, s, sl, &p, &pl, &e), -EBADMSG);
	CHECK(p == NULL);
	free(s);
	secretbox_close(a);
	secretbox_close(b);
	/* reopening the first key still decrypts what it sealed */
	CHECK_EQ(secretbox_open(keyf, &a, &e), 0);
	CHECK_EQ(secretbox_seal(a, "again", 5, &s, &sl, &e), 0);
	secretbox_close(a);
	CHECK_EQ(secretbox_open(keyf, &a, &e), 0);
	CHECK_EQ(secretbox_open_msg(a, s, sl, &p, &pl, &e), 0);
	CHECK_STR(p, "again");
	free(p);
	free(s);
	secretbox_close(a);
}

static void test_bad_key_file(void)
{
	char path[300];
	struct secretbox *sb = NULL;
	struct gerr e = { 0 };
	int fd;

	snprintf(path, sizeof(path), "%s/short.key", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(write(fd, "0123456789", 10) == 10);
	close(fd);
	CHECK_EQ(secretbox_open(path, &sb, &e), -EINVAL);
	CHECK(sb == NULL);
	CHECK(strstr(e.msg, "32 bytes") != NULL);
	unlink(path);
}

static void test_setup(void)
{
	CHECK(mkdtemp(dir) != NULL);
}

static void test_cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

TEST_MAIN(T(test_setup), T(test_key_created), T(test_roundtrip),
	  T(test_not_plaintext_and_fresh_nonce), T(test_tamper), T(test_wrong_key),
	  T(test_bad_key_file), T(test_cleanup))
