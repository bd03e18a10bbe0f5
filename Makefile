# Thin wrapper over scripts/setup.sh and meson/ninja; the build itself is
# described in meson.build.  `make demo` and `make test` are the two
# commands to know.
MESON ?= meson
NINJA ?= ninja
BUILD ?= build
BUILD_ASAN ?= build-asan

.PHONY: all setup build test test-long test-asan test-aarch64 fuzz demo demo-coro bench bench-echo bench-tcp bench-http bench-apps clean

all: build

setup:
	bash scripts/setup.sh

build: setup
	@if [ ! -d $(BUILD) ]; then $(MESON) setup $(BUILD); fi
	$(NINJA) -C $(BUILD)

test: build
	$(MESON) test -C $(BUILD) --print-errorlogs --num-processes 2

# The 'long' suite (tests/meson.build), which the default run leaves out:
# TCP interop at 5% loss with 100 MB each way, about 10 minutes.
test-long: build
	$(MESON) test -C $(BUILD) --setup long --suite long --print-errorlogs

# A separate debug tree with ASan+UBSan; LeakSanitizer is on, and any UB
# report fails the test.  An existing tree gets the same options again, so
# it cannot silently lack the sanitizers.  The TCP interop streams stop
# at 10 MB here (TN_TEST_MAX_BYTES; 100 MB in the release run).
ASAN_OPTS = -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false \
	    -Dbuildtype=debug -Ddebug_checks=true

test-asan: setup
	@if [ ! -d $(BUILD_ASAN) ]; then \
		echo "$(MESON) setup $(BUILD_ASAN) $(ASAN_OPTS)"; \
		$(MESON) setup $(BUILD_ASAN) $(ASAN_OPTS); \
	else \
		$(MESON) configure $(BUILD_ASAN) $(ASAN_OPTS) >/dev/null; \
	fi
	$(NINJA) -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	TN_TEST_MAX_BYTES=10000000 \
		$(MESON) test -C $(BUILD_ASAN) --print-errorlogs

# switch_aarch64.S for real: cross-built and run under qemu-aarch64.
test-aarch64: setup
	bash scripts/cross_aarch64.sh

# libFuzzer (clang, ASan+UBSan): 60 s on the protocol stack from the seed
# corpus tests/fuzz/corpus/ (tests/fuzz/make_corpus.py), then 60 s on TCP
# from tests/fuzz/corpus_tcp/ (tests/fuzz/make_corpus_tcp.py).
fuzz: setup
	bash scripts/fuzz.sh 60

# The first thing a new user runs (scripts/demo.py): tern-httpd on AF_XDP
# with curl from the kernel, echo round trips Tern vs the kernel, a table
# and a latency CDF ($(BUILD)/demo/rtt-cdf.png); under a minute, and every
# namespace and process it made is gone afterwards.  demo-coro: the
# coroutine runtime alone (apps/coro_demo.c).
demo: build
	python3 scripts/demo.py --build-dir $(BUILD)

demo-coro: build
	./$(BUILD)/apps/tern-coro-demo

# bench/run_micro.py runs the coro/ micro-benchmarks (bench/out/micro.json);
# without it, the raw Google Benchmark binary.  Then bench/run_dataplane.py
# runs tern-reflect against testpmd and raw-reflect over memif and vhost
# (bench/out/dataplane.json and the Dataplane block of bench/RESULTS.md).
bench: build
	@if [ -f bench/run_micro.py ]; then \
		python3 bench/run_micro.py; \
	else \
		./$(BUILD)/bench/tn-bench; \
	fi
	python3 bench/run_dataplane.py

# bench/run_echo.py: tern-echo's UDP round trip and throughput over vhost
# and memif, against the kernel's UDP over loopback (sockperf) and the
# raw-DPDK reflector, with the Stack I targets (bench/out/echo.json and
# the UDP echo block of bench/RESULTS.md).  About 2 minutes; not part of
# `make bench`.
bench-echo: build
	python3 bench/run_echo.py

# bench/run_tcp.py: TCP round trip and one-flow bulk, tern-echo to
# tern-echo over vhost-user against the kernel over loopback (sockperf,
# iperf3), and the memory of 100,000 idle connections, with the Stack II
# targets (bench/out/tcp.json and the TCP block of bench/RESULTS.md).
# About 1-3 minutes; not part of `make bench`.
bench-tcp: build
	python3 bench/run_tcp.py

# tern-httpd + tern-load over vhost-user vs nginx + wrk over loopback
# (bench/run_http.py): requests/s and p99, the HTTP section of RESULTS.md.
bench-http: build
	python3 bench/run_http.py

# The apps' benchmark in one run: HTTP as above, then tern-feed's one-way
# latency against kernel UDP sockets (bench/run_feed.py), same two cores.
bench-apps: bench-http
	python3 bench/run_feed.py --no-build

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-aarch64 build-fuzz
