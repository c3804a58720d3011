#!/usr/bin/env bash
# Installs the runtimes of the runtime matrix (tests/matrix/run.mjs) on a
# fresh machine; each step is skipped when already done:
# - the npm packages pinned in tests/matrix/package-lock.json: Node 22
#   (`node`), Deno (`deno`), Bun (`bun`), workerd (`workerd`), each shipping
#   its binary, and playwright-core (drives Chromium); npm ci only when the
#   lock changed since the last install;
# - Debian's chromium (playwright cannot download browsers here).
# Node 20 is the node that runs the harness.
set -euo pipefail
cd "$(dirname "$0")"
. ../tools/lib.sh

npm_ci_if_changed .
install_chromium
