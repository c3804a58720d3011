# grantkit: every target installs what it needs (tests/tools/setup.sh), so
# `make demo` and `make test` work on a fresh machine.
.PHONY: setup setup-browser build demo test lint test-native test-wasm-node test-wasm-browser test-e2e test-types test-bundlers test-matrix bench clean

WASM_TEST = CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	cargo test --target wasm32-unknown-unknown

setup:
	bash tests/tools/setup.sh

setup-browser:
	bash tests/tools/setup.sh browser

# The npm package in pkg/ and its tarball target/npm/grantkit.tgz.
build: setup
	bash tests/tools/build.sh

# The main job: every flow, through the CLI, against the local identity provider.
demo: build
	bash tests/tools/demo.sh

# Every test: lint, native, wasm in Node and Chromium, end-to-end on the packed
# package, and the packed package in every runtime.
test: lint test-native test-wasm-node test-wasm-browser test-e2e test-types test-bundlers test-matrix test-www test-stores

lint: setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
	bash tests/tools/deny.sh

test-native:
	cargo test

test-wasm-node: setup
	$(WASM_TEST)

test-wasm-browser: setup-browser
	CHROMEDRIVER=$$(command -v chromedriver) WASM_BINDGEN_USE_BROWSER=1 $(WASM_TEST)

test-e2e: build
	bash tests/e2e/run.sh

# The declarations and every README code block, with tsc --strict (TypeScript
# 5 and the latest; DOM and Node-only settings).
test-types: build
	node tests/types/check.mjs

# The packed package in a small browser app built by Vite 5-8 (build and dev),
# webpack 5, esbuild, rollup and bun, run in Chromium: one table.
test-bundlers: build
	bash tests/bundlers/setup.sh
	node tests/bundlers/run.mjs

# One scenario, the packed package, Node 20 and 22, Deno, Bun, workerd, a
# Chromium page and a Chromium module worker: one table, runtime x step.
test-matrix: build
	bash tests/matrix/setup.sh && node tests/matrix/run.mjs

# The diagnostic page: `grantkit www` of the packed package in Chromium
# (playwright-core) against the local IdP, with and without CORS, the
# resource server and the ACP server, through the relay; axe-core; a
# screenshot of each state in tests/www/.artifacts/.
# Its own .PHONY line, so that main's list can change without a conflict.
.PHONY: www test-www
test-www: build
	bash tests/www/setup.sh
	node --test tests/www/page.test.mjs tests/www/authorization_code.test.mjs

# The diagnostic page on http://127.0.0.1:8737/ (grantkit www), until Ctrl-C.
www: build
	node pkg/bin/grantkit.js www

# The shared stores on the engines users run: redisStore against Debian's
# redis-server (node-redis 4 and 5, ioredis; 50 processes, a killed lease
# holder), kvStore, durableObjectStore and TokenStoreObject in Miniflare
# workers, and the lease protocol against hostile stores. Its own .PHONY line.
.PHONY: test-stores
test-stores: build
	bash tests/stores/setup.sh
	bash tests/stores/run.sh

# The benchmark (issue 12): every figure against the peers (oauth4webapi,
# openid-client, jose, node:crypto, a bare fetch) in Node and workerd, one run,
# interleaved, medians, and tests/bench/fleet.mjs (token requests by 1,000 cold
# instances with and without a store); writes bench/RESULTS.md. Never timed
# assertions, not part of `make test`. About 3 minutes; `make bench
# BENCH_QUICK=1` for a short pass written to target/bench/RESULTS.md.
bench: build
	bash tests/bench/setup.sh
	BENCH_COMMAND="make bench$(if $(BENCH_QUICK), BENCH_QUICK=$(BENCH_QUICK))" BENCH_QUICK=$(BENCH_QUICK) node tests/bench/run.mjs

# Coverage-guided fuzzing (cargo-fuzz, nightly): every target in fuzz/ to
# 1,000,000 runs from the committed seeds. Not part of `make test`; see
# fuzz/README.md. `make fuzz RUNS=10000` for a quick pass.
# Its own .PHONY line, so that main's list can change without a conflict.
.PHONY: fuzz
fuzz:
	RUNS=$(or $(RUNS),1000000) bash fuzz/run.sh

clean:
	rm -rf pkg target/npm target/bench tests/e2e/.tmp tests/types/.tmp tests/bundlers/.work tests/matrix/.tmp tests/www/.tmp tests/www/.artifacts tests/stores/.tmp
