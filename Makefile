# coco-shim build. Plain make + pkg-config; every output stays under build/.
#
#   make               build the binaries into build/bin
#   make check         install packages, build, run every test (see README)
#   make demo          install packages, build, run the demo
#   make fuzz          run the fuzz targets for longer
#   make install PREFIX=/usr/local
#
# Variants share one generated-code directory (build/gen) and use their own
# BUILD directory: build/asan (SANITIZE=1), build/clang (CC=clang),
# build/fuzz (FUZZ=1, clang).

VERSION  := $(shell cat VERSION)
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

BUILD      ?= build
GEN        := build/gen
PREFIX     ?= /usr/local
PKG_CONFIG ?= pkg-config
CLANG_FORMAT ?= clang-format

# Every library the project links, checked up front so a missing one is named.
PKGS := libvirt libprotobuf-c jansson libnl-3.0 libnl-route-3.0 libcap libcrypto zlib
LIB_PKGS := libprotobuf-c libcrypto zlib jansson

WARN   := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wformat=2 -Wno-format-nonliteral \
          -Wstrict-prototypes -Wmissing-prototypes
CSTD   := -std=gnu11 -Ulinux -D_GNU_SOURCE -DCOCO_VERSION='"$(VERSION)"' -DCOCO_REVISION='"$(REVISION)"'
OPT    ?= -O2 -g
CFLAGS_BASE = $(CSTD) $(OPT) -fno-strict-aliasing -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
              -Ilib -Iconfig -Iguestimg/measure -Ivmm -I$(GEN) $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS))
LDLIBS_BASE = -Wl,--as-needed $(shell $(PKG_CONFIG) --libs $(LIB_PKGS)) -pthread

ifeq ($(SANITIZE),1)
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  OPT := -O1 -g
endif
ifeq ($(FUZZ),1)
  SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
  OPT := -O1 -g
endif
CFLAGS  += $(SAN)
LDFLAGS += $(SAN)

# --- protobuf: generated at build time, never committed -------------------
GOSRC     := /usr/share/gocode/src
GOGO      := $(GOSRC)/github.com/gogo/protobuf
CTRD      := github.com/containerd/containerd
PROTO_INC := -Ilib/proto -I$(GOSRC) -I$(GOGO) -I$(GOGO)/protobuf
PROTOS := \
	ttrpc.proto bootstrap.proto runtimeoptions.proto \
	kata/agent.proto kata/oci.proto kata/types.proto kata/health.proto \
	$(CTRD)/runtime/v2/task/shim.proto \
	$(CTRD)/api/types/mount.proto $(CTRD)/api/types/task/task.proto \
	$(CTRD)/api/types/metrics.proto \
	github.com/containerd/cgroups/stats/v1/metrics.proto \
	$(CTRD)/api/events/task.proto \
	$(CTRD)/api/services/ttrpc/events/v1/events.proto \
	$(CTRD)/protobuf/plugin/fieldpath.proto \
	gogoproto/gogo.proto \
	google/protobuf/any.proto google/protobuf/empty.proto \
	google/protobuf/timestamp.proto google/protobuf/descriptor.proto
GEN_C     := $(addprefix $(GEN)/,$(PROTOS:.proto=.pb-c.c))
GEN_STAMP := $(GEN)/.stamp

# --- sources ---------------------------------------------------------------
LIB_SRC := lib/error.c lib/log.c lib/util.c lib/base64.c lib/ttrpc-frame.c \
           lib/ttrpc-server.c lib/ttrpc-client.c \
           config/toml.c config/initdata.c config/class.c config/launch.c \
           guestimg/measure/ovmf.c guestimg/measure/snp.c guestimg/measure/tdx.c \
           vmm/vmm.c
SHIM_SRC := shim/main.c shim/service.c shim/sandbox.c shim/spec.c shim/rootfs.c shim/io.c \
            shim/events.c shim/network.c
COCOCTL_SRC := cococtl/main.c cococtl/initdata.c cococtl/measure.c cococtl/vmm.c
VMM_SRC := vmm/domain-xml.c vmm/libvirt.c vmm/network.c vmm/preflight.c
VMM_HELPER_SRC := vmm/coco-vmm.c
AGENT_SRC := guestimg/agent/main.c guestimg/agent/boot.c guestimg/agent/channel.c \
             guestimg/agent/service.c guestimg/agent/policy.c guestimg/agent/initdata-boot.c \
             guestimg/agent/container.c guestimg/agent/process.c guestimg/agent/spawn.c \
             guestimg/agent/storage.c guestimg/agent/network.c
# The agent is PID 1 of an initramfs with no libraries: link it statically.
AGENT_LIBS := -static -lprotobuf-c -lcap -lnl-route-3 -lnl-3 -ljansson -lcrypto -lz -ldl -lm -pthread
NL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libnl-route-3.0)
UNIT_TESTS := error frame ttrpc log toml initdata ovmf class
FUZZERS := frame request toml initdata ovmf class spec
FUZZ_RUNS ?= 200000
FUZZ_TIME ?= 300

OBJ = $(BUILD)/obj
obj = $(addprefix $(OBJ)/,$(1:.c=.o))

LIBCOCO := $(BUILD)/lib/libcoco.a
LIBGEN  := $(BUILD)/lib/libcocogen.a
LIBVMM  := $(BUILD)/lib/libcocovmm.a
VIRT_CFLAGS = $(shell $(PKG_CONFIG) --cflags libvirt libnl-route-3.0)
VIRT_LIBS = $(shell $(PKG_CONFIG) --libs libvirt libnl-route-3.0)
BINS    := $(BUILD)/bin/containerd-shim-coco-v2 $(BUILD)/bin/cococtl $(BUILD)/bin/coco-agent \
           $(BUILD)/bin/coco-vmm
TEST_BINS := $(addprefix $(BUILD)/tests/test-,$(UNIT_TESTS)) $(BUILD)/tests/forward-event \
             $(BUILD)/tests/agent-scenario $(BUILD)/tests/agent-policy $(BUILD)/tests/coco-agent-host \
             $(BUILD)/tests/poweroff-init $(BUILD)/tests/pidfd-wait $(BUILD)/tests/net-plumb
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/fuzz-,$(FUZZERS))

.PHONY: bench guest-image all deps pkgcheck gen tests unit check check-unit check-asan check-clang check-fuzz \
        check-measure check-agent check-guest check-vmm check-containerd fuzz fuzzers format format-check  install demo clean dist check-k8s
.DEFAULT_GOAL := all
.SECONDARY:

all: $(BINS)

deps:
	@bash scripts/deps.sh

pkgcheck:
	@missing=; for p in $(PKGS); do $(PKG_CONFIG) --exists $$p || missing="$$missing $$p"; done; \
	 if [ -n "$$missing" ]; then echo "missing libraries (pkg-config):$$missing; run 'make deps' as root" >&2; exit 1; fi

gen: $(GEN_STAMP)

$(GEN_STAMP): $(addprefix lib/proto/,$(filter-out github.com/% gogoproto/% google/%,$(PROTOS))) | pkgcheck
	@mkdir -p $(GEN)
	@echo "  PROTOC  $(words $(PROTOS)) files -> $(GEN)"
	$(Q)protoc-c $(PROTO_INC) --c_out=$(GEN) $(PROTOS) 2>&1 | { grep -v 'is unused' || true; }
	@touch $@

$(GEN_C): $(GEN_STAMP)

# generated code: no -Werror, it is not ours to fix
$(OBJ)/gen/%.o: $(GEN)/%.c | $(GEN_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -w -c $< -o $@

$(OBJ)/%.o: %.c | $(GEN_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_BASE) $(WARN) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBGEN): $(patsubst $(GEN)/%.c,$(OBJ)/gen/%.o,$(GEN_C))
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBCOCO): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

LINK = @echo "  LD      $@"; $(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBCOCO) $(LIBGEN) $(LDLIBS_BASE) $(LDLIBS)
LINK_VMM = @echo "  LD      $@"; $(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBVMM) $(LIBCOCO) $(LIBGEN) \
           $(LDLIBS_BASE) $(VIRT_LIBS)

$(BUILD)/bin/containerd-shim-coco-v2: $(call obj,$(SHIM_SRC)) $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK)

# Only coco-vmm and cococtl load libvirt; the long-lived shim never does.
$(LIBVMM): $(call obj,$(VMM_SRC))
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(call obj,$(VMM_SRC) $(VMM_HELPER_SRC) cococtl/vmm.c): CFLAGS += $(VIRT_CFLAGS)
$(call obj,guestimg/agent/network.c): CFLAGS += $(NL_CFLAGS)

$(BUILD)/bin/cococtl: $(call obj,$(COCOCTL_SRC)) $(LIBVMM) $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK_VMM)

$(BUILD)/bin/coco-vmm: $(call obj,$(VMM_HELPER_SRC)) $(LIBVMM) $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK_VMM)

$(BUILD)/bin/coco-agent: $(call obj,$(AGENT_SRC)) $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBCOCO) $(LIBGEN) $(AGENT_LIBS)

guest-image: $(BUILD)/bin/coco-agent
	bash guestimg/build-image.sh $(BUILD)/guest $(BUILD)/bin/coco-agent build/guest-cache
	/usr/bin/python3 scripts/build-config.py $(BUILD)

$(BUILD)/tests/pidfd-wait: tests/vmm/pidfd-wait.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CSTD) -O2 $(WARN) -o $@ $<

$(BUILD)/tests/poweroff-init: tests/bench/poweroff-init.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -O2 -static -o $@ $<

# --- tests -------------------------------------------------------------------
$(BUILD)/tests/test-%: $(OBJ)/tests/unit/test-%.o $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK) -lcmocka

$(BUILD)/tests/net-plumb: $(OBJ)/tests/vmm/net-plumb.o $(LIBVMM) $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK_VMM)

$(call obj,tests/vmm/net-plumb.c): CFLAGS += $(VIRT_CFLAGS)

$(BUILD)/tests/forward-event: $(OBJ)/tests/containerd/forward-event.o $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK)

$(BUILD)/tests/agent-%: $(OBJ)/tests/guest/agent-%.o $(OBJ)/tests/guest/client.o $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK)

# The agent linked dynamically, for host tests (and ASan, which cannot be static).
$(BUILD)/tests/coco-agent-host: $(call obj,$(AGENT_SRC)) $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	$(LINK) -lcap $(shell $(PKG_CONFIG) --libs libnl-route-3.0)

tests: $(TEST_BINS)

# cmocka prints one summary per test binary; a failing binary fails the run.
unit: tests
	@set -e; for t in $(UNIT_TESTS); do echo "== unit: $$t ($(BUILD))"; $(BUILD)/tests/test-$$t; done

$(BUILD)/fuzz/fuzz-%: $(OBJ)/tests/fuzz/fuzz-%.o $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o,$^) $(LIBCOCO) $(LIBGEN) $(LDLIBS_BASE)

# the OCI spec converter lives in the shim
$(call obj,tests/fuzz/fuzz-spec.c): CFLAGS += -Ishim
$(BUILD)/fuzz/fuzz-spec: $(OBJ)/tests/fuzz/fuzz-spec.o $(OBJ)/shim/spec.o $(LIBCOCO) $(LIBGEN)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o,$^) $(LIBCOCO) $(LIBGEN) $(LDLIBS_BASE)

fuzzers: $(FUZZ_BINS)

ASAN_ENV := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

check-unit: all
	$(MAKE) --no-print-directory unit
	/usr/bin/python3 tests/docs/errors.py .
	@for m in docs/man/*.[18]; do w=$$(MANWIDTH=80 man --warnings -l $$m 2>&1 >/dev/null); \
		if [ -n "$$w" ]; then echo "$$m: $$w"; exit 1; fi; echo "ok - $$m renders without warnings"; done

check-asan: gen all
	$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 tests
	$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 unit
	$(ASAN_ENV) bash tests/guest/host.sh build/asan $(BUILD)/bin/cococtl

check-clang: gen
	$(MAKE) --no-print-directory BUILD=build/clang CC=clang all tests

# Short fixed-length fuzz runs in a throwaway corpus directory.
check-fuzz: gen
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FUZZ=1 fuzzers
	@set -e; for f in $(FUZZERS); do \
	  c=$$(mktemp -d); trap 'rm -rf "$$c"' EXIT; \
	  echo "== fuzz: $$f ($(FUZZ_RUNS) runs)"; \
	  if ! build/fuzz/fuzz/fuzz-$$f -runs=$(FUZZ_RUNS) -seed=1 -max_len=65536 \
	       -artifact_prefix=build/fuzz/ "$$c" tests/fuzz/seeds/$$f >"$$c.log" 2>&1; then \
	    tail -n 40 "$$c.log"; rm -f "$$c.log"; echo "fuzz: $$f failed; the input is in build/fuzz/" >&2; exit 1; fi; \
	  tail -n 1 "$$c.log"; rm -rf "$$c" "$$c.log"; done

check-measure: all
	bash tests/measure/measure.sh $(BUILD)

check-agent: all tests
	bash tests/guest/host.sh $(BUILD) $(BUILD)/bin/cococtl

check-guest: guest-image tests
	bash tests/guest/reproducible.sh $(BUILD)
	bash tests/guest/boot.sh $(BUILD)

check-vmm: guest-image tests
	bash tests/vmm/golden.sh $(BUILD)
	bash tests/vmm/network.sh $(BUILD)
	bash tests/vmm/libvirt.sh $(BUILD)

check-containerd: guest-image tests
	bash tests/containerd/events.sh $(BUILD)
	bash tests/containerd/run.sh $(BUILD)
	bash tests/containerd/network.sh $(BUILD)

fuzz: gen
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FUZZ=1 fuzzers
	@set -e; for f in $(FUZZERS); do \
	  echo "== fuzz: $$f ($(FUZZ_TIME) s)"; mkdir -p build/fuzz/corpus/$$f; \
	  build/fuzz/fuzz/fuzz-$$f -max_total_time=$(FUZZ_TIME) -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus/$$f tests/fuzz/seeds/$$f; done

# Benchmarks print figures and ratios against a baseline measured in the same run.
bench: deps
	$(MAKE) --no-print-directory guest-image tests
	bash tests/bench/boot.sh $(BUILD)
	bash tests/bench/vmm.sh $(BUILD)
	bash tests/bench/shim.sh $(BUILD)
	bash tests/bench/network.sh $(BUILD)

check: deps
	$(MAKE) --no-print-directory format-check
	$(MAKE) --no-print-directory check-unit
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-clang
	$(MAKE) --no-print-directory check-fuzz
	$(MAKE) --no-print-directory check-measure
	$(MAKE) --no-print-directory check-agent
	$(MAKE) --no-print-directory check-guest
	$(MAKE) --no-print-directory check-vmm
	$(MAKE) --no-print-directory check-containerd
	$(MAKE) --no-print-directory check-k8s
	@echo "make check: all passed"

# Kubernetes path: manifests, the installer, and pods through containerd's CRI plugin.
check-k8s: dist tests
	bash tests/runtimeclass/manifests.sh
	bash tests/runtimeclass/install.sh $(BUILD)
	bash tests/cri/run.sh $(BUILD)

FORMAT_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null)

format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/cococtl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/man/containerd-shim-coco-v2.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# The tree runtimeclass/install.sh installs under PREFIX (the DaemonSet image's payload).
DIST := $(BUILD)/dist
dist: all guest-image
	rm -rf $(DIST) && install -d $(DIST)/bin $(DIST)/libexec/coco $(DIST)/etc/coco \
		$(DIST)/share/guest $(DIST)/share/coco/containerd $(DIST)/share/man/man1 $(DIST)/share/man/man8
	install -m 0755 $(BUILD)/bin/containerd-shim-coco-v2 $(BUILD)/bin/cococtl $(DIST)/bin/
	install -m 0755 $(BUILD)/bin/coco-vmm $(DIST)/libexec/coco/
	install -m 0644 config/dev.json config/snp.json config/tdx.json $(DIST)/etc/coco/
	install -m 0644 $(BUILD)/guest/vmlinuz $(BUILD)/guest/initramfs.cpio.gz \
		$(BUILD)/guest/manifest.json $(DIST)/share/guest/
	install -m 0644 runtimeclass/containerd/*.toml $(DIST)/share/coco/containerd/
	install -m 0644 docs/man/cococtl.1 $(DIST)/share/man/man1/
	install -m 0644 docs/man/containerd-shim-coco-v2.8 $(DIST)/share/man/man8/

demo: deps
	$(MAKE) --no-print-directory all guest-image
	@bash scripts/demo.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
