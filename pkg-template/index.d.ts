// Types of the package: the declarations and their docs are generated from
// the Rust sources (wasm-bindgen for the classes and functions, tsify for the
// option types); tests/tools/build.sh leaves only the API in grantkit.d.ts.
export * from "./grantkit.js";
