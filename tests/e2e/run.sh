#!/usr/bin/env bash
# End-to-end tests of the PACKED npm package.
#
#   bash tests/e2e/run.sh            (from anywhere; `make build` builds the tarball)
#
# 1. takes target/npm/grantkit.tgz,
# 2. installs it into the scratch prefix tests/e2e/.tmp/ (a fresh copy each run),
# 3. runs node's test runner on tests/e2e/*.test.mjs and tests/idp/*.test.mjs with
#    GRANTKIT_PKG_DIR=<scratch>/node_modules/grantkit, so the tests load the
#    installed copy (through its package.json "exports") and run its bin/grantkit.js.
# The tests' own dependencies (oidc-provider, jose) come from tests/node_modules:
# run `npm ci --prefix tests` once first (done here if it is missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

tgz="target/npm/grantkit.tgz"
if [[ ! -f "$tgz" ]]; then
  echo "tests/e2e/run.sh: $root/$tgz is missing; build it with 'make build'" >&2
  exit 1
fi

if [[ ! -d tests/node_modules/oidc-provider || ! -d tests/node_modules/jose ]]; then
  echo "tests/e2e/run.sh: installing the test dependencies (npm ci --prefix tests)" >&2
  npm ci --prefix tests --no-audit --no-fund >&2
fi

scratch="tests/e2e/.tmp"
rm -rf "$scratch"
mkdir -p "$scratch"
# A package.json of its own, so npm installs here and not into a parent project.
printf '{ "name": "grantkit-e2e-scratch", "version": "0.0.0", "private": true }\n' > "$scratch/package.json"
npm install --prefix "$scratch" --no-save --no-audit --no-fund --no-package-lock "$root/$tgz" >&2

pkg_dir="$root/$scratch/node_modules/grantkit"
if [[ ! -f "$pkg_dir/package.json" ]]; then
  echo "tests/e2e/run.sh: $tgz did not install a 'grantkit' package into $scratch" >&2
  exit 1
fi

export GRANTKIT_PKG_DIR="$pkg_dir"
exec node --test "$@" tests/e2e/*.test.mjs tests/idp/*.test.mjs tests/acp/*.test.mjs
