/* libFuzzer target: the first byte chooses the context (bit 0: a stream id, bit 1: a call
 * trace id, bit 2: the payload's metadata used as the open's defaults instead), the rest is
 * an electrician.WrappedPayload decoded as RelayService does (convert.h). The record must
 * keep check.h's invariants with fields a JSON object holding "relay", and a payload that
 * was not decoded must say why in relay.undecodable. */
#include <stdint.h>
#include <stddef.h>
#include "server/convert.h"
#include "common/json.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Electrician__WrappedPayload *p;
	Electrician__MessageMetadata *defaults = NULL, *own;
	struct elog_record r;
	const char *why;
	char errbuf[128];
	yajl_val v, relay;
	static const char *relay_path[] = { "relay", NULL };
	static const char *undec_path[] = { "relay", "undecodable", NULL };
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	p = electrician__wrapped_payload__unpack(NULL, size - 1, data + 1);
	if (!p)
		return 0;
	own = p->metadata;
	if (sel & 4) {
		defaults = p->metadata;
		p->metadata = NULL;
	}
	why = elog_conv_relay_payload((sel & 1) ? "stream-1" : NULL, defaults,
				      (sel & 2) ? "trace-\xff-1" : "", p, &r);
	p->metadata = own;
	check_record(&r, 1);
	CHECK(!elog_json_too_deep(r.fields, strlen(r.fields), ELOG_JSON_MAX_DEPTH));
	CHECK(*r.component);
	CHECK(strcmp(r.source, "electrician") == 0);
	v = yajl_tree_parse(r.fields, errbuf, sizeof(errbuf));
	CHECK(v != NULL);
	relay = yajl_tree_get(v, relay_path, yajl_t_object);
	CHECK(relay != NULL);
	CHECK((why != NULL) == (yajl_tree_get(v, undec_path, yajl_t_string) != NULL));
	yajl_tree_free(v);
	elog_record_clear(&r);
	electrician__wrapped_payload__free_unpacked(p, NULL);
	return 0;
}
