# The two commands a newcomer needs:
#   make run    install what is missing, build, serve the demo on the embedded default
#   make test   install what is missing, build, run every test (plain + ASan/UBSan + fuzz) via CTest
# Everything else is for maintainers: fuzz, bench, format, lint, clean.

BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CC         ?= cc
# clang builds the libFuzzer targets; fall back to the system compiler when it is absent.
TEST_CC    := $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
FUZZ_SECONDS ?= 300
CTEST_ARGS ?=

.PHONY: all build build-cli run test deps deps-build fuzz bench bench-scale format lint clean coverage hostile soak

all: build

deps-build:
	@scripts/install-deps.sh --build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_C_COMPILER=$(TEST_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps-build $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

# Only what `make run` starts: the CLI (not the test, sanitizer and fuzz builds).
build-cli: deps-build $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS) --target wsclean-cli

# Serves the playground once `wsclean serve` exists; until then explains the close codes.
run: build-cli
	@if $(BUILD)/wsclean help serve >/dev/null 2>&1; then exec $(BUILD)/wsclean serve; \
	 else exec $(BUILD)/wsclean codes all; fi

test: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Long fuzzing: every target for FUZZ_SECONDS each (make fuzz FUZZ_SECONDS=3600).
fuzz: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && cmake -DWS_FUZZ_SECONDS=$(FUZZ_SECONDS) . >/dev/null && \
	  ctest --output-on-failure -R '^fuzz\.' ; rc=$$?; cmake -DWS_FUZZ_SECONDS=10 . >/dev/null; exit $$rc

# Line coverage of src/proto (unit tests + fuzz corpus replay, gcc --coverage, build-cov/).
coverage: deps
	@scripts/coverage.sh build-cov

# Hostile peers at full scale (10,000 slowloris connections) and a long soak (120 s).
hostile: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && WS_HOSTILE_SCALE=10000 ctest --output-on-failure -R '^hostile$$'
soak: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && WS_SOAK_SECONDS=120 WS_HOSTILE_ONLY=soak,lost.client_close,lost.SIGTERM,lost.SIGHUP \
	  ctest --output-on-failure -R '^hostile$$'

bench: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/run.sh $(BUILD)

# Idle connections at scale on one server process: 10,000, 50,000, 100,000 (each needs that many
# file descriptors per process; counts over the RLIMIT_NOFILE hard limit are reported skipped).
bench-scale: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)
	@bench/scale.sh $(BUILD) $(SCALE_COUNTS)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h')
format:
	@clang-format -i $(FORMAT_FILES)

lint: $(BUILD)/build.ninja
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --suppress=missingIncludeSystem --inline-suppr -I include -I src --std=c11 src tools

clean:
	@rm -rf $(BUILD) build-cov
