# libpooldbg — build, test, stress, bench, demo.
# Every target builds what it needs; nothing here depends on state left by hand.

CARGO   ?= cargo
LIB     := target/release/libpooldbg.so
LOCKLIB := target/lockstat/release/libpooldbg.so
LOCKTIMELIB := target/lockstat-time/release/libpooldbg.so
ABLATIONLIB := target/ablation/release/libpooldbg.so
BUILD   := build
export LIB LOCKLIB LOCKTIMELIB ABLATIONLIB BUILD

.PHONY: all lib lockstat lockstat-time ablation ablation-lockstat test lint unit ctest exports test-wrapper test-bench-plot smoke compat compat-if-possible stress bench bench-plot demo install uninstall clean

all: lib

lib:
	$(CARGO) build --release

# The same library with per-critical-section counters: page faults, hold and
# wait times under the pool lock (the lock test), and a time-only variant whose
# holds are not lengthened by the fault counting (the benchmarks' lock figures).
lockstat:
	$(CARGO) build --release --features lockstat_faults --target-dir target/lockstat

lockstat-time:
	$(CARGO) build --release --features lockstat --target-dir target/lockstat-time

# The seed's "before", for benchmarks only: prefault and header writes under the lock.
ablation:
	$(CARGO) build --release --features lock_prefault --target-dir target/ablation

# lockstat + the ablation: the lock test's negative control (faults must show).
ablation-lockstat:
	$(CARGO) build --release --features lock_prefault,lockstat_faults --target-dir target/ablation-lockstat

test: lint unit lib lockstat exports ctest test-wrapper test-bench-plot smoke compat-if-possible
	@echo "make test: all suites passed"

# The code's shape: formatting, clippy with warnings as errors (every feature
# combination the Makefile builds), and the layering of src/ (no import
# cycle, imports point down the layers of docs/ARCHITECTURE.md).
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release --all-targets --features lockstat_faults,lock_prefault --target-dir target/clippy-features -- -D warnings
	scripts/check_layers.py

unit:
	$(CARGO) test --release

exports: lib
	scripts/check_exports.sh $(LIB)

# The C harness runs every guard mechanism itself (run_c_tests.sh); the
# detection suite runs once per guard mechanism this kernel offers (forced
# with guard=), and says which one it cannot run.
ctest: lib lockstat ablation-lockstat
	scripts/run_c_tests.sh
	@for m in uffd marker mprotect; do \
	    if env POOLDBG_OPTIONS=guard=$$m LD_PRELOAD=$(abspath $(LIB)) true 2>/dev/null; then \
	        echo "detect: guard=$$m"; DETECT_OPTIONS=guard=$$m scripts/run_detect_tests.sh || exit 1; \
	    else echo "detect: guard=$$m is not offered by this kernel: not run"; fi; \
	done
	scripts/run_hostile_tests.sh

smoke: lib
	scripts/smoke.sh

# The library built here, run on glibc 2.31 in a Debian 11 root made with
# debootstrap (needs root; the root is made once and cached, see the script).
compat: lib
	scripts/compat.sh

# make test's: the same, but a machine that cannot make the root (not root,
# no debootstrap, no mirror) says so in one line and skips it.
compat-if-possible: lib
	scripts/compat.sh --optional

# The wrapper (scripts/pooldbg), its symbolizer, man page and install.
test-wrapper: lib
	scripts/test_wrapper.sh

# The benchmark plots, drawn from a small fixed sample of raw results.
test-bench-plot:
	scripts/test_bench_plot.sh

PREFIX ?= /usr/local

install: lib
	scripts/install.sh install $(PREFIX)

uninstall:
	scripts/install.sh uninstall $(PREFIX)

stress: lib
	scripts/stress.sh
	scripts/load_test.sh

bench: lib lockstat-time ablation
	scripts/bench.sh

# The plots of BENCHMARKS.md, drawn again from the raw results make bench
# kept in docs/bench/ (no benchmark is run).
bench-plot:
	scripts/bench_plot.sh

demo: lib
	scripts/demo.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
