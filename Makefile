# The README's commands. Each installs what is missing, configures through the
# CMake presets, builds and runs.
#   make demo    build and run the examples
#   make test    the whole suite in every lane this machine can run:
#                gcc, clang with ASan+UBSan, and mingw-w64 under Wine
#   make bench   benchmarks against CPython and the raw OS (build/bench/results.json)
#   make clean   remove build/ (keeps the cached Windows dependencies)

MINGW_PREFIX := $(CURDIR)/build/_deps/mingw
LANES ?= linux-gcc linux-asan mingw-wine

.PHONY: all demo test bench deps deps-mingw clean $(addprefix lane-,$(LANES))

all: test

deps:
	@scripts/install-deps.sh native

deps-mingw:
	@scripts/install-deps.sh mingw
	@scripts/build-mingw-deps.sh $(MINGW_PREFIX)

demo: deps
	cmake --preset linux-gcc -DMPROC_BUILD_TESTS=OFF >/dev/null
	cmake --build --preset linux-gcc --target process_info
	@echo; echo "== join(): the child has finished"; build/linux-gcc/examples/process_info join
	@echo; echo "== join(1): the child still sleeps"; build/linux-gcc/examples/process_info join1
	@echo; echo "== join(1), then a later check"; build/linux-gcc/examples/process_info join1-later
	@echo; echo "== the same under the spawn start method"; build/linux-gcc/examples/process_info join spawn

test: deps deps-mingw
	@failed=""; \
	for lane in $(LANES); do \
	  echo "==== lane $$lane"; \
	  cmake --workflow --preset $$lane --fresh || failed="$$failed $$lane"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED lanes:$$failed"; exit 1; fi; \
	echo "all lanes passed: $(LANES)"

lane-%: deps
	cmake --workflow --preset $* --fresh

bench: deps
	cmake --preset linux-release >/dev/null
	cmake --build --preset linux-release
	python3 bench/run.py build/linux-release --out build/bench/results.json

clean:
	find build -mindepth 1 -maxdepth 1 ! -name _deps -exec rm -rf {} +
