// SPDX-License-Identifier: Apache-2.0
/* Embedded SQLite backend of the store, in the manner of kine: one append-only
 * table whose INTEGER PRIMARY KEY AUTOINCREMENT id is the revision. Every
 * write appends a row; a key's live value is its latest row (unless that row
 * is a tombstone). WAL + synchronous=NORMAL: a transaction is in the WAL when
 * COMMIT returns, so it survives the process being killed (not power loss).
 * See docs/store.md for schema, revision, compaction and watch design. */
#include "apiserver/store_backend.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- schema and statements ---- */

static const char *const schema_sql =
	"CREATE TABLE IF NOT EXISTS kv ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL,"
	" create_revision INTEGER NOT NULL,"
	" prev_revision INTEGER NOT NULL,"
	" value BLOB);"
	"CREATE INDEX IF NOT EXISTS kv_name_id ON kv(name, id);"
	"CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)"
	" WITHOUT ROWID;";

enum {
	ST_BEGIN_W, ST_BEGIN_R, ST_COMMIT, ST_ROLLBACK,
	ST_SEQ, ST_LATEST, ST_INSERT, ST_LIST, ST_ROW, ST_WATCH, ST_COMPACT_REV,
	ST_COMPACT, ST_SET_COMPACT_REV,
	ST_N
};

static const char *const stmt_sql[ST_N] = {
	[ST_BEGIN_W] = "BEGIN IMMEDIATE",
	[ST_BEGIN_R] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* The revision counter: AUTOINCREMENT never reuses an id, even when
	 * compaction deletes the newest row, so this is the store revision. */
	[ST_SEQ] = "SELECT seq FROM sqlite_sequence WHERE name = 'kv'",
	[ST_LATEST] = "SELECT id, deleted, create_revision, value FROM kv"
		      " WHERE name = ?1 ORDER BY id DESC LIMIT 1",
	[ST_INSERT] = "INSERT INTO kv (id, name, created, deleted,"
		      " create_revision, prev_revision, value)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* Lists walk the covering (name, id) index in (name, id) order -- no
	 * table access, no sort -- and keep the last id of each name in C;
	 * only those rows are then fetched by id. */
	[ST_LIST] = "SELECT name, id FROM kv WHERE name >= ?1 AND name < ?2"
		    " AND id <= ?3 ORDER BY name, id",
	[ST_ROW] = "SELECT deleted, create_revision, value FROM kv WHERE id = ?1",
	[ST_WATCH] = "SELECT id, name, created, deleted, create_revision, value"
		     " FROM kv WHERE id > ?1 AND id <= ?2"
		     " AND name >= ?3 AND name < ?4 ORDER BY id LIMIT ?5",
	[ST_COMPACT_REV] = "SELECT v FROM meta WHERE k = 'compact_rev'",
	/* Superseded rows (a newer row of the same key exists at or below the
	 * compact revision) and tombstones at or below it. Live values and
	 * everything newer stay. */
	[ST_COMPACT] = "DELETE FROM kv WHERE id <= ?1 AND (deleted = 1 OR id <"
		       " (SELECT MAX(b.id) FROM kv AS b WHERE b.name = kv.name"
		       " AND b.id <= ?1))",
	[ST_SET_COMPACT_REV] = "INSERT OR REPLACE INTO meta (k, v)"
			       " VALUES ('compact_rev', ?1)",
};

/* Upper bound used when a prefix has none (empty prefix): keys must not
 * start with byte 0xff, which /registry/... keys never do. */
static const char no_end[] = "\xff\xff\xff\xff";

#define WATCH_BATCH 256
#define READER_MAX 4

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	struct sq_conn *next;
};

struct sq_watch;

struct sq_store {
	struct store base;
	char *path;

	pthread_mutex_t wmu;            /* the writer connection */
	struct sq_conn *writer;

	pthread_mutex_t pmu;            /* reader pool */
	pthread_cond_t pcond;
	struct sq_conn *free_readers;
	int n_readers;

	/* Commit notification for watches: head is the newest committed
	 * revision this process knows of. */
	pthread_mutex_t nmu;
	pthread_cond_t ncond;
	int64_t head;

	/* Registered watches; also serialises compaction against watch
	 * start so a watch never starts below the compacted history. */
	pthread_mutex_t lmu;
	struct sq_watch *watches;
};

struct sq_watch {
	struct store_watch base;
	struct sq_store *s;
	struct sq_conn *conn;
	char *prefix;
	char *end;
	int64_t last;                   /* guarded by s->lmu */
	store_watch_cb cb;
	void *arg;
	pthread_t thread;
	bool stop;                      /* guarded by s->nmu */
	struct sq_watch *next;
};

static const struct store_ops sq_ops;

static int sq_fail(struct gerr *err, sqlite3 *db, const char *what)
{
	int rc = sqlite3_errcode(db);
	int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? -EBUSY : -EIO;

	return gerr_set(err, code, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

/* ---- connections ---- */

static void conn_close(struct sq_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

static int conn_open(const char *path, bool init, int cache_kib,
		     struct sq_conn **out, struct gerr *err)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	char pragma[128];
	int ret = 0;

	if (!c)
		return gerr_set(err, -ENOMEM, "sqlite: out of memory");
	/* NOMUTEX: each connection is used by one thread at a time (the
	 * writer mutex, the reader pool, or a watch thread owns it). */
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) {
		ret = gerr_set(err, -EIO, "sqlite: open %s: %s", path,
			       c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(c->db, 5000);
	snprintf(pragma, sizeof(pragma),
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		 " PRAGMA cache_size=-%d;", cache_kib);
	if (sqlite3_exec(c->db, pragma, NULL, NULL, NULL)) {
		ret = sq_fail(err, c->db, "pragmas");
		goto out;
	}
	if (init && sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL)) {
		ret = sq_fail(err, c->db, "schema");
		goto out;
	}
	for (int i = 0; i < ST_N; i++) {
		if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &c->st[i],
				       NULL)) {
			ret = sq_fail(err, c->db, "prepare");
			goto out;
		}
	}
out:
	if (ret) {
		conn_close(c);
		c = NULL;
	}
	*out = c;
	return ret;
}

static struct sq_conn *reader_get(struct sq_store *s, struct gerr *err)
{
	struct sq_conn *c = NULL;

	pthread_mutex_lock(&s->pmu);
	while (!s->free_readers && s->n_readers >= READER_MAX)
		pthread_cond_wait(&s->pcond, &s->pmu);
	if (s->free_readers) {
		c = s->free_readers;
		s->free_readers = c->next;
	} else {
		s->n_readers++;
	}
	pthread_mutex_unlock(&s->pmu);
	if (c)
		return c;
	/* Readers are opened lazily so a mostly idle server holds one. */
	if (conn_open(s->path, false, 1024, &c, err)) {
		pthread_mutex_lock(&s->pmu);
		s->n_readers--;
		pthread_cond_signal(&s->pcond);
		pthread_mutex_unlock(&s->pmu);
		return NULL;
	}
	return c;
}

static void reader_put(struct sq_store *s, struct sq_conn *c)
{
	pthread_mutex_lock(&s->pmu);
	c->next = s->free_readers;
	s->free_readers = c;
	pthread_cond_signal(&s->pcond);
	pthread_mutex_unlock(&s->pmu);
}

/* Runs a statement that returns no rows (BEGIN/COMMIT/...) and resets it. */
static int st_exec(struct sq_conn *c, int i, struct gerr *err)
{
	int rc = sqlite3_step(c->st[i]);

	sqlite3_reset(c->st[i]);
	if (rc != SQLITE_DONE)
		return sq_fail(err, c->db, stmt_sql[i]);
	return 0;
}

/* Reads a single integer column (0 when there is no row). */
static int st_int(struct sq_conn *c, int i, int64_t *v, struct gerr *err)
{
	int rc = sqlite3_step(c->st[i]);

	*v = 0;
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(c->st[i], 0);
	sqlite3_reset(c->st[i]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(err, c->db, stmt_sql[i]);
	return 0;
}

/* ---- writes ---- */

struct latest {
	bool live;                      /* a row exists and is not a tombstone */
	int64_t id, create_rev;
};

/* The newest row of key. With want_val, copies its value into prev. */
static int latest_row(struct sq_conn *c, const char *key, struct latest *l,
		      struct store_kv *prev, struct gerr *err)
{
	sqlite3_stmt *st = c->st[ST_LATEST];
	int rc, ret = 0;

	memset(l, 0, sizeof(*l));
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		l->id = sqlite3_column_int64(st, 0);
		l->live = !sqlite3_column_int(st, 1);
		l->create_rev = sqlite3_column_int64(st, 2);
		if (prev && l->live)
			ret = store_kv_set(prev, key, strlen(key),
					   sqlite3_column_blob(st, 3),
					   sqlite3_column_bytes(st, 3),
					   l->create_rev, l->id);
		if (ret)
			gerr_set(err, ret, "sqlite: out of memory");
	} else if (rc != SQLITE_DONE) {
		ret = sq_fail(err, c->db, "read key");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static int insert_row(struct sq_conn *c, int64_t id, const char *key,
		      bool created, bool deleted, int64_t create_rev,
		      int64_t prev_rev, const void *val, size_t len,
		      struct gerr *err)
{
	sqlite3_stmt *st = c->st[ST_INSERT];
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, created);
	sqlite3_bind_int(st, 4, deleted);
	sqlite3_bind_int64(st, 5, create_rev);
	sqlite3_bind_int64(st, 6, prev_rev);
	sqlite3_bind_blob64(st, 7, val, len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail(err, c->db, "insert");
	return 0;
}

enum wop { OP_CREATE, OP_UPDATE, OP_DELETE };

static void notify_commit(struct sq_store *s, int64_t rev)
{
	pthread_mutex_lock(&s->nmu);
	if (rev > s->head)
		s->head = rev;
	pthread_cond_broadcast(&s->ncond);
	pthread_mutex_unlock(&s->nmu);
}

/* One write transaction: the existence/revision check and the append happen
 * under BEGIN IMMEDIATE so no other writer (thread or process) can slip in
 * between (conflict detection). */
static int sq_write(struct sq_store *s, enum wop op, const char *key,
		    const char *val, size_t len, int64_t expected_rev,
		    int64_t *rev_out, struct store_kv *prev, struct gerr *err)
{
	struct sq_conn *c;
	struct latest l;
	int64_t seq, rev = 0;
	int ret;

	pthread_mutex_lock(&s->wmu);
	c = s->writer;
	ret = st_exec(c, ST_BEGIN_W, err);
	if (ret)
		goto unlock;
	ret = latest_row(c, key, &l, op == OP_DELETE ? prev : NULL, err);
	if (ret)
		goto rollback;
	if (op == OP_CREATE && l.live) {
		ret = gerr_set(err, -EEXIST, "%s already exists", key);
		goto rollback;
	}
	if (op != OP_CREATE && !l.live) {
		ret = gerr_set(err, -ENOENT, "%s not found", key);
		goto rollback;
	}
	if (op != OP_CREATE && expected_rev && expected_rev != l.id) {
		ret = gerr_set(err, -ECANCELED,
			       "%s: revision is %lld, expected %lld", key,
			       (long long)l.id, (long long)expected_rev);
		goto rollback;
	}
	ret = st_int(c, ST_SEQ, &seq, err);
	if (ret)
		goto rollback;
	rev = seq + 1;
	if (op == OP_DELETE)
		/* The tombstone keeps the last value so a watch's DELETE
		 * event can carry it. */
		ret = insert_row(c, rev, key, false, true, l.create_rev, l.id,
				 prev ? prev->value : NULL, prev ? prev->len : 0,
				 err);
	else
		ret = insert_row(c, rev, key, op == OP_CREATE, false,
				 op == OP_CREATE ? rev : l.create_rev, l.id,
				 val, len, err);
	if (ret)
		goto rollback;
	ret = st_exec(c, ST_COMMIT, err);
	if (ret)
		goto rollback;
	pthread_mutex_unlock(&s->wmu);
	notify_commit(s, rev);
	if (rev_out)
		*rev_out = rev;
	return 0;
rollback:
	st_exec(c, ST_ROLLBACK, NULL);
unlock:
	pthread_mutex_unlock(&s->wmu);
	if (prev)
		store_kv_free(prev);
	return ret;
}

static int sq_create(struct store *st, const char *key, const char *val,
		     size_t len, int64_t *rev_out, struct gerr *err)
{
	return sq_write((struct sq_store *)st, OP_CREATE, key, val, len, 0,
			rev_out, NULL, err);
}

static int sq_update(struct store *st, const char *key, const char *val,
		     size_t len, int64_t expected_rev, int64_t *rev_out,
		     struct gerr *err)
{
	return sq_write((struct sq_store *)st, OP_UPDATE, key, val, len,
			expected_rev, rev_out, NULL, err);
}

static int sq_delete(struct store *st, const char *key, int64_t expected_rev,
		     int64_t *rev_out, struct store_kv *prev, struct gerr *err)
{
	struct store_kv tmp = { 0 };
	int ret;

	/* The tombstone needs the last value even if the caller does not. */
	ret = sq_write((struct sq_store *)st, OP_DELETE, key, NULL, 0,
		       expected_rev, rev_out, prev ? prev : &tmp, err);
	store_kv_free(&tmp);
	return ret;
}

/* ---- reads ---- */

static int sq_revision(struct store *st, int64_t *rev, struct gerr *err)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_conn *c = reader_get(s, err);
	int ret;

	if (!c)
		return err ? err->code : -EIO;
	ret = st_int(c, ST_SEQ, rev, err);
	reader_put(s, c);
	return ret;
}

static int sq_get(struct store *st, const char *key, struct store_kv *out,
		  struct gerr *err)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_conn *c = reader_get(s, err);
	struct latest l;
	int ret;

	if (!c)
		return err ? err->code : -EIO;
	ret = latest_row(c, key, &l, out, err);
	reader_put(s, c);
	if (!ret && !l.live)
		ret = gerr_set(err, -ENOENT, "%s not found", key);
	return ret;
}

struct list_ctx {
	struct sq_conn *c;
	struct store_list *out;
	const char *start_after;
	size_t limit, cap;
	bool done;
};

/* Adds the newest row (id) of key name to the list unless it is a
 * tombstone or start_after itself; notices when the limit is exceeded. */
static int list_emit(struct list_ctx *lc, const char *name, size_t nlen,
		     int64_t id, struct gerr *err)
{
	sqlite3_stmt *q = lc->c->st[ST_ROW];
	struct store_list *out = lc->out;
	int rc, ret = 0;

	if (lc->start_after && !strcmp(name, lc->start_after))
		return 0;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		ret = sq_fail(err, lc->c->db, "list row");
		goto out;
	}
	if (sqlite3_column_int(q, 0))
		goto out;               /* deleted */
	if (lc->limit && out->n == lc->limit) {
		out->more = 1;
		lc->done = true;
		goto out;
	}
	ret = store_list_reserve(out, &lc->cap);
	if (!ret)
		ret = store_kv_set(&out->items[out->n], name, nlen,
				   sqlite3_column_blob(q, 2),
				   sqlite3_column_bytes(q, 2),
				   sqlite3_column_int64(q, 1), id);
	if (ret)
		gerr_set(err, ret, "sqlite: out of memory");
	else
		out->n++;
out:
	sqlite3_reset(q);
	return ret;
}

static int sq_list(struct store *st, const char *prefix,
		   const char *start_after, size_t limit, int64_t at,
		   struct store_list *out, struct gerr *err)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_conn *c = reader_get(s, err);
	struct list_ctx lc = { .out = out, .start_after = start_after,
			       .limit = limit };
	sqlite3_stmt *q;
	const char *lower = prefix;
	char *end = NULL, *prev = NULL;
	size_t plen = 0, pcap = 0;
	int64_t prev_id = 0, compact_rev;
	int rc, ret;

	if (!c)
		return err ? err->code : -EIO;
	lc.c = c;
	q = c->st[ST_LIST];
	end = store_prefix_end(prefix, NULL);
	/* Start the index range at start_after when it is inside the prefix
	 * range; list_emit() then skips start_after itself. */
	if (start_after && strcmp(start_after, prefix) > 0)
		lower = start_after;
	/* One read transaction: the revision and the rows come from the same
	 * snapshot, so the list is consistent with out->rev. */
	ret = st_exec(c, ST_BEGIN_R, err);
	if (ret)
		goto out;
	ret = st_int(c, ST_SEQ, &out->rev, err);
	if (!ret && at)
		ret = st_int(c, ST_COMPACT_REV, &compact_rev, err);
	if (ret)
		goto rollback;
	if (at && at > out->rev) {
		ret = gerr_set(err, -EINVAL, "list at %lld: newer than revision %lld",
			       (long long)at, (long long)out->rev);
		goto rollback;
	}
	/* Compaction keeps the whole state at compact_rev and later. */
	if (at && at < compact_rev) {
		ret = gerr_set(err, -ERANGE, "list at %lld: compacted up to %lld",
			       (long long)at, (long long)compact_rev);
		goto rollback;
	}
	if (at)
		out->rev = at;
	sqlite3_bind_text(q, 1, lower, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, end ? end : no_end, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, out->rev);
	/* Rows come as (name, id) ascending: a name's newest row is the last
	 * of its run, known once the name changes. */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		size_t nlen = sqlite3_column_bytes(q, 0);

		if (prev && (nlen != plen || memcmp(name, prev, nlen))) {
			ret = list_emit(&lc, prev, plen, prev_id, err);
			if (ret || lc.done)
				break;
		}
		if (nlen + 1 > pcap) {
			char *np = realloc(prev, nlen + 64);

			if (!np) {
				ret = gerr_set(err, -ENOMEM, "sqlite: out of memory");
				break;
			}
			prev = np;
			pcap = nlen + 64;
		}
		memcpy(prev, name, nlen);
		prev[nlen] = '\0';
		plen = nlen;
		prev_id = sqlite3_column_int64(q, 1);
	}
	if (!ret && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sq_fail(err, c->db, "list");
	else if (!ret && rc == SQLITE_DONE && prev)
		ret = list_emit(&lc, prev, plen, prev_id, err);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (!ret)
		ret = st_exec(c, ST_COMMIT, err);
rollback:
	if (ret)
		st_exec(c, ST_ROLLBACK, NULL);
out:
	reader_put(s, c);
	free(prev);
	free(end);
	if (ret)
		store_list_free(out);
	return ret;
}

/* ---- compaction ---- */

static int sq_compact(struct store *st, int64_t rev, struct gerr *err)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_conn *c;
	int64_t cur, old;
	int ret;

	pthread_mutex_lock(&s->lmu);
	/* Never compact past a running watch's position: it still has to
	 * read those rows to deliver every event exactly once. */
	for (struct sq_watch *w = s->watches; w; w = w->next)
		if (w->last < rev)
			rev = w->last;
	pthread_mutex_lock(&s->wmu);
	c = s->writer;
	ret = st_exec(c, ST_BEGIN_W, err);
	if (ret)
		goto unlock;
	ret = st_int(c, ST_SEQ, &cur, err);
	if (!ret)
		ret = st_int(c, ST_COMPACT_REV, &old, err);
	if (ret)
		goto rollback;
	if (rev > cur) {
		ret = gerr_set(err, -EINVAL,
			       "compact %lld: newer than revision %lld",
			       (long long)rev, (long long)cur);
		goto rollback;
	}
	if (rev <= old) {
		/* Already compacted that far: nothing to do. */
		st_exec(c, ST_ROLLBACK, NULL);
		goto unlock;
	}
	sqlite3_bind_int64(c->st[ST_COMPACT], 1, rev);
	ret = st_exec(c, ST_COMPACT, err);
	sqlite3_clear_bindings(c->st[ST_COMPACT]);
	if (ret)
		goto rollback;
	sqlite3_bind_int64(c->st[ST_SET_COMPACT_REV], 1, rev);
	ret = st_exec(c, ST_SET_COMPACT_REV, err);
	if (!ret)
		ret = st_exec(c, ST_COMMIT, err);
	if (!ret)
		goto unlock;
rollback:
	st_exec(c, ST_ROLLBACK, NULL);
unlock:
	pthread_mutex_unlock(&s->wmu);
	pthread_mutex_unlock(&s->lmu);
	return ret;
}

/* ---- watch ---- */

/* Reads the next batch of matching rows after w->last, up to the snapshot's
 * head revision. Sets *upto to the revision the watch has now seen (all
 * rows up to it either matched and are in evs, or did not match). */
static int watch_fetch(struct sq_watch *w, struct store_event *evs, size_t *n,
		       int64_t *upto, struct gerr *err)
{
	struct sq_conn *c = w->conn;
	sqlite3_stmt *q = c->st[ST_WATCH];
	int64_t head, last = w->last;
	int rc, ret;

	*n = 0;
	ret = st_exec(c, ST_BEGIN_R, err);
	if (ret)
		return ret;
	ret = st_int(c, ST_SEQ, &head, err);
	if (ret || head <= last) {
		*upto = last;
		goto out;
	}
	sqlite3_bind_int64(q, 1, last);
	sqlite3_bind_int64(q, 2, head);
	sqlite3_bind_text(q, 3, w->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, w->end ? w->end : no_end, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, WATCH_BATCH);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_event *ev = &evs[*n];

		ev->rev = sqlite3_column_int64(q, 0);
		ev->type = sqlite3_column_int(q, 3) ? STORE_EV_DELETE :
			   sqlite3_column_int(q, 2) ? STORE_EV_CREATE :
			   STORE_EV_UPDATE;
		ret = store_kv_set(&ev->kv, (const char *)sqlite3_column_text(q, 1),
				   sqlite3_column_bytes(q, 1),
				   sqlite3_column_blob(q, 5),
				   sqlite3_column_bytes(q, 5),
				   sqlite3_column_int64(q, 4), ev->rev);
		if (ret) {
			gerr_set(err, ret, "sqlite: out of memory");
			break;
		}
		(*n)++;
	}
	if (!ret && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sq_fail(err, c->db, "watch");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	/* A full batch may have more behind it; otherwise every row up to
	 * head has been looked at. */
	*upto = *n == WATCH_BATCH ? evs[*n - 1].rev : head;
out:
	st_exec(c, ret ? ST_ROLLBACK : ST_COMMIT, NULL);
	return ret;
}

static void *watch_thread(void *arg)
{
	struct sq_watch *w = arg;
	struct sq_store *s = w->s;
	struct store_event *evs = calloc(WATCH_BATCH, sizeof(*evs));
	bool stopped = false;

	if (!evs) {
		pr_err("store watch %s: out of memory", w->prefix);
		return NULL;
	}
	while (!stopped) {
		struct gerr err = { 0 };
		int64_t upto;
		size_t n = 0;
		struct timespec ts;

		if (watch_fetch(w, evs, &n, &upto, &err)) {
			pr_err("store watch %s: %s", w->prefix, err.msg);
			/* Transient (busy); retry after the wait below. */
			upto = w->last;
		}
		for (size_t i = 0; i < n; i++) {
			if (!stopped && w->cb(&evs[i], w->arg))
				stopped = true;
			store_kv_free(&evs[i].kv);
		}
		pthread_mutex_lock(&s->lmu);
		w->last = upto;
		pthread_mutex_unlock(&s->lmu);
		if (n == WATCH_BATCH && !stopped)
			continue;
		pthread_mutex_lock(&s->nmu);
		if (!w->stop && s->head <= upto) {
			/* Also wake up now and then: another process may write
			 * the same database file. */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 500 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->ncond, &s->nmu, &ts);
		}
		if (w->stop)
			stopped = true;
		pthread_mutex_unlock(&s->nmu);
	}
	free(evs);
	/* Leave the compaction clamp now, not at stop time: a watch stopped
	 * by its callback must not hold back compaction. */
	pthread_mutex_lock(&s->lmu);
	for (struct sq_watch **p = &s->watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lmu);
	return NULL;
}

static void watch_free(struct sq_watch *w)
{
	conn_close(w->conn);
	free(w->prefix);
	free(w->end);
	free(w);
}

static int sq_watch_start(struct store *st, const char *prefix,
			  int64_t after_rev, store_watch_cb cb, void *arg,
			  struct store_watch **out, struct gerr *err)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_watch *w = calloc(1, sizeof(*w));
	int64_t compact_rev;
	int ret;

	if (!w)
		return gerr_set(err, -ENOMEM, "sqlite: out of memory");
	w->base.ops = &sq_ops;
	w->s = s;
	w->cb = cb;
	w->arg = arg;
	w->last = after_rev;
	w->prefix = strdup(prefix);
	w->end = store_prefix_end(prefix, NULL);
	if (!w->prefix || (*prefix && !w->end &&
			   (unsigned char)prefix[0] != 0xff)) {
		ret = gerr_set(err, -ENOMEM, "sqlite: out of memory");
		goto out;
	}
	/* Its own connection: WAL readers never block the writer. */
	ret = conn_open(s->path, false, 512, &w->conn, err);
	if (ret)
		goto out;
	pthread_mutex_lock(&s->lmu);
	ret = st_int(w->conn, ST_COMPACT_REV, &compact_rev, err);
	if (!ret && after_rev < compact_rev)
		ret = gerr_set(err, -ERANGE,
			       "watch from revision %lld: compacted up to %lld",
			       (long long)after_rev, (long long)compact_rev);
	if (!ret) {
		w->next = s->watches;
		s->watches = w;
		ret = -pthread_create(&w->thread, NULL, watch_thread, w);
		if (ret) {
			s->watches = w->next;
			gerr_set(err, ret, "watch: cannot start thread");
		}
	}
	pthread_mutex_unlock(&s->lmu);
out:
	if (ret)
		watch_free(w);
	else
		*out = &w->base;
	return ret;
}

static void sq_watch_stop(struct store_watch *base)
{
	struct sq_watch *w = (struct sq_watch *)base;
	struct sq_store *s = w->s;

	pthread_mutex_lock(&s->nmu);
	w->stop = true;
	pthread_cond_broadcast(&s->ncond);
	pthread_mutex_unlock(&s->nmu);
	pthread_join(w->thread, NULL);
	watch_free(w);
}

/* ---- open / close ---- */

static void sq_close(struct store *st)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_conn *c;

	if (s->watches)
		pr_warn("store: closing with watches still running");
	while ((c = s->free_readers)) {
		s->free_readers = c->next;
		conn_close(c);
	}
	conn_close(s->writer);
	pthread_mutex_destroy(&s->wmu);
	pthread_mutex_destroy(&s->pmu);
	pthread_cond_destroy(&s->pcond);
	pthread_mutex_destroy(&s->nmu);
	pthread_cond_destroy(&s->ncond);
	pthread_mutex_destroy(&s->lmu);
	free(s->path);
	free(s);
}

int store_sqlite_open(const char *path, struct store **out, struct gerr *err)
{
	struct sq_store *s;
	int ret;

	if (!*path)
		return gerr_set(err, -EINVAL, "sqlite: empty path");
	s = calloc(1, sizeof(*s));
	if (!s)
		return gerr_set(err, -ENOMEM, "sqlite: out of memory");
	s->base.ops = &sq_ops;
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->pmu, NULL);
	pthread_cond_init(&s->pcond, NULL);
	pthread_mutex_init(&s->nmu, NULL);
	pthread_cond_init(&s->ncond, NULL);
	pthread_mutex_init(&s->lmu, NULL);
	s->path = strdup(path);
	if (!s->path) {
		ret = gerr_set(err, -ENOMEM, "sqlite: out of memory");
		goto out;
	}
	ret = conn_open(path, true, 4096, &s->writer, err);
	if (ret)
		goto out;
	ret = st_int(s->writer, ST_SEQ, &s->head, err);
out:
	if (ret) {
		sq_close(&s->base);
		s = NULL;
	}
	*out = s ? &s->base : NULL;
	return ret;
}

static const struct store_ops sq_ops = {
	.name = "sqlite",
	.revision = sq_revision,
	.create = sq_create,
	.update = sq_update,
	.del = sq_delete,
	.get = sq_get,
	.list = sq_list,
	.watch_start = sq_watch_start,
	.watch_stop = sq_watch_stop,
	.compact = sq_compact,
	.close = sq_close,
};
