/* libFuzzer target: any bytes as a logging.v1.LogFrame (what LogService/WriteLogStream
 * receives), decoded as the service does (convert.h): the session file's view of the frame
 * must hold valid UTF-8 and metadata that is a JSON object, its time must format, its session
 * id must map to a safe file name (sessionlog.h), and the history record must keep check.h's
 * invariants with fields a JSON object. */
#include <stdint.h>
#include <stddef.h>
#include "server/convert.h"
#include "server/sessionlog.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Logging__V1__LogFrame *fr;
	struct elog_slog_frame f;
	struct elog_buf meta = ELOG_BUF_INIT, name = ELOG_BUF_INIT;
	struct elog_record r;
	char ts[48];

	fr = logging__v1__log_frame__unpack(NULL, size, data);
	if (!fr)
		return 0;
	elog_conv_logsvc_frame(fr, &f, &meta);
	check_str(f.session_id);
	check_str(f.user_id);
	check_str(f.role);
	check_str(f.content);
	CHECK(f.time_ns >= 0);
	if (f.metadata_json)
		check_object_or_empty(f.metadata_json);
	CHECK(elog_format_rfc3339(f.time_ns, ts, sizeof(ts)) > 0);
	if (*f.session_id) {
		elog_slog_file_name(&name, f.session_id, strlen(f.session_id));
		CHECK(name.len > 0 && name.len <= 96);
		CHECK(name.data[0] != '.');
		CHECK(strchr(name.data, '/') == NULL);
		CHECK(strlen(name.data) == name.len);
		elog_conv_logsvc_record(&r, &f, f.seq ? f.seq : 1, fr->version);
		check_record(&r, 1);
		CHECK(strcmp(r.component, f.session_id) == 0);
		elog_record_clear(&r);
	}
	elog_conv_logsvc_frame_free(&f);
	elog_buf_release(&meta);
	elog_buf_release(&name);
	logging__v1__log_frame__free_unpacked(fr, NULL);
	return 0;
}
