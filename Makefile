# tern: `make` builds build/tern; `make run` starts a development server;
# `make test` runs every test. Missing Debian packages are installed first.

BUILD     ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
BENCH_DIR ?= build-bench
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST    ?= /usr/bin/python3 -m pytest
FUZZ_SECONDS ?= 60

.PHONY: all deps build test unit integration run asan fuzz bench clean

all: build

build:
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit integration

unit:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# -rs: every skipped test is listed with its reason at the end
integration:
	TERN_BIN=$(CURDIR)/$(BUILD)/tern $(PYTEST) -q -rs -p no:cacheprovider tests/integration

run: build
	$(BUILD)/tern serve --dev

# All tests (unit, fuzz corpus replay and integration) under AddressSanitizer + UBSan.
asan:
	@scripts/deps.sh asan
	@cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  TERN_BIN=$(CURDIR)/$(ASAN_DIR)/tern $(PYTEST) -q -rs -p no:cacheprovider tests/integration

# Each libFuzzer target for FUZZ_SECONDS, starting from its seed corpus.
fuzz:
	@scripts/deps.sh fuzz
	@CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DTERN_FUZZ=ON -DTERN_TESTS=OFF -DTERN_WERROR=OFF >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS)
	@set -e; for t in $(FUZZ_DIR)/fuzz-*; do \
	  name=$$(basename $$t); mkdir -p $(FUZZ_DIR)/corpus-$$name; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	      $(FUZZ_DIR)/corpus-$$name tests/fuzz/corpus/$$name 2>&1 | tail -n 12; \
	done

bench:
	@scripts/deps.sh bench
	@cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DTERN_TESTS=OFF -DTERN_BENCH=ON >/dev/null
	@cmake --build $(BENCH_DIR) -j $(JOBS)
	bench/run.sh $(BENCH_DIR)

clean:
	rm -rf $(BUILD) $(ASAN_DIR) $(FUZZ_DIR) $(BENCH_DIR)
