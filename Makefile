# anatomy — front door. `make demo` and `make test` install what they need, build, then run.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: deps build demo test test-asan bench clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/anatomy models
	./$(BUILD)/anatomy inspect llama-3.2-1b

# The full suite in Release, then the same suite under AddressSanitizer + UBSan.
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory test-asan

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANATOMY_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	./$(BUILD)/bench/bench_inspect_headers $(BUILD)/bench-data/tinyllama-bf16
	bench/run_peers.sh 2

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
