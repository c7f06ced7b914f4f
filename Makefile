# tern: `make` builds build/tern; `make run` starts a development server;
# `make test` runs every test; `make install` installs it (PREFIX, DESTDIR).
# Missing Debian packages are installed first.

BUILD     ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
BENCH_DIR ?= build-bench
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST    ?= /usr/bin/python3 -m pytest
FUZZ_SECONDS ?= 60

# make install: where things go (DESTDIR is prepended to each, for packages)
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/tern
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
STATEDIR   ?= /var/lib/tern

.PHONY: all deps build tern test unit integration run install install-files asan fuzz bench clean

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

# only the tern binary (no unit tests, no fuzz replays), its compiler output
# in $(BUILD)/tern-build.log and a one-line summary here
tern:
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@if cmake --build $(BUILD) --target tern -j $(JOBS) >$(BUILD)/tern-build.log 2>&1; then \
	  echo "built $(BUILD)/tern: $$(grep -c 'Building C object' $(BUILD)/tern-build.log) files" \
	       "compiled, $$(grep -c 'warning:' $(BUILD)/tern-build.log) warnings" \
	       "(output in $(BUILD)/tern-build.log)"; \
	else tail -n 40 $(BUILD)/tern-build.log; echo "build failed: $(BUILD)/tern-build.log"; exit 1; fi

# the development server: data in ./var, listeners on 127.0.0.1:2525 and up;
# it prints the demo account's password and a swaks line at every start
run: tern
	@exec $(BUILD)/tern serve --dev

install: tern
	@$(MAKE) --no-print-directory install-files

# the copying alone, of $(BUILD)/tern as it is (the tests install the binary
# they test this way)
install-files:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/tern
	install -d -m 0711 $(DESTDIR)$(STATEDIR)
	install -m 0755 $(BUILD)/tern $(DESTDIR)$(SBINDIR)/tern
	ln -sf tern $(DESTDIR)$(SBINDIR)/sendmail
	ln -sf tern $(DESTDIR)$(SBINDIR)/mailq
	install -m 0644 man/tern.8 man/tern-sendmail.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/tern.toml.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's|/var/lib/tern|$(STATEDIR)|g' dist/tern.toml >$(DESTDIR)$(DOCDIR)/examples/tern.toml
	@# an existing config is the administrator's: never overwritten
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/tern/tern.toml ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/tern/tern.toml (the example is in $(DOCDIR)/examples)"; \
	else \
	  echo "install -m 0644 $(DESTDIR)$(DOCDIR)/examples/tern.toml $(DESTDIR)$(SYSCONFDIR)/tern/tern.toml"; \
	  install -m 0644 $(DESTDIR)$(DOCDIR)/examples/tern.toml $(DESTDIR)$(SYSCONFDIR)/tern/tern.toml; \
	fi
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  -e 's|@UNITDIR@|$(UNITDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' \
	  dist/tern.service.in >$(DESTDIR)$(UNITDIR)/tern.service
	@echo "next: adduser --system --group --home $(STATEDIR) tern; edit $(SYSCONFDIR)/tern/tern.toml;" \
	  "tern serve --check; systemctl daemon-reload; systemctl enable --now tern (docs/deployment.md)"

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
