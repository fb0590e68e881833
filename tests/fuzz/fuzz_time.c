/* libFuzzer target: user times, record times, durations, level names and level filters. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "common/timeparse.h"
#include "common/record.h"
#include "common/filter.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct elog_err err;
	struct elog_filter f;
	int64_t ns;
	unsigned mask = 0;

	memcpy(s, data, size);
	s[size] = 0;
	elog_time_parse(s, 1700000000000000000LL, &ns, &err);
	elog_time_parse_record((const char *)data, size, &ns);
	elog_duration_parse(s, &ns, &err);
	elog_level_parse((const char *)data, size);
	elog_level_filter_parse(s, &mask, &err);
	if (mask >= (1u << ELOG_LEVEL_COUNT))
		__builtin_trap();
	elog_filter_init(&f);
	elog_filter_add_components(&f, s, NULL);
	if (size < 256)
		elog_filter_set_pattern(&f, s, &err);
	elog_filter_clear(&f);
	free(s);
	return 0;
}
