#!/usr/bin/env bash
# Builds the npm package in pkg/ from the Rust crate and pkg-template/, and
# packs it to target/npm/grantkit.tgz. Run tests/tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --target wasm32-unknown-unknown --lib
rm -rf pkg
# --out-name: a .wasm input name with extra dots gives broken glue.
wasm-bindgen --target web --out-dir pkg --out-name grantkit \
  target/wasm32-unknown-unknown/release/grantkit.wasm
# npm binaryen's wasm-opt, never Debian's /usr/bin/wasm-opt (v108 emits
# modules that fail to load with this wasm-bindgen's glue).
tests/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  pkg/grantkit_bg.wasm -o pkg/grantkit_bg.wasm
# The declarations users see: the API only. wasm-bindgen's loader types
# (InitInput and initSync, used by the entry files, not by users) name DOM
# types (RequestInfo, BufferSource, WebAssembly) that a Node-only project
# lacks, and `[Symbol.dispose]` needs lib esnext.disposable; both are left
# out so the package type-checks with skipLibCheck off under lib es2022 alone.
sed -i -e '/^export type InitInput = /,$d' -e '/^ *\[Symbol\.dispose\](): void;$/d' pkg/grantkit.d.ts
cp -R pkg-template/. pkg/
rm -f pkg/.gitignore
chmod +x pkg/bin/grantkit.js

mkdir -p target/npm
rm -f target/npm/grantkit*.tgz
tarball=$(cd pkg && npm pack --silent --pack-destination ../target/npm)
mv "target/npm/$tarball" target/npm/grantkit.tgz

raw=$(wc -c < pkg/grantkit_bg.wasm)
gz=$(gzip -9 -c pkg/grantkit_bg.wasm | wc -c)
echo "built pkg/ and target/npm/grantkit.tgz: grantkit_bg.wasm ${raw} bytes raw, ${gz} bytes gzip -9"
