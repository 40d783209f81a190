# The README's commands. Each installs what is missing, configures through the
# CMake presets, builds and runs.
#   make demo    build and run the examples: the programs of the user's seed
#                notes (each under a heading naming its seed file), and a Pool
#   make test    the whole suite in every lane this machine can run:
#                gcc, clang with ASan+UBSan, and mingw-w64 under Wine
#                then the consumer test, the API reference and packaging checks
#                and the MSVC-mode lane: every source, test and example
#                compiled as MSVC 19.40 sees it (clang, Wine's headers),
#                warnings as errors (scripts/msvc-syntax.sh)
#   make lane-linux-gcc, lane-linux-asan, lane-mingw-wine, lane-msvc-syntax
#                one lane of it
#   make consumer-test  install mproc (static and shared, native and mingw) and
#                build and run a separate project against it, through
#                find_package and pkg-config (scripts/consumer-test.sh)
#   make docs    API reference from the public headers with Doxygen
#                (build/docs/html); any Doxygen warning fails it
#   make check-packaging  the vcpkg and conan files parse and agree on the
#                version (they need the network to run)
#   make fuzz    every libFuzzer target in fuzz/ for FUZZ_SECONDS each (default 300);
#                make test runs each for FUZZ_TEST_SECONDS (default 20)
#   make coverage  line and branch coverage of src/ by the linux tests, children
#                included (gcovr; build/coverage/index.html)
#   make stress  the queue's randomized fault injection for longer (STRESS_SECONDS,
#                default 120 per start method; STRESS_SEED repeats a run)
#   make bench   benchmarks against CPython and raw C floors (build/bench/results.json),
#                sweeps plotted beside it (build/bench/*.svg, gnuplot), and a
#                Windows column: the mingw build against raw Win32 programs,
#                both under Wine (about 10 minutes on 2 cores)
#   make clean   remove build/ (keeps the cached Windows dependencies)
# Open MPI (scripts/install-deps.sh mpi) is installed for the optional MPI
# backend, libmproc-mpi: its tests run in the Linux lanes, its example in demo.

MINGW_PREFIX := $(CURDIR)/build/_deps/mingw
EXAMPLES := build/linux-gcc/examples
# The user's notes each demo program comes from (in ../shared/seeds/).
SEED_000 := 000_1edd454db93966f3.txt
SEED_004 := 004_ac251958022dce8b.txt
LANES ?= linux-gcc linux-asan mingw-wine
FUZZ_SECONDS ?= 300
FUZZ_TEST_SECONDS ?= 20
CONSUMER_KINDS ?= native-static native-shared mingw-static mingw-shared
MPROC_VERSION := $(shell sed -n 's/^project.mproc VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

.PHONY: all demo test stress fuzz coverage bench docs consumer-test check-packaging deps deps-mingw deps-mpi deps-bench clean $(addprefix lane-,$(LANES)) lane-msvc-syntax

all: test

deps:
	@scripts/install-deps.sh native

deps-bench:
	@scripts/install-deps.sh bench

deps-mingw:
	@scripts/install-deps.sh mingw
	@scripts/build-mingw-deps.sh $(MINGW_PREFIX)

deps-mpi:
	@scripts/install-deps.sh mpi

# Open MPI refuses root and a third rank on two cores unless told.
MPI_RUN := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpiexec --oversubscribe -n 3

demo: deps deps-mpi
	cmake --preset linux-gcc -DMPROC_BUILD_TESTS=OFF >/dev/null
	cmake --build --preset linux-gcc --target process_info producer_consumer pool_squares lock_hello shared_value
	@echo; echo "== seed $(SEED_000): Process, join()"; $(EXAMPLES)/process_info join
	@echo; echo "== seed $(SEED_000): Process, join(1); main returns, the exit rule waits for the child"
	@$(EXAMPLES)/process_info join1
	@echo; echo "== seed $(SEED_000): Process, join(1), then a look 10 s later"
	@$(EXAMPLES)/process_info join1-later
	@echo; echo "== seed $(SEED_004): the exit rule for a daemonic child (form 2 with daemon=True): terminated"
	@$(EXAMPLES)/process_info join1-daemon
	@echo; echo "== seed $(SEED_000): Process, join(), under the spawn start method"
	@$(EXAMPLES)/process_info join spawn
	@echo; echo "== seed $(SEED_004): Processor, 3 producers and 2 consumers on one Queue"
	@$(EXAMPLES)/producer_consumer
	@echo; echo "== not from a seed: a Pool of 4, map, imap_unordered, and a worker that crashes"
	@$(EXAMPLES)/pool_squares
	@echo; echo "== seed $(SEED_004) names Lock and shared data; Python's docs: ten processes print under one Lock"
	@$(EXAMPLES)/lock_hello
	@echo; echo "== Python's docs: a Value('d') and an Array('i', range(10)) changed by a child"
	@$(EXAMPLES)/shared_value
	@if grep -q '^MPROC_HAVE_MPI:INTERNAL=ON' build/linux-gcc/CMakeCache.txt; then cmake --build --preset linux-gcc --target pool_mpi && echo && echo "== the same Pool on MPI ranks: $(MPI_RUN) pool_mpi" && $(MPI_RUN) $(EXAMPLES)/pool_mpi; else echo "(MPI not built: no MPI demo)"; fi

test: deps deps-mingw deps-mpi
	@failed=""; steps=0; \
	for lane in $(LANES); do \
	  echo "==== lane $$lane"; steps=$$((steps + 1)); \
	  cmake --workflow --preset $$lane --fresh || failed="$$failed lane-$$lane"; \
	done; \
	echo "==== lane msvc-syntax (MSVC mode, warnings are errors)"; steps=$$((steps + 1)); \
	scripts/msvc-syntax.sh $(MINGW_PREFIX) || failed="$$failed lane-msvc-syntax"; \
	echo "==== fuzz targets, $(FUZZ_TEST_SECONDS) s each"; steps=$$((steps + 1)); \
	scripts/run-fuzz.sh $(FUZZ_TEST_SECONDS) || failed="$$failed fuzz"; \
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
$(addprefix lane-,$(LANES)): lane-%: deps deps-mpi
	cmake --workflow --preset $* --fresh

lane-mingw-wine: deps-mingw

lane-msvc-syntax: deps-mingw
	scripts/msvc-syntax.sh $(MINGW_PREFIX)

consumer-test: deps deps-mingw deps-mpi
	scripts/consumer-test.sh $(CONSUMER_KINDS)

fuzz: deps
	scripts/run-fuzz.sh $(FUZZ_SECONDS)

coverage: deps
	scripts/coverage.sh

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

bench: deps deps-mingw deps-mpi deps-bench
	cmake --preset linux-release >/dev/null
	cmake --build --preset linux-release
	cmake --preset mingw-release >/dev/null
	cmake --build --preset mingw-release
	python3 bench/run.py build/linux-release --windows build/mingw-release \
	  --out build/bench/results.json
	python3 bench/run_mpi.py build/linux-release --out build/bench/results_mpi.json

clean:
	find build -mindepth 1 -maxdepth 1 ! -name _deps -exec rm -rf {} +
