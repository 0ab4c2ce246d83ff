/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl's pure output helpers: aligned text tables, kubectl-style ages,
 * per-kind column printers (pods, deployments, services, nodes, ...), and
 * the JSON manipulations apply needs (three-way merge). No I/O besides
 * writing to a FILE *, no network: unit-tested in tests/unit/ctl_test.c. */
#ifndef GANNET_CTL_TABLE_H
#define GANNET_CTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#define TABLE_MAX_COLS 16

/* ---- aligned table ---------------------------------------------------- */
struct table {
	size_t ncols, nrows, cap;
	char **cells;             /* nrows * ncols, row-major; row 0 = header */
	size_t width[TABLE_MAX_COLS];
};

int table_init(struct table *t, size_t ncols, const char *const *header);
/* cells: ncols strings (NULL prints as ""). Copied. */
int table_add_row(struct table *t, const char *const *cells);
/* Columns separated by three spaces, last column not padded (kubectl's
 * tabwriter settings). header=false skips row 0. */
void table_print(const struct table *t, FILE *f, bool header);
/* Print one row with the widths computed so far (for watch output). */
void table_print_row(struct table *t, FILE *f, const char *const *cells);
void table_free(struct table *t);

/* ---- times ------------------------------------------------------------ */
/* kubectl's HumanDuration: 45s, 3m20s, 15m, 5h30m, 3d4h, 400d, 2y10d. */
void fmt_duration(long long seconds, char *buf, size_t len);
/* RFC 3339 "2026-11-22T21:58:00Z" (fractions and offsets accepted) ->
 * epoch seconds; -1 if unparsable. */
time_t parse_rfc3339(const char *s);
/* Age of an object from metadata.creationTimestamp; "<unknown>" if none. */
void fmt_age(const json_t *obj, time_t now, char *buf, size_t len);

/* ---- per-kind columns ------------------------------------------------- */
#define ROW_MAX TABLE_MAX_COLS
struct row {
	size_t n;
	char *cells[ROW_MAX];
};
void row_free(struct row *r);

/* Column names for kind (NAME first). wide adds the -o wide columns. */
size_t printer_header(const char *kind, bool wide, const char **hdr, size_t max);
/* Cells for one object, matching printer_header(kind, wide). */
int printer_row(const char *kind, const json_t *obj, bool wide, time_t now,
		struct row *row);

/* "a=b,c=d" from a string map; "<none>" if empty or missing. */
void fmt_labels(const json_t *map, char *buf, size_t len);

/* ---- JSON helpers for apply ------------------------------------------- */
/* Returns a new object: live with every field of the manifest (cur) set,
 * fields that were in the last applied manifest (old, may be NULL) but are
 * gone from cur removed, and lists taken from cur unless unchanged since
 * old and already contained in live (so server-filled defaults inside
 * list elements, e.g. containers, do not count as a change). */
json_t *ctl_merge3(const json_t *live, const json_t *old, const json_t *cur);
/* true if every field of a is present and equal in b (recursively). */
bool ctl_json_subset(const json_t *a, const json_t *b);
/* A Secret's stringData folded into data (base64), as the server stores
 * it, so that comparing a merge result with the live object does not see
 * the write-only stringData as a change. No-op for other objects. */
void ctl_secret_fold_string_data(json_t *obj);
/* Lookup by dotted path, e.g. "metadata.name". */
const json_t *ctl_jpath(const json_t *o, const char *path);
const char *ctl_jpath_str(const json_t *o, const char *path);

#endif
