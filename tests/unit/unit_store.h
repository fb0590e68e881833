/* unit_store.h — for unit tests of the store: store_count(s, sql), the one integer a query
 * returns (-1 when it returns no row), read on the store's own connection. Include after
 * unit.h (CHECK_INT). */
#ifndef ELOG_UNIT_STORE_H
#define ELOG_UNIT_STORE_H

#include <sqlite3.h>
#include <stdint.h>
#include "store/store.h"

static inline int64_t store_count(struct elog_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
