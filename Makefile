# The README's commands. Everything builds in build/ with CMake; executables land in build/bin/.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
# Clang where it is installed (scripts/install_deps.sh installs it): with a precompiled
# LibTorch header whose templates are instantiated once (-fpch-instantiate-templates),
# a translation unit compiles in ~3 s here; GCC re-instantiates them in every one (~24 s).
ZOO_CXX ?= $(shell command -v clang++ 2>/dev/null || echo c++)
SANITIZE_DIR ?= build-sanitize

.PHONY: setup configure build test demo bench sanitize format format-check clean

setup:
	bash scripts/install_deps.sh

configure:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=$(ZOO_CXX) $(CMAKE_FLAGS) > /dev/null

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Every test, then the ten slowest, so the suite's time budget stays in sight.
test: setup
	$(MAKE) build
	cd $(BUILD_DIR) && status=0 && { ctest --output-on-failure -j$(JOBS) || status=$$?; } && \
	  bash ../scripts/slowest_tests.sh Testing/Temporary/CTestCostData.txt 10 && exit $$status

# The library and its unit tests under GCC's AddressSanitizer and UndefinedBehaviorSanitizer
# (tests/sanitize/lsan.supp: a leak inside LibTorch itself).
sanitize: setup
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ -DZOO_SANITIZE=ON \
	  -DZOO_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS) > /dev/null
	cmake --build $(SANITIZE_DIR) -j$(JOBS) --target zoo_unit_tests
	cd $(SANITIZE_DIR) && LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitize/lsan.supp \
	  ctest --output-on-failure -j$(JOBS) -L unit

# The style is .clang-format's; CI fails on code that does not follow it.
SOURCES = $(shell git ls-files '*.cpp' '*.h')
format:
	@clang-format -i $(SOURCES)

format-check: setup
	@clang-format --dry-run --Werror $(SOURCES) && echo "format-check: $(words $(SOURCES)) files follow .clang-format"

demo: setup
	$(MAKE) build
	bash scripts/demo.sh $(BUILD_DIR)/bin runs/demo

bench: setup
	bash scripts/install_deps.sh --bench
	$(MAKE) build
	bash bench/run.sh $(BUILD_DIR)/bin

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR)
