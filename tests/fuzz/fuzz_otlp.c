/* libFuzzer target: the first byte chooses the request type (bit 0: traces, else logs), the
 * rest is an OTLP ExportLogsServiceRequest / ExportTraceServiceRequest decoded as serve does
 * (refused when nested deeper than ELOG_PB_MAX_DEPTH, as rpc_server.c refuses it) and mapped
 * by svc_otlp.c (convert.h). Every record must keep check.h's invariants with fields "" or a
 * JSON object no deeper than ELOG_JSON_MAX_DEPTH; spans and their records match one to one,
 * and a rejected item is counted with a reason. */
#include <stdint.h>
#include <stddef.h>
#include "server/convert.h"
#include "common/json.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m;
	struct elog_otlp_batch b;
	int traces;

	if (size < 1)
		return 0;
	traces = data[0] & 1;
	d = traces ? &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor
		   : &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
	if (elog_pb_too_deep(d, data + 1, size - 1, ELOG_PB_MAX_DEPTH))
		return 0;
	m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
	if (!m)
		return 0;
	memset(&b, 0, sizeof(b));
	if (traces)
		elog_conv_otlp_spans((const void *)m, &b);
	else
		elog_conv_otlp_logs((const void *)m, &b);
	protobuf_c_message_free_unpacked(m, NULL);
	for (size_t i = 0; i < b.n; i++) {
		check_record(&b.recs[i], 1);
		CHECK(*b.recs[i].component);
		CHECK(!elog_json_too_deep(b.recs[i].fields, strlen(b.recs[i].fields),
					  ELOG_JSON_MAX_DEPTH));
		CHECK(strlen(b.recs[i].fields) <= ELOG_MAX_LINE);
	}
	CHECK(!traces || b.nspans == b.n);
	CHECK(!b.rejected || b.why[0]);
	elog_otlp_batch_free(&b);
	return 0;
}
