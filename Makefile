# anatomy — front door. `make demo` and `make test` install what they need, build, then run.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_SECONDS ?= 600
JOBS ?= $(shell nproc)

.PHONY: deps build demo test asan-build test-asan fuzz bench clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/anatomy models
	./$(BUILD)/anatomy inspect llama-3.2-1b
	./$(BUILD)/anatomy profile gpt2 --tokens 64 --top 5
	./$(BUILD)/anatomy report gpt2 --tokens 64 --html --out demo-report
	@echo "report: demo-report/report.md, demo-report/report.html (opens offline), demo-report/charts/"

# The full suite in Release, then the same suite under AddressSanitizer + UBSan (the tokenizer
# oracles there on the edge-case texts only: ANATOMY_QUICK_ORACLES; without the two longest
# external-oracle comparisons, whose code paths the other tests run under the sanitizers too:
# Gemma 3's 262k-token vocabulary and llama.cpp's text generation), then a short run of every
# libFuzzer target (seeded with fuzz/seeds and fuzz/regressions). Each suite starts from an empty
# calibration cache (ANATOMY_CACHE_DIR), as on a fresh machine, so that no test depends on what
# `anatomy device` cached in ~/.cache before (the first command that needs ceilings measures them).
test: build
	cd $(BUILD) && rm -rf test-cache && ANATOMY_CACHE_DIR=$$PWD/test-cache ctest --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# One sanitizer tree, built by clang with libFuzzer's coverage instrumentation: the test suite and
# the fuzz targets share it (one compile of the libraries instead of two). The sanitizer run leaves
# out the slowest tokenizer oracles: gpt2's and llama2's vocabularies run the same BPE and
# SentencePiece code under ASan, and the Release run checks every vocabulary.
asan-build: deps
	@grep -qs 'CMAKE_CXX_COMPILER:.*clang' $(ASAN_BUILD)/CMakeCache.txt || rm -rf $(ASAN_BUILD)  # a tree gcc built before
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANATOMY_FUZZ=ON \
	  -DANATOMY_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

test-asan: asan-build
	cd $(ASAN_BUILD) && rm -rf test-cache && ANATOMY_CACHE_DIR=$$PWD/test-cache ANATOMY_QUICK_ORACLES=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j$(JOBS) \
	  -E '^(llamacpp\.text|tokenizer\.(hf|gguf)\.(gemma3|qwen3|llama3))$$'

# libFuzzer, FUZZ_SECONDS per target (default 10 minutes; `make test` runs 5 s each).
fuzz: asan-build
	fuzz/run.sh $(ASAN_BUILD) $(FUZZ_SECONDS)

bench: build
	./$(BUILD)/bench/bench_inspect_headers $(BUILD)/bench-data/tinyllama-bf16
	./$(BUILD)/bench/bench_profile_overhead llama-3.2-1b 128 F32 11 2
	bench/run_peers.sh 2
	bench/tokenizers.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
