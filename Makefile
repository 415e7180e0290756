# tickgate: `make run` (demo), `make test` (typecheck + every test), `make bench`.
NODE_BIN := node_modules/.bin

.PHONY: install build typecheck test test-unit test-integration test-faults run bench clean

# npm ci only when the lockfile changed since the last install (npm writes node_modules/.package-lock.json).
node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

build: install
	$(NODE_BIN)/tsc -p tsconfig.json
	@chmod +x dist/cli.js
	node dist/client/build-browser.js
	node dist/web/build/build-web.js

typecheck: install
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit
	$(NODE_BIN)/tsc -p test/tsconfig.json --noEmit

.PHONY: .build/test
.build/test: build
	$(NODE_BIN)/tsc -p test/tsconfig.json

test: typecheck build .build/test
	$(NODE_BIN)/mocha

test-unit: build .build/test
	$(NODE_BIN)/mocha --spec '.build/test/test/unit/**/*.spec.js'

test-integration: build .build/test
	$(NODE_BIN)/mocha --spec '.build/test/test/integration/**/*.spec.js'

test-faults: build .build/test
	$(NODE_BIN)/mocha --spec '.build/test/test/faults/**/*.spec.js'

run: build
	node dist/cli.js demo $(ARGS)

# Under 10 minutes; BENCH_QUICK=1 under one. Results in bench-results/<time>/ (JSON, Markdown, SVG).
bench: build
	node dist/bench/run.js $(ARGS)
	node dist/bench/metrics-cost.js $(if $(BENCH_QUICK),--ticks 200000 --connections 500 --scrapes 20,)
	node dist/bench/slow-consumer.js
	node dist/bench/handoff.js $(if $(BENCH_QUICK),--reads 500,)

clean:
	rm -rf dist .build
