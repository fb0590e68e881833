/*
 * otlphttp.c — OTLP/HTTP on the --http listener: POST /v1/logs and /v1/traces with
 * application/x-protobuf or application/json (OTLP/JSON), optionally gzip-compressed.
 *
 * http.c collects the body (at most ELOG_OTLP_HTTP_MAX_BODY bytes, else 413; other content
 * types 415) and starts this worker, so nothing here runs on libwebsockets' service thread.
 * A JSON body is decoded into the same protobuf-c request the gRPC services unpack (a small
 * descriptor-driven decoder: lowerCamelCase or original field names, trace and span ids as
 * hex, other bytes as base64, 64-bit integers as strings or numbers, enums as numbers or
 * names, unknown fields ignored), packed, and from there both encodings take one path: the
 * mapping and the commit of svc_otlp.c (server/convert.h). The answer (200 with an
 * Export*ServiceResponse, partial_success when records were refused) is sent only after the
 * commit, in the request's encoding; an undecodable body gets 400 with a google.rpc.Status.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "common/util.h"
#include "web/webint.h"
#include "common/err.h"
#include "common/json.h"
#include "server/convert.h"

/* google.rpc.Code values (those of rpc/rpc.h, which web/ does not include): the
 * google.rpc.Status of a refused request, and elog_otlp_commit's answer */
#define CODE_OK 0
#define CODE_INVALID_ARGUMENT 3
#define CODE_RESOURCE_EXHAUSTED 8

/* ---- gzip ---------------------------------------------------------------------------- */

/* Inflates (gzip) in[0..n) into out; 0, 1 when over max bytes, -1 when not gzip. */
static int gunzip(const char *in, size_t n, struct elog_buf *out, size_t max)
{
	z_stream z;
	char buf[65536];
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = (Bytef *)buf;
		z.avail_out = sizeof(buf);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			inflateEnd(&z);
			return -1;
		}
		elog_buf_add(out, buf, sizeof(buf) - z.avail_out);
		if (out->len > max) {
			inflateEnd(&z);
			return 1;
		}
		if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
			inflateEnd(&z);   /* truncated */
			return -1;
		}
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
	return 0;
}

/* ---- OTLP/JSON -> protobuf-c ------------------------------------------------------------- */

static size_t elt_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* Frees what jd_message allocated in m (not m). */
static void jd_free_fields(const ProtobufCMessageDescriptor *d, void *m)
{
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *at = (char *)m + f->offset;

		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)(void *)((char *)m + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(void *)((char *)m + f->quantifier_offset);
			void *arr = *(void **)(void *)at;

			for (size_t k = 0; k < n; k++) {
				if (f->type == PROTOBUF_C_TYPE_STRING)
					free(((char **)arr)[k]);
				else if (f->type == PROTOBUF_C_TYPE_BYTES)
					free(((ProtobufCBinaryData *)arr)[k].data);
				else if (f->type == PROTOBUF_C_TYPE_MESSAGE && ((void **)arr)[k]) {
					jd_free_fields(f->descriptor, ((void **)arr)[k]);
					free(((void **)arr)[k]);
				}
			}
			free(arr);
		} else if (f->type == PROTOBUF_C_TYPE_STRING) {
			char *s = *(char **)(void *)at;

			if (s && s != protobuf_c_empty_string && s != f->default_value)
				free(s);
		} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
			ProtobufCBinaryData *b = (ProtobufCBinaryData *)(void *)at;
			const ProtobufCBinaryData *def = f->default_value;

			if (b->data && (!def || b->data != def->data))
				free(b->data);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			void *sub = *(void **)(void *)at;

			if (sub) {
				jd_free_fields(f->descriptor, sub);
				free(sub);
			}
		}
	}
}

/* Decodes s (hex when hex, else base64, padding optional) into out. 0, or -1. */
static int jd_bytes(const char *s, int hex, ProtobufCBinaryData *out)
{
	size_t n = strlen(s), o = 0;
	uint8_t *p = xmalloc(n + 1);

	if (hex) {
		if (n % 2)
			goto bad;
		for (size_t i = 0; i < n; i += 2) {
			int a = elog_hex_digit(s[i]), b = elog_hex_digit(s[i + 1]);

			if (a < 0 || b < 0)
				goto bad;
			p[o++] = (uint8_t)(a * 16 + b);
		}
	} else {
		uint32_t acc = 0;
		int bits = 0;

		for (size_t i = 0; i < n; i++) {
			int v;

			if (s[i] == '=')
				break;
			if ((v = elog_base64_digit((unsigned char)s[i])) < 0)
				goto bad;
			acc = acc << 6 | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				p[o++] = (uint8_t)(acc >> bits);
			}
		}
	}
	out->data = p;
	out->len = o;
	return 0;
bad:
	free(p);
	return -1;
}

/* A number given as a JSON number or a string: 0 with *i (integral) or *d. */
static int jd_num(yajl_val v, int integral, int unsigned_, int64_t *i, uint64_t *u, double *d)
{
	const char *s;
	char *end;

	if (YAJL_IS_STRING(v))
		s = v->u.string;
	else if (YAJL_IS_NUMBER(v))
		s = v->u.number.r;
	else
		return -1;
	if (!s || !*s)
		return -1;
	errno = 0;
	if (!integral) {
		if (strcmp(s, "NaN") == 0)
			*d = NAN;
		else if (strcmp(s, "Infinity") == 0)
			*d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			*d = -INFINITY;
		else {
			*d = strtod(s, &end);
			if (*end || errno)
				return -1;
		}
		return 0;
	}
	if (unsigned_) {
		if (*s == '-')
			return -1;
		*u = strtoull(s, &end, 10);
	} else {
		*i = strtoll(s, &end, 10);
	}
	if (*end == '.' || *end == 'e' || *end == 'E') {   /* 1e3, 5.0: integral doubles */
		double x = strtod(s, &end);

		if (*end || x != floor(x) || fabs(x) > 9.2e18)
			return -1;
		if (unsigned_) {
			if (x < 0)
				return -1;
			*u = (uint64_t)x;
		} else {
			*i = (int64_t)x;
		}
		return 0;
	}
	return *end || errno ? -1 : 0;
}

/* The field of d the JSON key names: lowerCamelCase or the proto name. */
static const ProtobufCFieldDescriptor *jd_field(const ProtobufCMessageDescriptor *d,
						const char *key)
{
	for (unsigned i = 0; i < d->n_fields; i++) {
		const char *n = d->fields[i].name, *k = key;

		if (strcmp(n, key) == 0)
			return &d->fields[i];
		for (; *n && *k; n++, k++) {
			if (*n == '_' && n[1]) {
				n++;
				if (*k != (*n >= 'a' && *n <= 'z' ? *n - 32 : *n))
					break;
			} else if (*n != *k) {
				break;
			}
		}
		if (!*n && !*k)
			return &d->fields[i];
	}
	return NULL;
}

static int is_id_field(const char *name)
{
	return strcmp(name, "trace_id") == 0 || strcmp(name, "span_id") == 0 ||
	       strcmp(name, "parent_span_id") == 0;
}

static int jd_message(const ProtobufCMessageDescriptor *d, yajl_val v, void *m,
		      char *why, size_t whysz);

/* Decodes one value of field f into at (a singular slot or an array element). */
static int jd_value(const ProtobufCFieldDescriptor *f, yajl_val v, void *at, char *why,
		    size_t whysz)
{
	int64_t i = 0;
	uint64_t u = 0;
	double dd = 0;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		if (jd_num(v, 1, 0, &i, &u, &dd) || i < INT32_MIN || i > INT32_MAX)
			goto bad;
		*(int32_t *)at = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		if (jd_num(v, 1, 1, &i, &u, &dd) || u > UINT32_MAX)
			goto bad;
		*(uint32_t *)at = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		if (jd_num(v, 1, 0, &i, &u, &dd))
			goto bad;
		*(int64_t *)at = i;
		return 0;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		if (jd_num(v, 1, 1, &i, &u, &dd))
			goto bad;
		*(uint64_t *)at = u;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (jd_num(v, 0, 0, &i, &u, &dd))
			goto bad;
		*(float *)at = (float)dd;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (jd_num(v, 0, 0, &i, &u, &dd))
			goto bad;
		*(double *)at = dd;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
			goto bad;
		*(protobuf_c_boolean *)at = YAJL_IS_TRUE(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (YAJL_IS_STRING(v) && f->descriptor) {
			const ProtobufCEnumValue *ev =
				protobuf_c_enum_descriptor_get_value_by_name(f->descriptor,
									      v->u.string);
			if (!ev)
				goto bad;
			*(int *)at = ev->value;
			return 0;
		}
		if (jd_num(v, 1, 0, &i, &u, &dd) || i < INT32_MIN || i > INT32_MAX)
			goto bad;
		*(int *)at = (int)i;
		return 0;
	case PROTOBUF_C_TYPE_STRING:
		if (!YAJL_IS_STRING(v))
			goto bad;
		*(char **)at = xstrdup(v->u.string);
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		if (!YAJL_IS_STRING(v) ||
		    jd_bytes(v->u.string, is_id_field(f->name), (ProtobufCBinaryData *)at) != 0)
			goto bad;
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		void *sub;

		if (!YAJL_IS_OBJECT(v))
			goto bad;
		sub = xmalloc(sd->sizeof_message);
		sd->message_init(sub);
		*(void **)at = sub;   /* freed with the parent even when it fails below */
		return jd_message(sd, v, sub, why, whysz);
	}
	}
bad:
	if (!*why)
		snprintf(why, whysz, "field '%s': not a valid %s", f->name,
			 f->type == PROTOBUF_C_TYPE_BYTES ? (is_id_field(f->name) ?
			 "hex id" : "base64 string") : f->type == PROTOBUF_C_TYPE_MESSAGE ?
			 "object" : f->type == PROTOBUF_C_TYPE_STRING ? "string" : "value");
	return -1;
}

/* Fills m (initialized) from the JSON object v. 0, or -1 with why (m keeps what it got: the
 * caller frees it with jd_free_fields). */
static int jd_message(const ProtobufCMessageDescriptor *d, yajl_val v, void *m,
		      char *why, size_t whysz)
{
	for (size_t k = 0; k < v->u.object.len; k++) {
		const ProtobufCFieldDescriptor *f = jd_field(d, v->u.object.keys[k]);
		yajl_val fv = v->u.object.values[k];
		char *at;

		if (!f || YAJL_IS_NULL(fv))
			continue;   /* unknown fields are ignored (OTLP/JSON) */
		at = (char *)m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t *np = (size_t *)(void *)((char *)m + f->quantifier_offset);
			size_t es = elt_size(f->type), n;

			if (!YAJL_IS_ARRAY(fv)) {
				snprintf(why, whysz, "field '%s': not an array", f->name);
				return -1;
			}
			if (*np)
				continue;   /* given twice: the first is kept */
			n = fv->u.array.len;
			if (!n)
				continue;
			*(void **)(void *)at = xcalloc(n, es);
			for (size_t j = 0; j < n; j++) {
				int rc = jd_value(f, fv->u.array.values[j],
						  *(char **)(void *)at + j * es, why, whysz);

				*np = j + (f->type == PROTOBUF_C_TYPE_MESSAGE &&
					   (*(void ***)(void *)at)[j] ? 1 : rc == 0);
				if (rc)
					return -1;
			}
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *cs = (uint32_t *)(void *)((char *)m + f->quantifier_offset);

			if (*cs)
				continue;   /* one member of a oneof: the first */
			if (f->type == PROTOBUF_C_TYPE_STRING)
				*(char **)(void *)at = NULL;
			else if (f->type == PROTOBUF_C_TYPE_BYTES)
				memset(at, 0, sizeof(ProtobufCBinaryData));
			else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				*(void **)(void *)at = NULL;
			*cs = f->id;
		} else {
			/* a key given twice: the first is kept */
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				char *s = *(char **)(void *)at;

				if (s && s != protobuf_c_empty_string && s != f->default_value)
					continue;
			} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
				if (((ProtobufCBinaryData *)(void *)at)->data)
					continue;
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (*(void **)(void *)at)
					continue;
			}
			if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES &&
			    f->type != PROTOBUF_C_TYPE_MESSAGE)
				*(protobuf_c_boolean *)(void *)((char *)m + f->quantifier_offset) = 1;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING)   /* so that a failure frees nothing wrong */
			*(char **)(void *)at = NULL;
		if (jd_value(f, fv, at, why, whysz) != 0)
			return -1;
	}
	return 0;
}

/* OTLP/JSON body -> the packed protobuf request of type d, into out. 0, or -1 with why. */
static int json_to_pb(const ProtobufCMessageDescriptor *d, const char *body, size_t n,
		      struct elog_buf *out, char *why, size_t whysz)
{
	char err[256];
	char *text;
	yajl_val v;
	void *m;
	int rc;

	if (elog_json_too_deep(body, n, ELOG_JSON_MAX_DEPTH)) {
		snprintf(why, whysz, "JSON nests deeper than %d levels", ELOG_JSON_MAX_DEPTH);
		return -1;
	}
	text = xstrndup(body, n);
	if (strlen(text) != n) {
		free(text);
		snprintf(why, whysz, "not JSON: a NUL byte");
		return -1;
	}
	err[0] = 0;
	v = yajl_tree_parse(text, err, sizeof(err));
	free(text);
	if (!v) {
		char *nl = strchr(err, '\n');

		if (nl)
			*nl = 0;
		snprintf(why, whysz, "not JSON: %s", *err ? err : "parse error");
		return -1;
	}
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		snprintf(why, whysz, "not a JSON object");
		return -1;
	}
	m = xmalloc(d->sizeof_message);
	d->message_init(m);
	why[0] = 0;
	rc = jd_message(d, v, m, why, whysz);
	yajl_tree_free(v);
	if (rc == 0) {
		size_t len = protobuf_c_message_get_packed_size(m);

		elog_buf_reset(out);
		elog_buf_add(out, "", 0);
		if (len) {
			uint8_t *p = xmalloc(len);

			protobuf_c_message_pack(m, p);
			elog_buf_add(out, (const char *)p, len);
			free(p);
		}
	}
	jd_free_fields(d, m);
	free(m);
	return rc;
}

/* ---- answers ------------------------------------------------------------------------------- */

static void send_pb(struct web_conn *c, int status, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	char *p = xmalloc(len ? len : 1);

	protobuf_c_message_pack(m, (uint8_t *)p);
	web_http_begin(c, status, "application/x-protobuf", NULL, (int64_t)len);
	web_send(c, p, len, 1);
	free(p);
}

static void send_body(struct web_conn *c, int status, const char *ctype, const char *b, size_t n)
{
	web_http_begin(c, status, ctype, NULL, (int64_t)n);
	web_send(c, b, n, 1);
}

/* A google.rpc.Status (code, message) in the request's encoding. */
static void send_status(struct web_conn *c, int http, int code, const char *msg)
{
	struct elog_buf b = ELOG_BUF_INIT;
	size_t ml = strlen(msg);

	if (c->otlp_json) {
		elog_buf_addf(&b, "{\"code\":%d,\"message\":", code);
		elog_json_quote(&b, msg, ml);
		elog_buf_adds(&b, "}\n");
		send_body(c, http, "application/json", b.data, b.len);
	} else {
		uint8_t hdr[12];
		size_t h = 0, l = ml;

		hdr[h++] = 0x08;             /* code, varint */
		hdr[h++] = (uint8_t)code;    /* < 128 */
		hdr[h++] = 0x12;             /* message, length-delimited */
		do {
			hdr[h++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
			l >>= 7;
		} while (l);
		elog_buf_add(&b, (const char *)hdr, h);
		elog_buf_add(&b, msg, ml);
		send_body(c, http, "application/x-protobuf", b.data, b.len);
	}
	elog_buf_release(&b);
}

static void send_ok(struct web_conn *c, const struct elog_otlp_batch *b)
{
	if (c->otlp_json) {
		struct elog_buf o = ELOG_BUF_INIT;

		if (b->rejected) {
			elog_buf_addf(&o, "{\"partialSuccess\":{\"%s\":\"%zu\",\"errorMessage\":",
				      c->otlp_traces ? "rejectedSpans" : "rejectedLogRecords",
				      b->rejected);
			elog_json_quote(&o, b->why, strlen(b->why));
			elog_buf_adds(&o, "}}\n");
		} else {
			elog_buf_adds(&o, "{}\n");
		}
		send_body(c, 200, "application/json", o.data, o.len);
		elog_buf_release(&o);
	} else if (c->otlp_traces) {
		Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
			OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
		Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
			OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;

		if (b->rejected) {
			ps.rejected_spans = (int64_t)b->rejected;
			ps.error_message = (char *)b->why;
			r.partial_success = &ps;
		}
		send_pb(c, 200, &r.base);
	} else {
		Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse r =
			OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
		Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess ps =
			OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;

		if (b->rejected) {
			ps.rejected_log_records = (int64_t)b->rejected;
			ps.error_message = (char *)b->why;
			r.partial_success = &ps;
		}
		send_pb(c, 200, &r.base);
	}
}

/* ---- the worker ---------------------------------------------------------------------------- */

void web_otlp_run(struct web_conn *c)
{
	const ProtobufCMessageDescriptor *d = c->otlp_traces ?
		&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor :
		&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
	const char *name = c->otlp_traces ? "ExportTraceServiceRequest" :
					    "ExportLogsServiceRequest";
	struct elog_buf plain = ELOG_BUF_INIT, pb = ELOG_BUF_INIT;
	const char *data = c->body ? c->body : "";
	size_t n = c->body_len;
	struct elog_otlp_batch b;
	ProtobufCMessage *req;
	char why[300], msg[512];
	int rc;

	memset(&b, 0, sizeof(b));
	if (c->otlp_gzip) {
		rc = gunzip(data, n, &plain, ELOG_OTLP_HTTP_MAX_BODY);
		if (rc == 1) {
			send_status(c, 413, CODE_RESOURCE_EXHAUSTED, "request body over 16777216 bytes "
				    "once decompressed (the OTLP/HTTP body limit)");
			goto out;
		}
		if (rc != 0) {
			send_status(c, 400, CODE_INVALID_ARGUMENT, "Content-Encoding gzip: the body is "
				    "not valid gzip");
			goto out;
		}
		data = plain.data ? plain.data : "";
		n = plain.len;
	}
	if (c->otlp_json) {
		if (json_to_pb(d, data, n, &pb, why, sizeof(why)) != 0) {
			snprintf(msg, sizeof(msg), "cannot decode %s from OTLP/JSON: %s", name, why);
			send_status(c, 400, CODE_INVALID_ARGUMENT, msg);
			goto out;
		}
		data = pb.data ? pb.data : "";
		n = pb.len;
	}
	if (elog_pb_too_deep(d, data, n, ELOG_PB_MAX_DEPTH)) {
		snprintf(msg, sizeof(msg), "cannot decode %s: nested deeper than %d messages", name,
			 ELOG_PB_MAX_DEPTH);
		send_status(c, 400, CODE_INVALID_ARGUMENT, msg);
		goto out;
	}
	req = protobuf_c_message_unpack(d, NULL, n, (const uint8_t *)data);
	if (!req) {
		snprintf(msg, sizeof(msg), "cannot decode %s", name);
		send_status(c, 400, CODE_INVALID_ARGUMENT, msg);
		goto out;
	}
	if (c->otlp_traces)
		elog_conv_otlp_spans((const void *)req, &b);
	else
		elog_conv_otlp_logs((const void *)req, &b);
	protobuf_c_message_free_unpacked(req, NULL);
	elog_buf_release(&plain);
	elog_buf_release(&pb);
	free(c->body);
	c->body = NULL;
	msg[0] = 0;
	rc = elog_otlp_commit(web_hub(c), NULL, &b, msg, sizeof(msg));
	if (rc != CODE_OK) {
		/* UNAVAILABLE, RESOURCE_EXHAUSTED: 503, which OTLP/HTTP clients retry */
		send_status(c, 503, rc, *msg ? msg : "the commit failed");
		goto out;
	}
	send_ok(c, &b);
out:
	elog_otlp_batch_free(&b);
	elog_buf_release(&plain);
	elog_buf_release(&pb);
}
