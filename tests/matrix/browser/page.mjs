// The Chromium runners. The harness serves this page's module with an import
// map naming the installed package's browser entry (from its package.json
// "exports") as "grantkit". ?mode=page runs the scenario in the page;
// ?mode=worker starts a module worker (worker.mjs), which imports the browser
// entry by URL (import maps do not apply in workers) and posts its report back.
const query = new URLSearchParams(window.location.search);
const runtime = query.get('runtime');
const controlUrl = window.location.origin;

async function inPage() {
  const gk = await import('grantkit');
  const { runScenario } = await import('/scenario.mjs');
  return { ...(await runScenario(gk, { controlUrl, runtime })), entry: import.meta.resolve('grantkit') };
}

function inWorker() {
  const entry = document.querySelector('meta[name="grantkit-entry"]').content;
  const url = `/browser/worker.mjs?${new URLSearchParams({ runtime, entry })}`;
  const worker = new Worker(url, { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      if (event.data?.error) reject(new Error(`worker: ${event.data.error}`));
      else resolve(event.data);
    };
    worker.onerror = (event) => reject(new Error(`worker failed to load or threw: ${event.message ?? 'no message'}`));
  });
}

window.matrixReport = query.get('mode') === 'worker' ? inWorker() : inPage();
