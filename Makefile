# xdpi build. `make` builds build/xdpi; `make run` and `make test` first
# install what is missing (scripts/deps.sh), then build and run.
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
BUILD    := build
IFACE    ?= $(shell ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($$i=="dev"){print $$(i+1); exit}}')

PKGS     := libbpf libxdp libpcap
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
XCFLAGS  := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) $(PKG_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lelf -lz -lpthread

BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -Iinclude -I/usr/include/$(shell uname -m)-linux-gnu

SRCS     := $(wildcard src/*.c src/sink/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
HDRS     := $(wildcard include/xdpi/*.h src/*.h src/sink/*.h)

.PHONY: all deps run test unit fuzz bench clean
all: $(BUILD)/xdpi

deps:
	@bash scripts/deps.sh

$(BUILD)/xdpi.bpf.o: bpf/xdpi.bpf.c $(wildcard include/xdpi/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Same program with a deliberate out-of-bounds read: proves that a verifier
# rejection is reported and leaves nothing attached (tests only).
$(BUILD)/reject.bpf.o: bpf/xdpi.bpf.c $(wildcard include/xdpi/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -DXDPI_TEST_VERIFIER_REJECT -c $< -o $@

$(BUILD)/xdpi.skel.h: $(BUILD)/xdpi.bpf.o
	$(BPFTOOL) gen skeleton $< name xdpi_bpf > $@

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(BUILD)/xdpi.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -c $< -o $@

$(BUILD)/xdpi: $(OBJS)
	$(CC) $(XCFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD):
	@mkdir -p $@

run: deps all
	@if [ -z "$(IFACE)" ]; then echo "make run: no default route; set IFACE=<interface>" >&2; exit 2; fi
	$(BUILD)/xdpi run -i $(IFACE)

test: deps all $(BUILD)/reject.bpf.o
	@bash tests/run.sh

fuzz: deps all
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} bash tests/fuzz.sh

bench: deps all
	@bash bench/run.sh

clean:
	rm -rf $(BUILD)
