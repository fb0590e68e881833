/* libFuzzer target: any bytes as a flowctl.LogEntry (what ControlPlane/StreamLogs receives),
 * converted as the flowctl service does (convert.h); the record must keep check.h's
 * invariants, with fields "" or a JSON object. */
#include <stdint.h>
#include <stddef.h>
#include "server/convert.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Flowctl__LogEntry *e;
	struct elog_record r;

	e = flowctl__log_entry__unpack(NULL, size, data);
	if (!e)
		return 0;
	elog_conv_flowctl_entry(&r, e);
	check_record(&r, 1);
	CHECK(*r.component && *r.source);
	elog_record_clear(&r);
	flowctl__log_entry__free_unpacked(e, NULL);
	return 0;
}
