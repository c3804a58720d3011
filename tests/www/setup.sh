#!/usr/bin/env bash
# Installs what the browser tests of the diagnostic page (tests/www/) need on
# a fresh machine; each step is skipped when already done:
# - the npm packages pinned in tests/www/package-lock.json: playwright-core
#   (drives Chromium) and axe-core (the accessibility check); npm ci only
#   when the lock changed since the last install;
# - Debian's chromium (playwright cannot download browsers here).
# The test servers' own packages (tests/: oidc-provider, jose) and Python's
# cryptography (the ACP server) come with tests/tools/setup.sh (make build).
set -euo pipefail
cd "$(dirname "$0")"
. ../tools/lib.sh

npm_ci_if_changed .
install_chromium
