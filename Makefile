# xdpi build. `make` builds build/xdpi; `make run` and `make test` first
# install what is missing (scripts/deps.sh), then build and run.
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
BUILD    := build
IFACE    ?= $(shell ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($$i=="dev"){print $$(i+1); exit}}')

PKGS     := libbpf libxdp libpcap libcrypto sqlite3 libfixbuf libnats libmicrohttpd libpq jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
XCFLAGS  := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) $(PKG_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lelf -lz -lpthread

BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -Iinclude -I/usr/include/$(shell uname -m)-linux-gnu

SRCS     := $(wildcard src/*.c src/sink/*.c src/proto/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
HDRS     := $(wildcard include/xdpi/*.h src/*.h src/sink/*.h src/proto/*.h)

.PHONY: all deps run test unit tests-build fuzz bench clean
all: $(BUILD)/xdpi

deps:
	@bash scripts/deps.sh

$(BUILD)/xdpi.bpf.o:  bpf/xdpi.bpf.c $(wildcard include/xdpi/*.h bpf/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Same program with a deliberate out-of-bounds read: proves that a verifier
# rejection is reported and leaves nothing attached (tests only).
$(BUILD)/reject.bpf.o:  bpf/xdpi.bpf.c $(wildcard include/xdpi/*.h bpf/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -DXDPI_TEST_VERIFIER_REJECT -c $< -o $@

$(BUILD)/xdpi.skel.h: $(BUILD)/xdpi.bpf.o
	$(BPFTOOL) gen skeleton $< name xdpi_bpf > $@

# The socket filter of `run --hook socket`, an object of its own; and its
# deliberately unverifiable twin (tests only).
$(BUILD)/xdpi_sock.bpf.o: bpf/xdpi_sock.bpf.c $(wildcard include/xdpi/*.h bpf/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/reject_sock.bpf.o: bpf/xdpi_sock.bpf.c $(wildcard include/xdpi/*.h bpf/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -DXDPI_TEST_VERIFIER_REJECT -c $< -o $@

$(BUILD)/xdpi_sock.skel.h: $(BUILD)/xdpi_sock.bpf.o
	$(BPFTOOL) gen skeleton $< name xdpi_sock_bpf > $@

SKELS    := $(BUILD)/xdpi.skel.h $(BUILD)/xdpi_sock.skel.h

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -c $< -o $@

$(BUILD)/xdpi: $(OBJS)
	$(CC) $(XCFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD):
	@mkdir -p $@

# ---- tests ----
# Unit tests link the user-space modules; tests/unit/test_<module>.c each
# become build/tests/test_<module> and, with ASan+UBSan, build/asan/test_<module>.
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
ASAN_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/asan/%,$(UNIT_SRCS))
SAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CFLAGS  = $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) -Itests $(PKG_CFLAGS) $(SAN_FLAGS)
ASAN_OBJS  := $(patsubst src/%.c,$(BUILD)/asan/obj/%.o,$(filter-out src/main.c,$(SRCS)))
# BPF tests (tests/bpf/test_*.c) run the real programs with BPF_PROG_TEST_RUN.
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BPFT_BINS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))
# One libFuzzer target per parser of untrusted bytes: fuzz/fuzz_<name>.c.
FUZZ_SRCS  := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS = -g -O1 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iinclude -Isrc -I$(BUILD) $(PKG_CFLAGS)
# The modules are compiled once for all fuzz targets (instrumented, without
# libFuzzer's main), then each target links them.
FUZZ_OBJ_CFLAGS = $(subst -fsanitize=fuzzer$(comma),-fsanitize=fuzzer-no-link$(comma),$(FUZZ_CFLAGS))
comma := ,
FUZZ_OBJS  := $(patsubst src/%.c,$(BUILD)/fuzzobj/%.o,$(filter-out src/main.c,$(SRCS)))

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/check.h
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -Itests -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/tests/%: tests/bpf/%.c $(LIB_OBJS) tests/check.h $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -Itests -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/asan/obj/%.o: src/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -c $< -o $@

$(BUILD)/asan/%: tests/unit/%.c $(ASAN_OBJS) tests/check.h
	@mkdir -p $(dir $@)
	$(CLANG) $(SAN_CFLAGS) -o $@ $< $(ASAN_OBJS) $(LDLIBS)

$(BUILD)/fuzzobj/%.o: src/%.c $(HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_OBJ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/%: fuzz/%.c $(HDRS) $(FUZZ_OBJS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

.SECONDARY: $(ASAN_OBJS) $(FUZZ_OBJS)

tests-build: all $(BUILD)/reject.bpf.o $(BUILD)/reject_sock.bpf.o $(UNIT_BINS) $(ASAN_BINS) $(BPFT_BINS) $(FUZZ_BINS)

unit: $(UNIT_BINS) $(ASAN_BINS)
	@for t in $(UNIT_BINS) $(ASAN_BINS); do $$t || exit 1; done

run: deps all
	@if [ -z "$(IFACE)" ]; then echo "make run: no default route; set IFACE=<interface>" >&2; exit 2; fi
	$(BUILD)/xdpi run -i $(IFACE)

test: deps tests-build
	@bash tests/run.sh

fuzz: deps tests-build
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} bash tests/fuzz.sh

bench: deps all
	@bash bench/run.sh
	@bash bench/live.sh
	@bash bench/offload.sh
	@bash bench/socket.sh
	@bash bench/afxdp.sh
	@bash bench/sinks.sh

clean:
	rm -rf $(BUILD)
