// Loads app.js (which imports "grantkit" statically) through a dynamic
// import, so a failure to load the wasm reaches this catch; then reports each
// scenario into the page and into window.__results for run.mjs. No top-level
// await here: Vite 5 and 6 builds refuse it with their default targets.
const results = {};
const table = document.getElementById("results");

function report(name, outcome) {
  results[name] = outcome;
  const row = table.insertRow();
  row.insertCell().textContent = name;
  row.insertCell().textContent = outcome;
}

async function main() {
  try {
    const app = await import("./app.js");
    report("load", "pass");
    for (const [name, check] of Object.entries(app.scenarios)) {
      try {
        await check();
        report(name, "pass");
      } catch (e) {
        report(name, `FAIL: ${e?.code ?? ""} ${e?.message ?? e}`);
      }
    }
  } catch (e) {
    // The CSP-blocked page expects exactly this: a catchable GrantkitError.
    const expected = e?.name === "GrantkitError" && e.code === "WASM_LOAD_FAILED";
    report("load", expected ? "WASM_LOAD_FAILED" : `FAIL: ${e?.code ?? ""} ${e?.message ?? e}`);
  }
  window.__results = results;
}

main();
