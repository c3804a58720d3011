#!/usr/bin/env bash
# Installs what the shared-store tests need on a fresh machine; each step is
# skipped when already done: Debian's redis-server (needs root), the npm
# packages pinned in tests/stores/package-lock.json (Miniflare, node-redis 4
# and 5, ioredis), those of tests/ (the local identity provider) and of
# tests/types (tsc, for the clients' types).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/lib.sh

if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server
fi
npm_ci_if_changed tests
npm_ci_if_changed tests/types
npm_ci_if_changed tests/stores
