# qipc: build, test and measure. `make test` is what CI runs (.ci/run).
GO      ?= go
BUILD   := build
CFLAGS  := -O2 -Wall -Wextra -Werror -std=c11 -pthread
MINGWCC ?= x86_64-w64-mingw32-gcc
# Fuzzing budgets are counts, not durations: a duration races Go 1.26's fuzz
# coordinator at the deadline (golang/go#75804, fixed in 1.27) and fails with
# "context deadline exceeded" and no crasher. About 15 s each here.
FUZZ_PARSEKEY ?= 300000x
FUZZ_DERIVATION ?= 150000x
FUZZ_QDATASTREAM ?= 100000x
export QIPC_BUILD := $(abspath $(BUILD))
# The Python peers (PySide6, posix_ipc, sysv_ipc) and zig live in a virtual
# environment (`make venv`): Debian's own python3 refuses pip installs
# (PEP 668). Its python3 comes first wherever it exists.
VENV    := $(BUILD)/venv
PYPKGS  := PySide6-Essentials posix_ipc sysv_ipc ziglang
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: demo all build peers cpeer qtpeers pauselib venv test check verify native unit nocgo cross test-arm64 test-musl test-386 fuzz interop bench bench-quick stress test-windows clean

all: build

build: peers
	$(GO) build ./...

peers: cpeer qtpeers pauselib

cpeer: $(BUILD)/cpeer

pauselib: $(BUILD)/libqipcpause.so

venv: $(VENV)/.done

$(VENV)/.done:
	python3 -m venv $(VENV)
	$(VENV)/bin/python3 -m pip install -q --disable-pip-version-check $(PYPKGS)
	@touch $@

# Preloaded into a peer to stop it between two system calls of create, for
# the crash matrix (peers/PROTOCOL.md).
$(BUILD)/libqipcpause.so: peers/pause/pause.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

$(BUILD)/cpeer: peers/c/peer.c
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) -o $@ $< -lrt

$(BUILD)/cpeer.exe: peers/c/peer.c
	@mkdir -p $(BUILD)
	$(MINGWCC) -O2 -Wall -Wextra -Werror -o $@ $< -lshell32

qtpeers:
	@mkdir -p $(BUILD)
	bash peers/qt/build.sh $(BUILD)

# The main job, on a machine where no Qt application runs (tools/demo.sh).
demo:
	bash tools/demo.sh

# The whole suite, as CI runs it: static checks, the race-enabled tests with
# every peer, bounded fuzzing, and the Windows backend under Wine.
test: check peers
	@bash tools/leftovers.sh snapshot $(BUILD)/ipc.before
	# One package at a time: the packages' tests share the temp dir and the
	# System V tables, ftok keys come from inode numbers that one package's
	# key files reuse after another's, and several tests count every
	# System V object on the machine.
	$(GO) test -race -count=1 -p 1 -timeout 30m ./...
	$(MAKE) demo
	$(MAKE) verify
	$(MAKE) nocgo
	$(MAKE) cross
	$(MAKE) test-arm64
	$(MAKE) test-musl
	$(MAKE) test-386
	$(MAKE) fuzz
	$(MAKE) test-windows
	@bash tools/leftovers.sh check $(BUILD)/ipc.before

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; \
	 elif [ "$$CI" = true ]; then echo "staticcheck missing: go install honnef.co/go/tools/cmd/staticcheck@latest"; exit 1; \
	 else echo "skip: staticcheck not installed (go install honnef.co/go/tools/cmd/staticcheck@latest)"; fi
	@bash tools/c-edit-check.sh
	$(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

# The mutation check: planted faults (tools/verify.sh) must each turn
# some test red, and those tests must pass without them.
verify: peers
	bash tools/verify.sh

# A build without cgo says what is missing (ErrNeedsCgo).
nocgo:
	CGO_ENABLED=0 $(GO) test -count=1 -run '^TestWithoutCgo$$' .

# darwin/amd64, darwin/arm64, freebsd/amd64, linux/arm64 and windows/amd64:
# package, test binary and cmd/qipc built with cgo; vet and staticcheck.
cross:
	bash tools/cross/build.sh

# The test binary and the C peer built statically for musl (zig), run
# natively beside the glibc peers.
test-musl: peers
	bash tools/musl/test-musl.sh

# The linux/386 test binary, Go peer and C peer (glibc, zig), run natively
# beside the 64-bit peers.
test-386: peers
	bash tools/i386/test-386.sh

# The linux/arm64 test binary under qemu-user, with the native peers.
test-arm64: peers
	bash tools/qemu/test-arm64.sh

# What a Linux machine can run natively, without Wine, qemu or zig (the
# GitHub arm64 runner).
native: check peers
	$(GO) test -race -count=1 -p 1 -timeout 30m ./...
	$(MAKE) verify

unit:
	$(GO) test -race -count=1 -short ./...

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseKey$$' -fuzztime=$(FUZZ_PARSEKEY) .
	$(GO) test -run='^$$' -fuzz='^FuzzKeyDerivation$$' -fuzztime=$(FUZZ_DERIVATION) .
	$(GO) test -run='^$$' -fuzz='^FuzzReader$$' -fuzztime=$(FUZZ_QDATASTREAM) ./qdatastream/

interop: peers
	$(GO) test -count=1 -run 'Compat|Interop|Counter' -v ./systest

bench: peers
	@QIPC_BENCH=1 $(GO) test -count=1 -run='^TestBenchTable$$' -timeout 30m -v ./systest >$(BUILD)/bench.out 2>&1; st=$$?; grep -v -e '^=== ' -e '--- PASS' -e '^PASS' -e '^ok ' $(BUILD)/bench.out; exit $$st

# The rows a change to waiting or spinning moves most, one round, Go and C
# only, without the Go floor (under a minute): uncontended takes, crowded
# counters, loaded rows.
BENCH_QUICK_ROWS = Acquire\+Release|Lock\+Unlock|counter, [48] processes|CPU per increment|loaded
bench-quick: peers
	@QIPC_BENCH=1 QIPC_BENCH_ROUNDS=1 QIPC_BENCH_ROWS='$(BENCH_QUICK_ROWS)' QIPC_BENCH_NOQT=1 QIPC_BENCH_NOFLOOR=1 $(GO) test -count=1 -run='^TestBenchTable$$' -timeout 10m -v ./systest >$(BUILD)/bench.out 2>&1; st=$$?; grep -v -e '^=== ' -e '--- PASS' -e '^PASS' -e '^ok ' $(BUILD)/bench.out; exit $$st

stress: peers
	QIPC_STRESS=1 $(GO) test -race -count=1 -run 'Stress|Crash|Signals|CloseRaces|BadInput|Interleavings|StartupOneLock' -timeout 60m -v . ./systest

# Without mingw or Wine the script skips with a message (fails under CI=true).
test-windows:
	@if command -v $(MINGWCC) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(BUILD)/cpeer.exe; fi
	bash tools/wine/test-windows.sh

clean:
	rm -rf $(BUILD)
