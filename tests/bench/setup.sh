#!/usr/bin/env bash
# Installs what `make bench` needs beyond `make build`, each step skipped
# when already done:
# - the peers and tools pinned in tests/bench/package-lock.json (oauth4webapi,
#   openid-client, jose, workerd, esbuild); npm ci only when the lock changed;
# - twiggy, for the size breakdown of the wasm (cargo install, ~2 min once);
# - what tests/bench/fleet.mjs needs (redis-server, Miniflare, the store
#   clients), once the store adapters are in the tree (tests/stores/setup.sh).
set -euo pipefail
cd "$(dirname "$0")"
. ../tools/lib.sh

npm_ci_if_changed .
bin="${CARGO_HOME:-$HOME/.cargo}/bin"
[ -x "$bin/twiggy" ] || cargo install twiggy --locked || cargo install twiggy
[ ! -f ../stores/setup.sh ] || bash ../stores/setup.sh
