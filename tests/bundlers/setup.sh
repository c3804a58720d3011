#!/usr/bin/env bash
# Installs what the bundler matrix (run.mjs) needs: the pinned bundlers and
# playwright-core (npm ci, only when package-lock.json changed since the last
# install), Debian's Chromium if missing, and the packed grantkit tarball
# (target/npm/grantkit.tgz from `make build`) as node_modules/grantkit.
set -euo pipefail
cd "$(dirname "$0")"
. ../tools/lib.sh

npm_ci_if_changed .
install_chromium

# The packed artifact, unpacked where a registry install would put it (it has
# no dependencies). Not `npm install <tgz>`: that would rewrite package-lock.json.
tgz=../../target/npm/grantkit.tgz
if [[ ! -f "$tgz" ]]; then
  echo "tests/bundlers/setup.sh: target/npm/grantkit.tgz is missing; run 'make build'" >&2
  exit 1
fi
rm -rf node_modules/grantkit node_modules/.vite
mkdir -p node_modules/grantkit
tar -xzf "$tgz" -C node_modules/grantkit --strip-components=1
