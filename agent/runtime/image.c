// SPDX-License-Identifier: Apache-2.0
/* Local image store. Each import unpacks into a content directory
 * .img-<random>/ holding rootfs/ (used read-only as the overlay lower layer,
 * never copied per container) and image.json (entrypoint, cmd, env,
 * workingDir, user); the reference is a symlink <ref> -> .img-<random>
 * swapped atomically on re-import. Content directories are never renamed,
 * so the lowerdir path recorded by a container's overlay mount stays valid
 * and rt_image_gc can tell which old contents are still in use. Imports from
 * rootfs tarballs and OCI image layouts (layers applied in order with
 * whiteouts); busybox:latest is built from Debian's busybox-static on first
 * open. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "agent/runtime/internal.h"
#include "agent/runtime/runtime.h"

struct rt_images {
	char *dir;
};

/* ---- helpers ---------------------------------------------------------- */

void rt_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t rt_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

static char **strv_from_json(json_t *a)
{
	char **v = NULL;
	size_t n = 0, i;
	json_t *it;

	if (!json_is_array(a))
		return NULL;
	json_array_foreach(a, i, it)
		if (json_is_string(it) && strv_push(&v, &n, json_string_value(it))) {
			rt_strv_free(v);
			return NULL;
		}
	if (!v)   /* an empty array is "set but empty", not "unset" */
		v = calloc(1, sizeof(char *));
	return v;
}

static json_t *strv_to_json(char *const *v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* Directory name for a normalized ref: [A-Za-z0-9.-] kept, anything else as
 * _XX, so it is unique, one path component and safe in overlay options
 * (where ':' and ',' are separators). */
static void ref_dirname(const char *ref, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = ref; *p && o + 4 < len; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "_%02X", c);
	}
	out[o] = '\0';
}

static void ref_undirname(const char *d, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = d; *p && o + 1 < len; p++) {
		unsigned v;
		if (*p == '_' && p[1] && p[2] && sscanf(p + 1, "%2x", &v) == 1) {
			out[o++] = (char)v;
			p += 2;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

int rt_image_normalize(const char *ref, char *out, size_t len, struct gerr *e)
{
	char buf[512];
	const char *r = ref;
	const char *slash, *colon, *at;

	if (!ref || !*ref || strlen(ref) >= sizeof(buf) - 16)
		return gerr_set(e, -EINVAL, "invalid image reference \"%s\"", ref ? ref : "");
	for (const char *p = ref; *p; p++)
		if (*p <= ' ' || *p == '\\' || *p == ',' || (unsigned char)*p >= 0x7f)
			return gerr_set(e, -EINVAL, "invalid image reference \"%s\"", ref);
	/* docker.io is the implicit registry, library/ its implicit org. */
	if (!strncmp(r, "docker.io/", 10))
		r += 10;
	else if (!strncmp(r, "index.docker.io/", 16))
		r += 16;
	if (!strncmp(r, "library/", 8))
		r += 8;
	at = strchr(r, '@');
	slash = strrchr(r, '/');
	colon = strrchr(r, ':');
	if (colon && slash && colon < slash)
		colon = NULL;   /* registry port, not a tag */
	if (at || colon)
		snprintf(buf, sizeof(buf), "%s", r);
	else
		snprintf(buf, sizeof(buf), "%s:latest", r);
	if (strstr(buf, "..") || buf[0] == '/' || buf[0] == ':' || buf[0] == '@')
		return gerr_set(e, -EINVAL, "invalid image reference \"%s\"", ref);
	if (strlen(buf) >= len)
		return gerr_set(e, -ENAMETOOLONG, "image reference too long");
	strcpy(out, buf);
	return 0;
}

static void image_path(struct rt_images *s, const char *nref, char *out, size_t len)
{
	char d[1024];
	ref_dirname(nref, d, sizeof(d));
	snprintf(out, len, "%s/%s", s->dir, d);
}

static int write_image_json(const char *dir, const char *ref, const struct rt_image_config *c)
{
	char path[4200];
	json_t *j = json_pack("{s:s}", "ref", ref);
	int rc;

	if (c->entrypoint)
		json_object_set_new(j, "entrypoint", strv_to_json(c->entrypoint));
	if (c->cmd)
		json_object_set_new(j, "cmd", strv_to_json(c->cmd));
	json_object_set_new(j, "env", strv_to_json(c->env));
	json_object_set_new(j, "workingDir", json_string(c->working_dir ? c->working_dir : ""));
	json_object_set_new(j, "user", json_string(c->user ? c->user : ""));
	char *txt = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (!txt)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/image.json", dir);
	rc = fu_write_atomic(path, txt, strlen(txt), 0644, FU_FSYNC);
	free(txt);
	return rc;
}

/* Makes a fresh temporary directory next to the store's images. */
static int make_tmp(struct rt_images *s, char *out, size_t len)
{
	char rnd[17];
	rtu_random_hex(rnd, 16);
	snprintf(out, len, "%s/.tmp-%s", s->dir, rnd);
	if (mkdir(out, 0755))
		return -errno;
	char root[4200];
	snprintf(root, sizeof(root), "%s/rootfs", out);
	if (mkdir(root, 0755))
		return -errno;
	return 0;
}

/* Moves tmp into place as the content of nref: rename to .img-<rnd>, then
 * atomically point the reference symlink at it. */
static int commit_tmp(struct rt_images *s, const char *tmp, const char *nref, struct gerr *e)
{
	char dst[4200], img[4300], lnk[4300], rnd[17];

	rtu_random_hex(rnd, 16);
	image_path(s, nref, dst, sizeof(dst));
	snprintf(img, sizeof(img), "%s/.img-%s", s->dir, rnd);
	snprintf(lnk, sizeof(lnk), "%s/.lnk-%s", s->dir, rnd);
	if (rename(tmp, img))
		return gerr_set(e, -errno, "committing image %s: %s", nref, strerror(errno));
	if (symlink(img + strlen(s->dir) + 1, lnk) || rename(lnk, dst)) {
		int rc = -errno;
		unlink(lnk);
		rename(img, tmp);   /* the caller removes tmp */
		return gerr_set(e, rc, "committing image %s: %s", nref, strerror(-rc));
	}
	return 0;
}

/* Content directories (.img-*) no reference points at and no mount uses,
 * and leftovers of interrupted imports (.tmp-*, .lnk-*), older than
 * min_age seconds (so a concurrent import in another process is safe). */
int rt_image_gc(struct rt_images *s, int min_age, struct gerr *e)
{
	char *mounts = NULL, p[4300], target[4300];
	DIR *d;
	struct dirent *de;
	char **refs = NULL;
	size_t nrefs = 0;
	time_t now = time(NULL);
	int removed = 0;

	fu_read_file("/proc/self/mountinfo", &mounts, NULL);
	d = opendir(s->dir);
	if (!d) {
		free(mounts);
		return gerr_set(e, -errno, "%s: %s", s->dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", s->dir, de->d_name);
		ssize_t n = readlink(p, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			strv_push(&refs, &nrefs, target);
		}
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		bool img = !strncmp(de->d_name, ".img-", 5);
		if (!img && strncmp(de->d_name, ".tmp-", 5) && strncmp(de->d_name, ".lnk-", 5))
			continue;
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", s->dir, de->d_name);
		if (lstat(p, &st) || now - st.st_mtime < min_age)
			continue;
		if (img) {
			bool used = false;
			for (size_t i = 0; i < nrefs && !used; i++)
				used = !strcmp(refs[i], de->d_name);
			/* lowerdir=<store>/.img-x/rootfs in a mount's options */
			snprintf(target, sizeof(target), "%s/rootfs", p);
			if (used || !mounts || strstr(mounts, target))
				continue;
		}
		if (rtu_rm_rf(p) == 0)
			removed++;
	}
	closedir(d);
	rt_strv_free(refs);
	free(mounts);
	return removed;
}

/* ---- busybox ---------------------------------------------------------- */

static int copy_file(const char *src, const char *dst, mode_t mode)
{
	char *data;
	size_t len;
	int rc = fu_read_file(src, &data, &len);
	if (rc)
		return rc;
	rc = fu_write_atomic(dst, data, len, mode, FU_FSYNC);
	free(data);
	return rc;
}

static const char busybox_passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
	"www-data:x:33:33:www-data:/var/www:/bin/false\n"
	"user:x:1000:1000:user:/home/user:/bin/sh\n"
	"user2:x:1001:1001:user2:/home/user2:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char busybox_group[] =
	"root:x:0:\n" "daemon:x:1:\n" "tty:x:5:\n" "www-data:x:33:\n"
	"users:x:100:\n" "user:x:1000:\n" "user2:x:1001:\n" "nogroup:x:65534:\n";

static int create_busybox(struct rt_images *s, struct gerr *e)
{
	const char *bb = getenv("GANNET_BUSYBOX");
	char tmp[4200], root[4300], p[4600], list[65536];
	int rc;

	if (!bb)
		bb = "/bin/busybox";
	if (access(bb, X_OK))
		return gerr_set(e, -ENOENT, "%s not found (install busybox-static)", bb);
	rc = make_tmp(s, tmp, sizeof(tmp));
	if (rc)
		return gerr_set(e, rc, "creating busybox image: %s", strerror(-rc));
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	static const char *const dirs[] = {
		"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root",
		"home/user", "home/user2", "var/www", "var/log", "run", "mnt",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		if ((rc = fu_mkdir_p(p, 0755)))
			goto fail;
	}
	snprintf(p, sizeof(p), "%s/tmp", root);
	if (mkdir(p, 01777) || chmod(p, 01777)) {
		rc = -errno;
		goto fail;
	}
	snprintf(p, sizeof(p), "%s/home/user", root);
	if (chown(p, 1000, 1000)) {
		rc = -errno;
		goto fail;
	}
	snprintf(p, sizeof(p), "%s/bin/busybox", root);
	if ((rc = copy_file(bb, p, 0755)))
		goto fail;
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	if ((rc = fu_write_atomic(p, busybox_passwd, sizeof(busybox_passwd) - 1, 0644, FU_FSYNC)))
		goto fail;
	snprintf(p, sizeof(p), "%s/etc/group", root);
	if ((rc = fu_write_atomic(p, busybox_group, sizeof(busybox_group) - 1, 0644, FU_FSYNC)))
		goto fail;

	const char *const argv[] = { bb, "--list-full", NULL };
	rc = rtu_run(argv, 10000, list, sizeof(list));
	if (rc != 0) {
		rc = rc < 0 ? rc : -EIO;
		goto fail;
	}
	for (char *save, *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!*l || strstr(l, "..") || !strcmp(l, "bin/busybox"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", root, l);
		char *slash = strrchr(p, '/');
		*slash = '\0';
		fu_mkdir_p(p, 0755);
		*slash = '/';
		if (symlink("/bin/busybox", p) && errno != EEXIST) {
			rc = -errno;
			goto fail;
		}
	}
	char *cmd[] = { "sh", NULL };
	char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct rt_image_config c = { .cmd = cmd, .env = env };
	if ((rc = write_image_json(tmp, "busybox:latest", &c)))
		goto fail;
	rc = commit_tmp(s, tmp, "busybox:latest", e);
	if (rc) {
		/* Another handle created it concurrently: fine. */
		char dst[4200];
		image_path(s, "busybox:latest", dst, sizeof(dst));
		if (rtu_exists(dst)) {
			rtu_rm_rf(tmp);
			if (e) e->code = 0, e->msg[0] = '\0';
			return 0;
		}
		goto fail_quiet;
	}
	return 0;
fail:
	gerr_set(e, rc, "creating busybox image: %s", strerror(-rc));
fail_quiet:
	rtu_rm_rf(tmp);
	return rc;
}

/* ---- store ------------------------------------------------------------ */

int rt_images_open(const char *dir, struct rt_images **out, struct gerr *e)
{
	struct rt_images *s;
	char p[4200];
	int rc;

	*out = NULL;
	rc = fu_mkdir_p(dir, 0755);
	if (rc)
		return gerr_set(e, rc, "image store %s: %s", dir, strerror(-rc));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir = realpath(dir, NULL);
	if (!s->dir) {
		free(s);
		return gerr_set(e, -errno, "image store %s: %s", dir, strerror(errno));
	}
	/* An hour is far longer than any import: whatever is older is
	 * garbage. Unused replaced images go too. */
	rt_image_gc(s, 3600, NULL);
	image_path(s, "busybox:latest", p, sizeof(p));
	if (!rtu_exists(p)) {
		rc = create_busybox(s, e);
		if (rc) {
			rt_images_close(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

void rt_images_close(struct rt_images *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

void rt_image_info_free(struct rt_image_info *i)
{
	if (!i)
		return;
	free(i->ref);
	free(i->rootfs);
	rt_strv_free(i->cfg.entrypoint);
	rt_strv_free(i->cfg.cmd);
	rt_strv_free(i->cfg.env);
	free(i->cfg.working_dir);
	free(i->cfg.user);
	memset(i, 0, sizeof(*i));
}

int rt_image_resolve(struct rt_images *s, const char *ref, struct rt_image_info *out,
		     struct gerr *e)
{
	char nref[512], dir[4200], p[4300];
	json_t *j;
	json_error_t je;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rt_image_normalize(ref, nref, sizeof(nref), e);
	if (rc)
		return rc;
	image_path(s, nref, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/image.json", dir);
	if (!rtu_exists(p))
		return gerr_set(e, -ENOENT,
				"image \"%s\" not found in the local image store (import it with gannet-runtime image import)",
				nref);
	j = json_load_file(p, 0, &je);
	if (!j)
		return gerr_set(e, -EIO, "image %s: bad image.json: %s", nref, je.text);
	out->ref = strdup(nref);
	/* The content dir, not the symlink: a re-import must not change the
	 * lower layer of containers created from this resolution. */
	char *real = realpath(dir, NULL);
	snprintf(p, sizeof(p), "%s/rootfs", real ? real : dir);
	free(real);
	out->rootfs = strdup(p);
	out->cfg.entrypoint = strv_from_json(json_object_get(j, "entrypoint"));
	out->cfg.cmd = strv_from_json(json_object_get(j, "cmd"));
	out->cfg.env = strv_from_json(json_object_get(j, "env"));
	const char *wd = json_string_value(json_object_get(j, "workingDir"));
	const char *u = json_string_value(json_object_get(j, "user"));
	out->cfg.working_dir = wd && *wd ? strdup(wd) : NULL;
	out->cfg.user = u && *u ? strdup(u) : NULL;
	json_decref(j);
	return 0;
}

int rt_image_list(struct rt_images *s, char ***refs, struct gerr *e)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;

	*refs = NULL;
	if (!d || !v) {
		free(v);
		if (d)
			closedir(d);
		return gerr_set(e, -errno, "listing images: %s", strerror(errno));
	}
	while ((de = readdir(d))) {
		char ref[512], p[4200];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/image.json", s->dir, de->d_name);
		if (!rtu_exists(p))
			continue;
		ref_undirname(de->d_name, ref, sizeof(ref));
		strv_push(&v, &n, ref);
	}
	closedir(d);
	*refs = v;
	return 0;
}

int rt_image_remove(struct rt_images *s, const char *ref, struct gerr *e)
{
	char nref[512], dir[4200];
	int rc = rt_image_normalize(ref, nref, sizeof(nref), e);

	if (rc)
		return rc;
	image_path(s, nref, dir, sizeof(dir));
	if (!rtu_exists(dir))
		return gerr_set(e, -ENOENT, "image \"%s\" not found", nref);
	/* Only the reference: the content goes at the next GC once no
	 * container uses it. */
	if (unlink(dir))
		return gerr_set(e, -errno, "removing image %s: %s", nref, strerror(errno));
	return 0;
}

/* ---- import ----------------------------------------------------------- */

static int untar(const char *tarball, const char *root, struct gerr *e)
{
	char out[2048];
	const char *argv[] = { "tar", "-xf", tarball, "-C", root, "--numeric-owner",
			       "--no-overwrite-dir", NULL };
	int rc = rtu_run(argv, 600000, out, sizeof(out));
	if (rc != 0)
		return gerr_set(e, rc < 0 ? rc : -EIO, "extracting %s: %s", tarball,
				rc < 0 ? strerror(-rc) : rtu_last_line(out));
	return 0;
}

int rt_image_import_tar(struct rt_images *s, const char *ref, const char *tarball,
			struct gerr *e)
{
	char nref[512], tmp[4200], root[4300];
	int rc;

	rc = rt_image_normalize(ref, nref, sizeof(nref), e);
	if (rc)
		return rc;
	if (access(tarball, R_OK))
		return gerr_set(e, -errno, "%s: %s", tarball, strerror(errno));
	rc = make_tmp(s, tmp, sizeof(tmp));
	if (rc)
		return gerr_set(e, rc, "import: %s", strerror(-rc));
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	rc = untar(tarball, root, e);
	if (rc)
		goto fail;
	char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct rt_image_config c = { .env = env };
	if ((rc = write_image_json(tmp, nref, &c))) {
		gerr_set(e, rc, "import: %s", strerror(-rc));
		goto fail;
	}
	rc = commit_tmp(s, tmp, nref, e);
	if (rc)
		goto fail;
	return 0;
fail:
	rtu_rm_rf(tmp);
	return rc;
}

static int blob_path(const char *layout, const char *digest, char *out, size_t len,
		     struct gerr *e)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;
	if (!colon || colon == digest || strchr(colon + 1, '/') || strstr(digest, ".."))
		return gerr_set(e, -EINVAL, "bad digest \"%s\"", digest ? digest : "");
	snprintf(out, len, "%s/blobs/%.*s/%s", layout, (int)(colon - digest), digest, colon + 1);
	if (!rtu_exists(out))
		return gerr_set(e, -ENOENT, "blob %s missing from the layout", digest);
	return 0;
}

/* Merges one extracted layer (src) into the root fs being built (dst),
 * applying its whiteouts: ".wh..wh..opq" empties the directory of lower
 * content, ".wh.<name>" deletes <name>. Only real directories of dst are
 * ever descended into (lstat, never a path through a symlink), so a lower
 * layer's symlink such as "etc -> /host/etc" cannot redirect writes or
 * deletions outside the root: a directory in the upper layer replaces it. */
static int merge_layer(const char *src, const char *dst, struct gerr *e)
{
	DIR *d = opendir(src);
	struct dirent *de;
	char s[8192], t[8192];
	int rc = 0;

	if (!d)
		return gerr_set(e, -errno, "layer dir %s: %s", src, strerror(errno));
	/* Opaque marker first: it hides only what lower layers put here. */
	snprintf(s, sizeof(s), "%s/.wh..wh..opq", src);
	if (rtu_exists(s)) {
		DIR *o = opendir(dst);
		struct dirent *oe;
		while (o && (oe = readdir(o))) {
			if (!strcmp(oe->d_name, ".") || !strcmp(oe->d_name, ".."))
				continue;
			snprintf(t, sizeof(t), "%s/%s", dst, oe->d_name);
			rtu_rm_rf(t);
		}
		if (o)
			closedir(o);
	}
	while (!rc && (de = readdir(d))) {
		const char *n = de->d_name;
		struct stat ss, ds;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".wh..wh..opq"))
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, n);
		if (!strncmp(n, ".wh.", 4)) {
			snprintf(t, sizeof(t), "%s/%s", dst, n + 4);
			rtu_rm_rf(t);
			continue;
		}
		snprintf(t, sizeof(t), "%s/%s", dst, n);
		if (lstat(s, &ss))
			continue;
		bool dst_dir = lstat(t, &ds) == 0 && S_ISDIR(ds.st_mode);
		if (S_ISDIR(ss.st_mode) && dst_dir) {
			rc = merge_layer(s, t, e);
			/* The upper layer's metadata wins for the directory. */
			if (!rc && (lchown(t, ss.st_uid, ss.st_gid) || chmod(t, ss.st_mode & 07777)))
				rc = gerr_set(e, -errno, "layer: %s: %s", t, strerror(errno));
			continue;
		}
		if (rtu_exists(t) && rtu_rm_rf(t))
			rc = gerr_set(e, -EBUSY, "layer: cannot replace %s", t);
		else if (rename(s, t))
			rc = gerr_set(e, -errno, "layer: %s: %s", t, strerror(errno));
	}
	closedir(d);
	return rc;
}

/* Extracts a layer into an empty directory next to the root (GNU tar's own
 * protections cover symlinks within one archive), then merges it. */
static int apply_layer(struct rt_images *st, const char *blob, const char *root, struct gerr *e)
{
	char tmp[4200], lay[4300];
	int rc = make_tmp(st, tmp, sizeof(tmp));

	if (rc)
		return gerr_set(e, rc, "layer: %s", strerror(-rc));
	snprintf(lay, sizeof(lay), "%s/rootfs", tmp);
	rc = untar(blob, lay, e);
	if (!rc)
		rc = merge_layer(lay, root, e);
	rtu_rm_rf(tmp);
	return rc;
}

static json_t *load_blob_json(const char *layout, const char *digest, struct gerr *e)
{
	char p[4200];
	json_error_t je;
	json_t *j;

	if (blob_path(layout, digest, p, sizeof(p), e))
		return NULL;
	j = json_load_file(p, 0, &je);
	if (!j)
		gerr_set(e, -EINVAL, "blob %s: %s", digest, je.text);
	return j;
}

int rt_image_import_oci(struct rt_images *s, const char *ref, const char *layout,
			struct gerr *e)
{
	char p[4200], nref[512], tmp[4200], root[4300];
	json_t *index = NULL, *manifest = NULL, *config = NULL, *desc = NULL;
	json_error_t je;
	int rc;

	snprintf(p, sizeof(p), "%s/index.json", layout);
	index = json_load_file(p, 0, &je);
	if (!index)
		return gerr_set(e, -EINVAL, "%s: not an OCI image layout (%s)", layout, je.text);
	json_t *mans = json_object_get(index, "manifests");
	if (!json_array_size(mans)) {
		rc = gerr_set(e, -EINVAL, "%s: index.json lists no manifests", layout);
		goto out;
	}
	/* Pick the manifest named by ref's tag when several are listed. */
	desc = json_array_get(mans, 0);
	const char *name = json_string_value(json_object_get(
		json_object_get(desc, "annotations"), "org.opencontainers.image.ref.name"));
	if (ref) {
		const char *tag = strrchr(ref, ':');
		size_t i;
		json_t *m;
		json_array_foreach(mans, i, m) {
			const char *n = json_string_value(json_object_get(
				json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));
			if (n && tag && (!strcmp(n, tag + 1) || !strcmp(n, ref))) {
				desc = m;
				name = n;
				break;
			}
		}
	}
	if (!ref && !name) {
		rc = gerr_set(e, -EINVAL, "%s: no image name given and none in index.json", layout);
		goto out;
	}
	rc = rt_image_normalize(ref ? ref : name, nref, sizeof(nref), e);
	if (rc)
		goto out;
	manifest = load_blob_json(layout, json_string_value(json_object_get(desc, "digest")), e);
	/* A nested index (multi-platform): take its first manifest. */
	for (int depth = 0; manifest && json_object_get(manifest, "manifests") && depth < 4; depth++) {
		json_t *inner = json_array_get(json_object_get(manifest, "manifests"), 0);
		json_t *next = load_blob_json(layout,
			json_string_value(json_object_get(inner, "digest")), e);
		json_decref(manifest);
		manifest = next;
	}
	if (!manifest) {
		rc = e && e->code ? e->code : -EINVAL;
		goto out;
	}
	json_t *cfgdesc = json_object_get(manifest, "config");
	config = load_blob_json(layout, json_string_value(json_object_get(cfgdesc, "digest")), e);
	if (!config) {
		rc = e && e->code ? e->code : -EINVAL;
		goto out;
	}
	rc = make_tmp(s, tmp, sizeof(tmp));
	if (rc) {
		gerr_set(e, rc, "import: %s", strerror(-rc));
		goto out;
	}
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	size_t i;
	json_t *layer;
	json_array_foreach(json_object_get(manifest, "layers"), i, layer) {
		char bp[4200];
		rc = blob_path(layout, json_string_value(json_object_get(layer, "digest")), bp,
			       sizeof(bp), e);
		if (!rc)
			rc = apply_layer(s, bp, root, e);
		if (rc)
			goto fail;
	}
	json_t *c = json_object_get(config, "config");
	struct rt_image_config ic = {
		.entrypoint = strv_from_json(json_object_get(c, "Entrypoint")),
		.cmd = strv_from_json(json_object_get(c, "Cmd")),
		.env = strv_from_json(json_object_get(c, "Env")),
		.working_dir = (char *)json_string_value(json_object_get(c, "WorkingDir")),
		.user = (char *)json_string_value(json_object_get(c, "User")),
	};
	rc = write_image_json(tmp, nref, &ic);
	rt_strv_free(ic.entrypoint);
	rt_strv_free(ic.cmd);
	rt_strv_free(ic.env);
	if (rc) {
		gerr_set(e, rc, "import: %s", strerror(-rc));
		goto fail;
	}
	rc = commit_tmp(s, tmp, nref, e);
	if (rc)
		goto fail;
	goto out;
fail:
	rtu_rm_rf(tmp);
out:
	json_decref(index);
	json_decref(manifest);
	json_decref(config);
	return rc;
}
