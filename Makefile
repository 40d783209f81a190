# The README's commands. Each installs what is missing, configures through the
# CMake presets, builds and runs.
#   make demo    build and run the examples
#   make test    the whole suite in every lane this machine can run:
#                gcc, clang with ASan+UBSan, and mingw-w64 under Wine
#                then the consumer test, the API reference and packaging checks
#   make lane-linux-gcc, lane-linux-asan, lane-mingw-wine   one lane of it
#   make consumer-test  install mproc (static and shared, native and mingw) and
#                build and run a separate project against it, through
#                find_package and pkg-config (scripts/consumer-test.sh)
#   make docs    API reference from the public headers with Doxygen
#                (build/docs/html); any Doxygen warning fails it
#   make check-packaging  the vcpkg and conan files parse and agree on the
#                version (they need the network to run)
#   make stress  the queue's randomized fault injection for longer (STRESS_SECONDS,
#                default 120 per start method; STRESS_SEED repeats a run)
#   make bench   benchmarks against CPython and the raw OS (build/bench/results.json)
#   make clean   remove build/ (keeps the cached Windows dependencies)

MINGW_PREFIX := $(CURDIR)/build/_deps/mingw
LANES ?= linux-gcc linux-asan mingw-wine
CONSUMER_KINDS ?= native-static native-shared mingw-static mingw-shared
MPROC_VERSION := $(shell sed -n 's/^project.mproc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

.PHONY: all demo test stress bench docs consumer-test check-packaging deps deps-mingw clean $(addprefix lane-,$(LANES))

all: test

deps:
	@scripts/install-deps.sh native

deps-mingw:
	@scripts/install-deps.sh mingw
	@scripts/build-mingw-deps.sh $(MINGW_PREFIX)

demo: deps
	cmake --preset linux-gcc -DMPROC_BUILD_TESTS=OFF >/dev/null
	cmake --build --preset linux-gcc --target process_info producer_consumer pool_squares
	@echo; echo "== join(): the child has finished"; build/linux-gcc/examples/process_info join
	@echo; echo "== join(1): the child still sleeps"; build/linux-gcc/examples/process_info join1
	@echo; echo "== join(1), then a later check"; build/linux-gcc/examples/process_info join1-later
	@echo; echo "== the same under the spawn start method"; build/linux-gcc/examples/process_info join spawn
	@echo; echo "== 3 producers, 2 consumers, one Queue"; build/linux-gcc/examples/producer_consumer
	@echo; echo "== a Pool of 4: map, imap_unordered, and a worker that crashes"; build/linux-gcc/examples/pool_squares

test: deps deps-mingw
	@failed=""; steps=0; \
	for lane in $(LANES); do \
	  echo "==== lane $$lane"; steps=$$((steps + 1)); \
	  cmake --workflow --preset $$lane --fresh || failed="$$failed lane-$$lane"; \
	done; \
	echo "==== consumer test"; steps=$$((steps + 1)); \
	scripts/consumer-test.sh $(CONSUMER_KINDS) || failed="$$failed consumer-test"; \
	echo "==== API reference (Doxygen, warnings are errors)"; steps=$$((steps + 1)); \
	$(MAKE) --no-print-directory docs || failed="$$failed docs"; \
	echo "==== packaging files (vcpkg, conan)"; steps=$$((steps + 1)); \
	python3 scripts/check-packaging.py || failed="$$failed check-packaging"; \
	nfailed=$$(echo $$failed | wc -w); \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; fi; \
	echo "make-test: $$((steps - nfailed)) passed, $$nfailed failed"; \
	[ -z "$$failed" ]

# A static pattern: make skips implicit rules for .PHONY targets.
$(addprefix lane-,$(LANES)): lane-%: deps
	cmake --workflow --preset $* --fresh

lane-mingw-wine: deps-mingw

consumer-test: deps deps-mingw
	scripts/consumer-test.sh $(CONSUMER_KINDS)

check-packaging:
	python3 scripts/check-packaging.py

docs: deps
	@rm -rf build/docs && mkdir -p build/docs
	MPROC_VERSION=$(MPROC_VERSION) doxygen docs/Doxyfile
	python3 docs/check_documented.py build/docs/xml
	@echo "docs: build/docs/html/index.html (no warnings, no undocumented symbol)"

STRESS_SECONDS ?= 120
stress: deps
	cmake --preset linux-gcc >/dev/null
	cmake --build --preset linux-gcc --target test_queue_faults
	@for method in fork spawn; do \
	  MPROC_STRESS_SECONDS=$(STRESS_SECONDS) $(if $(STRESS_SEED),MPROC_STRESS_SEED=$(STRESS_SEED)) \
	    build/linux-gcc/tests/test_queue_faults $$method 'randomized_kills' || exit 1; \
	done

bench: deps
	cmake --preset linux-release >/dev/null
	cmake --build --preset linux-release
	python3 bench/run.py build/linux-release --out build/bench/results.json

clean:
	find build -mindepth 1 -maxdepth 1 ! -name _deps -exec rm -rf {} +
