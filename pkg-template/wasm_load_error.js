// The error every entry throws when the WebAssembly module cannot be fetched,
// compiled or instantiated: a GrantkitError with the stable code
// WASM_LOAD_FAILED and the original error as its cause. It fails the import,
// so an app that must survive it imports grantkit dynamically:
//   try { grantkit = await import("grantkit") } catch (e) { e.code === "WASM_LOAD_FAILED" }
export function wasmLoadFailed(cause) {
  const reason = cause instanceof Error ? cause.message : String(cause);
  // A Content-Security-Policy without 'wasm-unsafe-eval' is the usual cause in a page.
  const hint = /CompileError|EvalError|unsafe-eval|Content Security Policy/i.test(`${cause?.name} ${reason}`)
    ? " A page with a Content-Security-Policy needs 'wasm-unsafe-eval' in script-src."
    : "";
  const error = new Error(`grantkit could not load its WebAssembly module: ${reason}.${hint}`, { cause });
  error.name = "GrantkitError";
  error.code = "WASM_LOAD_FAILED";
  return error;
}
