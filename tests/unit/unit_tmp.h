/*
 * unit_tmp.h — a scratch directory for a unit test that writes files (the store's tests):
 * tmp_setup() makes a fresh /tmp/elog_unit.XXXXXX (exit 2 if it cannot), tmp_path(name) names
 * a file in it (one of four static buffers, so a few can be live at once), tmp_cleanup()
 * removes it with everything in it. The including file defines _XOPEN_SOURCE 700 (nftw) first.
 */
#ifndef ELOG_UNIT_TMP_H
#define ELOG_UNIT_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmpdir[256];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/elog_unit.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(2);
	}
}

static int tmp_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void tmp_cleanup(void)
{
	nftw(tmpdir, tmp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_path(const char *name)
{
	static char bufs[4][512];
	static int next;
	char *buf = bufs[next++ % 4];

	snprintf(buf, sizeof(bufs[0]), "%s/%s", tmpdir, name);
	return buf;
}

#endif
