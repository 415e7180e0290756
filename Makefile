# tickgate: `make run` (demo), `make test` (typecheck + lint + every test), `make bench`.
NODE_BIN := node_modules/.bin

.PHONY: install system-deps build sdk-pack typecheck lint test test-unit test-integration test-faults mutate run bench clean

# npm ci only when the lockfile changed since the last install (npm writes node_modules/.package-lock.json).
node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

# redis-server, chromium, prometheus (and taskset for the bench): installed when missing and this user can, else the
# exact command to run.
system-deps:
	@bash test/system-deps.sh

build: install
	$(NODE_BIN)/tsc -p tsconfig.json
	@chmod +x dist/cli.js
	node dist/client/build-browser.js
	node dist/web/build/build-web.js

# The client SDK as its own npm package, at the gateway's version: dist/tickgate-client-<version>.tgz
# (src/client/pack-sdk.ts; what it holds is in src/client/README.md).
sdk-pack: build
	node dist/client/pack-sdk.js

typecheck: install
	$(NODE_BIN)/tsc -p tsconfig.json --noEmit
	$(NODE_BIN)/tsc -p test/tsconfig.json --noEmit

# typescript-eslint's recommended rules and the layering of src/ as import rules (.eslint.config.mjs: a dotfile, so
# it is named here; test/unit/lint-boundaries.spec.ts checks that a forbidden import fails).
lint: install
	$(NODE_BIN)/eslint --config .eslint.config.mjs --max-warnings 0 src test

.PHONY: .build/test
.build/test: build
	@# From clean: a deleted spec's compiled copy must not keep running (tsc is incremental, so its state goes too).
	rm -rf .build/test .build/tsbuildinfo-test
	$(NODE_BIN)/tsc -p test/tsconfig.json

# Specs are named here, not in .mocharc.json: mocha appends a --spec to the config's, so a subset could not run alone.
SPECS := .build/test/test/unit .build/test/test/integration .build/test/test/faults

test: system-deps typecheck lint build .build/test
	$(NODE_BIN)/mocha $(foreach d,$(SPECS),'$(d)/**/*.spec.js')

test-unit: build .build/test
	$(NODE_BIN)/mocha '.build/test/test/unit/**/*.spec.js'

test-integration: system-deps build .build/test
	$(NODE_BIN)/mocha '.build/test/test/integration/**/*.spec.js'

test-faults: system-deps build .build/test
	$(NODE_BIN)/mocha '.build/test/test/faults/**/*.spec.js'

# Mutation testing (Stryker, .stryker.config.json) of the modules that carry the README's promises, against the unit
# specs; JSON report in .build/mutation/mutation.json. MUTATE_TYPECHECK=1 adds the TypeScript checker, which drops
# mutants that do not compile but costs about 1.3 s per mutant here, so a full run would take most of an hour.
mutate: install
	$(NODE_BIN)/stryker run .stryker.config.json $(if $(MUTATE_TYPECHECK),--checkers typescript,) $(ARGS)

run: build
	node dist/cli.js demo $(ARGS)

# Under 10 minutes; BENCH_QUICK=1 under one. Results in bench-results/<time>/ (JSON, Markdown, SVG).
bench: system-deps build
	node dist/bench/run.js $(ARGS)
	node dist/bench/metrics-cost.js $(if $(BENCH_QUICK),--ticks 200000 --connections 500 --scrapes 20,)
	node dist/bench/slow-consumer.js
	node dist/bench/handoff.js $(if $(BENCH_QUICK),--reads 500,)

clean:
	rm -rf dist .build
