# The two commands of the README: `make run` and `make test`. Everything else is a helper.
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test

.PHONY: run test deps release build-test bench clean

deps:
	@./scripts/install-deps.sh

release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DLINE_BUILD_TESTS=OFF > /dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)

# Starts lined on 127.0.0.1:8080 with its store at ./line-data/line.db.
run: release
	./$(RELEASE_DIR)/lined --listen 127.0.0.1:8080 --store sqlite:line-data/line.db

build-test: deps
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DLINE_SANITIZE=ON -DLINE_BUILD_BENCH=OFF > /dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS)

# Builds with ASan and UBSan and runs every test. The PostgreSQL tests use the server that
# LINE_TEST_PG names; when it is unset, a throwaway one (scripts/test-postgres.sh) is started
# for the run and stopped after it, whether the tests pass, fail or are interrupted.
test: build-test
	@if [ -n "$$LINE_TEST_PG" ]; then \
	  cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS); \
	else \
	  pg_env=$$($(CURDIR)/scripts/test-postgres.sh start) || exit 1; \
	  eval "$$pg_env"; \
	  trap '$(CURDIR)/scripts/test-postgres.sh stop "$$LINE_TEST_PG_DIR"' EXIT; \
	  trap 'exit 130' INT TERM; \
	  echo "make test: PostgreSQL for the tests at $$LINE_TEST_PG"; \
	  cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS); \
	fi

# Release build with the benchmarks, then every figure of the throughput issue on the embedded
# store and on PostgreSQL (LINE_TEST_PG, or a throwaway server as for `make test`), and one
# table against the targets (scripts/bench.sh, about four minutes; docs/performance.md).
bench: release
	@cmake -S . -B $(RELEASE_DIR) -DLINE_BUILD_BENCH=ON > /dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS)
	@./scripts/bench.sh $(RELEASE_DIR)

clean:
	rm -rf build
