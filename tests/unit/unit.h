/*
 * unit.h — a tiny test harness (acutest-like). Each tests/unit/test_<module>.c defines
 * TESTS as a list of { "name", fn } and includes this header once. Each check that fails
 * prints file:line and the expression; the binary prints "N passed, N failed" and exits 1
 * when anything failed.
 */
#ifndef ELOG_UNIT_H
#define ELOG_UNIT_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <stdint.h>

static int unit_failed_checks;

#define CHECK(cond) do { if (!(cond)) { unit_failed_checks++; \
	fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b) != 0) { unit_failed_checks++; \
	fprintf(stderr, "  %s:%d: '%s' != '%s'\n", __FILE__, __LINE__, _a ? _a : "(null)", \
		_b ? _b : "(null)"); } } while (0)
#define CHECK_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) { unit_failed_checks++; \
	fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); } \
	} while (0)

struct unit_test { const char *name; void (*fn)(void); };

#define UNIT_MAIN(...) \
	static const struct unit_test unit_tests[] = { __VA_ARGS__, { NULL, NULL } }; \
	int main(int argc, char **argv) { \
		int passed = 0, failed = 0; \
		for (const struct unit_test *t = unit_tests; t->name; t++) { \
			if (argc > 1 && strcmp(argv[1], t->name) != 0) continue; \
			int before = unit_failed_checks; \
			t->fn(); \
			if (unit_failed_checks == before) { passed++; printf("ok %s\n", t->name); } \
			else { failed++; printf("FAIL %s\n", t->name); } \
		} \
		printf("%d passed, %d failed\n", passed, failed); \
		return failed ? 1 : 0; \
	}

#endif
