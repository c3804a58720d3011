// The scenario in a Chromium module worker: the package's browser entry is
// imported by its URL (?entry=), since import maps do not apply in workers.
import { runScenario } from '/scenario.mjs';

const query = new URLSearchParams(self.location.search);
try {
  const entry = new URL(query.get('entry'), self.location.origin).href;
  const gk = await import(entry);
  const report = await runScenario(gk, { controlUrl: self.location.origin, runtime: query.get('runtime') });
  self.postMessage({ ...report, entry });
} catch (e) {
  self.postMessage({ error: `${e?.name}: ${e?.message}` });
}
