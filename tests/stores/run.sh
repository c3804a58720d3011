#!/usr/bin/env bash
# The shared-store tests on the PACKED package (target/npm/grantkit.tgz,
# installed into tests/stores/.tmp): redisStore against Debian's
# redis-server with node-redis 4 and 5 and ioredis, and a fleet of Node
# processes; kvStore, durableObjectStore and TokenStoreObject in Miniflare
# workers; the lease protocol against hostile stores. Run setup.sh first
# (`make test-stores` does both).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

tgz="target/npm/grantkit.tgz"
[[ -f "$tgz" ]] || { echo "tests/stores/run.sh: $tgz is missing; run make build" >&2; exit 1; }
scratch="tests/stores/.tmp"
rm -rf "$scratch"
mkdir -p "$scratch"
printf '{ "name": "grantkit-stores-scratch", "version": "0.0.0", "private": true }\n' > "$scratch/package.json"
npm install --prefix "$scratch" --no-save --no-audit --no-fund --no-package-lock "$root/$tgz" >&2

export GRANTKIT_PKG_DIR="$root/$scratch/node_modules/grantkit"
started=$(date +%s)
node --test --test-concurrency=1 "$@" tests/stores/*.test.mjs
echo "tests/stores: $(( $(date +%s) - started )) s"
