# elog — one non-recursive Makefile.
#   make            build ./elog (optimized)
#   make test       build under ASan+UBSan in build/san and run the whole suite
#   make serve      build and run `elog serve` on the embedded default
#   make deps       install missing Debian packages (apt-get update first)
#   make docs       regenerate man pages and completions from the option tables
#   make bench      run the benchmarks in bench/ (not part of test)
#   make bench-history  only issue 17's table (bench/history.sh; ELOG_BENCH_BIG=10M etc.)
#   make fuzz       run the libFuzzer targets for a set time
#   V=1             show full commands

PREFIX   ?= /usr/local
O        ?= build
SAN      ?=
CC       ?= cc
PKGS      = grpc libprotobuf-c sqlite3 yajl zlib libcrypto hiredis libpcre2-8 libhs libwebsockets libzstd
# Debian ships libnats (serve --cluster) as a shared library only: linked dynamically always
DYN_PKGS  = libnats
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	      -Wno-missing-field-initializers -Wno-format-nonliteral -g
ifeq ($(SAN),1)
OPT      ?= -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN     = -fsanitize=address,undefined
else
OPT      ?= -O2 -flto=auto -ffunction-sections -fdata-sections
LDOPT     = -flto=auto -Wl,--gc-sections -Wl,-z,pack-relative-relocs
LDSAN     =
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(DYN_PKGS) 2>/dev/null)
# The optimized build links gRPC, abseil, protobuf-c, SQLite, yajl, OpenSSL and zlib from
# Debian's static archives (same -dev packages): loading ~55 shared C++ libraries cost ~8 ms
# of every short-lived `elog send`. STATIC=0 links them dynamically; the sanitizer build
# always does. Rebuild after a security update of those packages.
ifeq ($(SAN),1)
STATIC   := 0
endif
STATIC   ?= 1
ifeq ($(STATIC),1)
STATIC_LIBS := $(filter-out -ldl -lrt -lm -pthread -latomic -Wl%,\
	$(patsubst -lyajl,-lyajl_s,$(shell pkg-config --static --libs $(PKGS) 2>/dev/null)))
PKG_LIBS   := -Wl,-Bstatic $(STATIC_LIBS) -lstdc++ -Wl,-Bdynamic -static-libgcc \
	      $(shell pkg-config --libs $(DYN_PKGS) 2>/dev/null) \
	      -latomic -ldl -lrt
else
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) $(DYN_PKGS) 2>/dev/null)
endif
CPPFLAGS += -Isrc -I$(O)/gen
ALL_CFLAGS = $(CFLAGS_BASE) $(OPT) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LIBS     = $(PKG_LIBS) -lpthread -lm -lz

ifeq ($(V),1)
Q =
else
Q = @
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PROTOS = proto/elog.proto proto/electrician.proto proto/logging.proto \
	 proto/flowctl.proto proto/ingestion.proto \
	 $(addprefix proto/opentelemetry/proto/,common/v1/common.proto resource/v1/resource.proto \
	   logs/v1/logs.proto trace/v1/trace.proto collector/logs/v1/logs_service.proto \
	   collector/trace/v1/trace_service.proto)
WKT    = google/protobuf/timestamp.proto google/protobuf/struct.proto \
	 google/protobuf/empty.proto
GEN_C  = $(patsubst proto/%.proto,$(O)/gen/%.pb-c.c,$(PROTOS)) \
	 $(patsubst %.proto,$(O)/gen/%.pb-c.c,$(WKT))
GEN_H  = $(GEN_C:.c=.h)

LIB_SRC  = $(sort $(wildcard src/*/*.c))
CMD_SRC  = $(sort $(wildcard cmd/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ  = $(patsubst %.c,$(O)/%.o,$(LIB_SRC)) $(GEN_C:.c=.o)
CMD_OBJ  = $(patsubst %.c,$(O)/%.o,$(CMD_SRC))
UNIT_BIN = $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))

.PHONY: all units units-san test test-long serve deps bench-deps docs bench bench-history fuzz fuzz-build install \
	clean check-layering
.SECONDARY:

all: elog

elog: $(O)/elog
ifeq ($(O),build)
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@
else
	@true
endif

# gendoc (the man page and completion generator, a build tool) is built with elog, so that
# tests/t/t7000-docs.sh finds it next to the binary it checks.
$(O)/elog: $(CMD_OBJ) $(O)/libelog.a | $(O)/gendoc
	@echo "  LD      $@"
	$(Q)$(CC) $(LDSAN) $(LDOPT) -o $@ $(CMD_OBJ) $(O)/libelog.a $(LIBS)

GENDOC_OBJ = $(O)/tools/gendoc.o $(filter-out $(O)/cmd/main.o,$(CMD_OBJ))
$(O)/tools/gendoc.o: CPPFLAGS += -Icmd
$(O)/gendoc: $(GENDOC_OBJ) $(O)/libelog.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDSAN) $(LDOPT) -o $@ $(GENDOC_OBJ) $(O)/libelog.a $(LIBS)

$(O)/libelog.a: $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/tests/%: tests/unit/%.c $(O)/libelog.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(LDSAN) -o $@ $< $(O)/libelog.a $(LIBS)

# protoc-c gets the messages only: elog's own rpc table names the methods, and protoc-c's
# service stubs would not compile for flowctl (a method named Register). A proto in a folder
# (proto/opentelemetry/...) keeps its path, which its imports name; -Iproto finds an import
# not copied yet.
$(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(O)/gen $(dir $(O)/proto/$*)
	@echo "  PROTOC  $<"
	$(Q)sed '/^service /,/^}/d' $< > $(O)/proto/$*.proto
	$(Q)protoc-c -I$(O)/proto -Iproto -I/usr/include --c_out=$(O)/gen $(O)/proto/$*.proto

$(O)/gen/google/protobuf/%.pb-c.c $(O)/gen/google/protobuf/%.pb-c.h: /usr/include/google/protobuf/%.proto
	@mkdir -p $(O)/gen
	@echo "  PROTOC  $<"
	$(Q)protoc-c -I/usr/include --c_out=$(O)/gen $<

$(O)/gen/%.pb-c.o: $(O)/gen/%.pb-c.c $(GEN_H)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(O)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DELOG_VERSION='"$(VERSION)"' -MMD -MP -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(O)/tools/gendoc.d
# The page's files are built into assets.o with .incbin (src/web/assets.c): -MMD cannot see them.
$(O)/src/web/assets.o build/fuzz/obj/src/web/assets.o: $(wildcard src/web/assets/*)

units: $(UNIT_BIN)

deps:
	@sh tools/deps.sh

bench-deps:
	@sh tools/deps.sh bench

# The README's test command: everything, under AddressSanitizer and UBSan.
# One make builds the binary and the unit tests (two makes at once would write the same
# objects and libelog.a); the fuzz targets are built here too, so that t9000 only runs them.
test: deps check-layering
	$(Q)$(MAKE) --no-print-directory -j2 O=build/san SAN=1 build/san/elog units
	$(Q)$(MAKE) --no-print-directory -j2 fuzz-build
	$(Q)sh tests/run.sh build/san

units-san:
	$(Q)$(MAKE) --no-print-directory O=build/san SAN=1 units

test-long: deps check-layering
	$(Q)$(MAKE) --no-print-directory -j2 O=build/san SAN=1 build/san/elog units
	$(Q)$(MAKE) --no-print-directory -j2 fuzz-build
	$(Q)ELOG_TEST_LONG=1 ELOG_TEST_TIMEOUT=3600 sh tests/run.sh build/san

# The README's run command: build, then serve on the embedded default.
serve: deps
	$(Q)$(MAKE) --no-print-directory elog
	./elog serve

docs: $(O)/gendoc
	$(Q)sh tools/gendocs.sh $(O)/gendoc

# src/ never prints and never exits; each layer includes only the layers below it
# (src/README.md draws them).
check-layering:
	$(Q)! grep -nE '\b(f?printf|puts|exit|abort|perror)\s*\(' src/*/*.c | grep -v 'snprintf\|vsnprintf' || \
		(echo "src/ must not print or exit"; false)
	$(Q)sh tools/check-layers.sh

build/relay_bench: bench/relay_bench.c $(O)/libelog.a
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libelog.a $(LIBS)

build/redact_engine: bench/redact_engine.c $(O)/libelog.a
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libelog.a $(LIBS)

# the sealed block codec's alternatives (issue 17): includes src/store/block.c for its tunables
build/blocks: bench/blocks.c src/store/block.c $(O)/libelog.a
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libelog.a $(LIBS)

bench: bench-deps elog build/relay_bench build/redact_engine build/blocks
	$(Q)ELOG=$(CURDIR)/$(O)/elog bash bench/history.sh
	$(Q)sh bench/run.sh

bench-history: bench-deps elog
	$(Q)ELOG=$(CURDIR)/$(O)/elog bash bench/history.sh

install: elog
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 elog $(DESTDIR)$(PREFIX)/bin/elog
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 completions/elog.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/elog
	install -m 644 completions/_elog $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_elog
	install -m 644 completions/elog.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/elog.fish

clean:
	rm -rf build elog

# ---- fuzzing (libFuzzer, clang) ---------------------------------------------------------
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined \
	      -fno-sanitize-recover=undefined -Isrc -I$(O)/gen $(PKG_CFLAGS)
FUZZ_OBJ = $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC) $(GEN_C))

# The library is compiled once for every target (instrumented, without libFuzzer's main).
build/fuzz/obj/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
-include $(FUZZ_OBJ:.o=.d)

build/fuzz/libelog-fuzz.a: $(FUZZ_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c tests/fuzz/check.h build/fuzz/libelog-fuzz.a
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libelog-fuzz.a \
		$(shell pkg-config --libs $(PKGS) $(DYN_PKGS)) -lpthread -lm

fuzz-build: $(FUZZ_TARGETS)

# Runs every target for FUZZ_SECONDS on its committed corpus (new inputs go to build/fuzz).
fuzz: $(FUZZ_TARGETS)
	$(Q)sh tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
