// Memory growth over 100,000 cached getToken() calls and 10,000 token
// acquisitions, each next to a control without grantkit: memory_child.mjs in
// a Node process of its own (with --expose-gc), against the fixed token
// endpoint in another.
import * as path from 'node:path';

import { HERE, num, run, startTokenServer, table } from './lib.mjs';

const MiB = 2 ** 20;
const mib = (bytes) => `${bytes >= 0 ? '+' : ''}${num(bytes / MiB, 2)} MiB`;

export async function memoryGrowth() {
  const server = await startTokenServer('fixed');
  let result;
  try {
    const { stop, ...options } = server;
    result = JSON.parse(await run(process.execPath, ['--expose-gc', path.join(HERE, 'memory_child.mjs'), JSON.stringify(options)]));
  } finally {
    await server.stop();
  }
  const rows = [];
  const flat = {};
  for (const [key, label] of [['handWritten', 'control: 100,000 calls of a hand-written JS cache'], ['cached', '100,000 cached `TokenSource.getToken()`'], ['bareFetch', 'control: 10,000 acquisitions with a bare fetch + JSON.parse'], ['acquisitions', '10,000 acquisitions (`ClientCredentials.getToken()`)']]) {
    const [warm, mid, end] = result[key].snapshots;
    const calls = result[key].calls * 0.9;
    const heap = end.heapUsed - warm.heapUsed;
    // Flat: after the warm-up the JS heap grows by less than 1 MiB (under 12 bytes a call
    // for the cached calls) and the wasm memory not at all.
    flat[key] = heap < MiB && end.wasm === warm.wasm;
    rows.push([label, `${num(warm.heapUsed / MiB, 1)} MiB`, `${mib(mid.heapUsed - warm.heapUsed)} / ${mib(heap)}`, num(heap / calls, 1),
      `${num(warm.rss / MiB, 1)} MiB`, `${mib(mid.rss - warm.rss)} / ${mib(end.rss - warm.rss)}`,
      `${num(warm.wasm / MiB, 2)} MiB`, mib(end.wasm - warm.wasm), flat[key] ? 'flat' : '**grows**']);
  }
  const detail = table(
    ['calls', 'JS heap after warm-up', 'heap growth at 55 % / 100 %', 'heap bytes per call', 'RSS after warm-up', 'RSS growth at 55 % / 100 %', 'wasm memory', 'wasm growth', 'verdict'],
    rows,
  );
  return {
    detail: `### Memory (one Node process with --expose-gc; each reading after two full GCs; growth counted from the end of a 10 % warm-up)

The verdict reads the JS heap and the wasm memory. The RSS is shown but not judged: with no library in the loop (the control row) Node's own RSS can move by tens of MiB over 100,000 awaited calls, and falls back later in longer runs.

${detail}`,
    figures: [{
      figure: 'memory over 100,000 cached calls and 10,000 acquisitions',
      measured: `heap ${mib(result.cached.snapshots[2].heapUsed - result.cached.snapshots[0].heapUsed)} / ${mib(result.acquisitions.snapshots[2].heapUsed - result.acquisitions.snapshots[0].heapUsed)}, wasm ${mib(result.cached.snapshots[2].wasm - result.cached.snapshots[0].wasm)} / ${mib(result.acquisitions.snapshots[2].wasm - result.acquisitions.snapshots[0].wasm)}`,
      target: 'flat (the issue\'s "now")',
      ratio: '—',
      verdict: flat.cached && flat.acquisitions ? 'flat' : '**grows**',
    }],
  };
}
