/*
 * redact_stream.c — the redactor's stream state: which (component, source) streams are inside
 * a private key block that began in an earlier record.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <arpa/inet.h>
#include <yajl/yajl_tree.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/redact_internal.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

/* ---- streams: private key blocks across records ----------------------------------------- */

struct pem_stream {
	char *component, *source;
	uint64_t touch;
	struct pem_stream *next;
};

struct elog_redact_streams {
	pthread_mutex_t mu;
	_Atomic size_t n;
	struct pem_stream *list;
	uint64_t clock;
};

struct elog_redact_streams *elog_redact_streams_new(void)
{
	struct elog_redact_streams *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->mu, NULL);
	return st;
}

void elog_redact_streams_free(struct elog_redact_streams *st)
{
	struct pem_stream *p, *nx;

	if (!st)
		return;
	for (p = st->list; p; p = nx) {
		nx = p->next;
		free(p->component);
		free(p->source);
		free(p);
	}
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* Under mu: the entry of (c, s), or NULL; *prevp its predecessor. */
static struct pem_stream *stream_find(struct elog_redact_streams *st, const char *c,
				      const char *s, struct pem_stream ***link)
{
	struct pem_stream **pp;

	for (pp = &st->list; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->component, c) == 0 && strcmp((*pp)->source, s) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int redact__stream_in_block(struct elog_redact_streams *st, const char *c, const char *s)
{
	int in;

	if (!st || !c || atomic_load(&st->n) == 0)
		return 0;
	pthread_mutex_lock(&st->mu);
	in = stream_find(st, c, s, NULL) != NULL;
	pthread_mutex_unlock(&st->mu);
	return in;
}

void redact__stream_set(struct elog_redact_streams *st, const char *c, const char *s, int in)
{
	struct pem_stream **link = NULL, *p;

	if (!st || !c)
		return;
	pthread_mutex_lock(&st->mu);
	p = stream_find(st, c, s, &link);
	if (in && !p) {
		if (atomic_load(&st->n) >= ELOG_REDACT_MAX_STREAMS) {   /* forget the oldest */
			struct pem_stream **pp, **old = NULL;

			for (pp = &st->list; *pp; pp = &(*pp)->next)
				if (!old || (*pp)->touch < (*old)->touch)
					old = pp;
			p = *old;
			*old = p->next;
			free(p->component);
			free(p->source);
			free(p);
			atomic_fetch_sub(&st->n, 1);
		}
		p = xcalloc(1, sizeof(*p));
		p->component = xstrdup(c);
		p->source = xstrdup(s);
		p->next = st->list;
		st->list = p;
		atomic_fetch_add(&st->n, 1);
	} else if (!in && p) {
		*link = p->next;
		free(p->component);
		free(p->source);
		free(p);
		atomic_fetch_sub(&st->n, 1);
		p = NULL;
	}
	if (p)
		p->touch = ++st->clock;
	pthread_mutex_unlock(&st->mu);
}
