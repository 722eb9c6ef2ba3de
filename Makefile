# The README's commands. Everything builds in build/ with CMake; executables land in build/bin/.
BUILD_DIR ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: setup configure build test demo bench clean

setup:
	bash scripts/install_deps.sh

configure:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > /dev/null

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: setup
	$(MAKE) build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

demo: setup
	$(MAKE) build
	bash scripts/demo.sh $(BUILD_DIR)/bin runs/demo

bench: setup
	$(MAKE) build
	bash bench/run.sh $(BUILD_DIR)/bin

clean:
	rm -rf $(BUILD_DIR)
