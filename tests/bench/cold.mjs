// Cold starts, each sample a fresh process or isolate, contenders interleaved:
// - Node: cold_node.mjs in a fresh `node` per sample, to its first RS256
//   assertion (grantkit's default signer, its Rust signer, jose, and Node
//   alone for its own start);
// - workerd: a fresh `workerd serve` per sample, whose first request imports
//   the key and signs one assertion (workerd/cold_*.mjs, see workerd_host.mjs).
import * as http from 'node:http';
import * as path from 'node:path';

import { COLD_RUNS, HERE, against, interleave, log, median, num, run, table, times } from './lib.mjs';
import { prepareWorker, startWorkerd } from './workerd_host.mjs';

export async function nodeCold() {
  const contenders = ['none', 'grantkit', 'grantkit-rust', 'jose'].map((name) => ({ name }));
  log('Node cold starts');
  const once = async ({ name }) => JSON.parse(await run(process.execPath, [path.join(HERE, 'cold_node.mjs'), name]));
  for (const c of contenders) await once(c); // the files into the page cache
  const samples = await interleave(contenders, once, COLD_RUNS);
  const m = {};
  for (const { name } of contenders) {
    const s = samples[name];
    m[name] = {
      start: median(s.map((x) => x.start)),
      total: median(s.map((x) => x.signed ?? x.start)),
      afterStart: median(s.map((x) => (x.signed ?? x.start) - x.start)),
      load: median(s.map((x) => (x.loaded ?? x.start) - x.start)),
      importKey: median(s.map((x) => (x.imported ?? 0) - (x.loaded ?? 0))),
      sign: median(s.map((x) => (x.signed ?? 0) - (x.imported ?? 0))),
    };
  }
  const label = { none: 'Node alone (no library)', grantkit: 'grantkit (default signer)', 'grantkit-rust': 'grantkit, Rust signer', jose: 'jose' };
  const detail = table(
    ['fresh Node process', 'to first assertion, ms', 'after Node\'s start, ms', 'load (+ read key), ms', 'key import, ms', 'first assertion, ms', 'Node\'s start, ms', '÷ jose (total / after start)'],
    contenders.map(({ name }) => {
      const r = m[name];
      const ratios = name === 'none' ? '—' : `${times(r.total / m.jose.total)} / ${times(r.afterStart / m.jose.afterStart)}`;
      return [label[name], num(r.total, 1), num(r.afterStart, 1), name === 'none' ? '—' : num(r.load, 1), name === 'none' ? '—' : num(r.importKey, 1), name === 'none' ? '—' : num(r.sign, 1), num(r.start, 1), ratios];
    }),
  );
  const total = m.grantkit.total / m.jose.total;
  const after = m.grantkit.afterStart / m.jose.afterStart;
  return {
    detail: `### Node, fresh process to the first RS256 assertion (medians of ${COLD_RUNS} processes each, interleaved; milliseconds since the process started, by performance.now())\n\n${detail}`,
    figures: [
      {
        figure: 'Node fresh process to first assertion',
        measured: `${num(m.grantkit.total, 1)} ms vs jose ${num(m.jose.total, 1)} ms = ${times(total)}`,
        target: '≤ 0.8× jose',
        ...against(total, 0.8, { atLeast: false }),
      },
      {
        figure: 'the same, minus Node\'s own start',
        measured: `${num(m.grantkit.afterStart, 1)} ms vs jose ${num(m.jose.afterStart, 1)} ms = ${times(after)}`,
        target: '≤ 0.8× jose',
        ...against(after, 0.8, { atLeast: false }),
      },
    ],
  };
}

// ---------------------------------------------------------------------------
// workerd

const WORKERS = { grantkit: 'cold_grantkit.mjs', jose: 'cold_jose.mjs', none: 'cold_none.mjs' };

/** One fresh workerd: its start, and its first request timed from outside and inside. */
async function coldWorkerd(config) {
  const workerd = await startWorkerd(config);
  try {
    const t0 = performance.now();
    const text = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: workerd.port, path: '/', agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`workerd answered ${res.statusCode}: ${Buffer.concat(chunks)} ${workerd.log()}`))));
      }).on('error', reject);
    });
    const roundTrip = performance.now() - t0;
    return { ...JSON.parse(text), startup: workerd.startup, roundTrip };
  } finally {
    await workerd.stop();
  }
}

export async function workerdCold() {
  const configs = {};
  for (const [name, source] of Object.entries(WORKERS)) configs[name] = await prepareWorker(`cold_${name}`, source);
  const contenders = Object.keys(WORKERS).map((name) => ({ name }));
  log('workerd cold starts');
  for (const { name } of contenders) await coldWorkerd(configs[name]); // warm the page cache
  const samples = await interleave(contenders, ({ name }) => coldWorkerd(configs[name]), COLD_RUNS);
  const m = {};
  for (const { name } of contenders) {
    const s = samples[name];
    m[name] = { first: median(s.map((x) => x.first)), startup: median(s.map((x) => x.startup)), roundTrip: median(s.map((x) => x.roundTrip)) };
  }
  for (const name of ['grantkit', 'jose']) m[name].overBaseline = m[name].roundTrip - m.none.roundTrip;
  const label = { grantkit: 'grantkit (default signer)', jose: 'jose', none: 'no library (baseline)' };
  const detail = table(
    ['fresh workerd isolate', 'in the handler: key import + assertion, ms', 'rounds, ms', 'first request round trip, ms', 'round trip − baseline, ms', 'of which before the handler (module evaluation), ms', 'workerd start to accepting connections, ms'],
    contenders.map(({ name }) => [
      label[name], name === 'none' ? '—' : num(m[name].first, 1), samples[name].map((x) => x.first).join(', '),
      num(m[name].roundTrip, 2), name === 'none' ? '—' : num(m[name].overBaseline, 2),
      name === 'none' ? '—' : num(m[name].overBaseline - m[name].first, 1), num(m[name].startup, 1),
    ]),
  );
  const ratio = m.grantkit.first / m.jose.first;
  const overRatio = m.grantkit.overBaseline / m.jose.overBaseline;
  return {
    detail: `### workerd, fresh isolate, first request (medians of ${COLD_RUNS} fresh workerd processes each, interleaved)

Inside the isolate workerd's clock ticks in whole milliseconds (performance.now() = Date.now()), so the handler's figures are medians of integers. From outside: workerd's start is from spawning \`workerd serve\` until it accepts a TCP connection (polled every 2 ms, no request sent); the round trip is that of the first HTTP request after that, and the baseline a worker with no library. workerd evaluates a worker's modules on its first request, not at start, so the round trip over the baseline holds the library's module evaluation (for grantkit: the glue and the wasm instantiation) besides the handler. On Cloudflare the global scope runs at isolate start-up, under its own limit; the per-request CPU budget is the handler's.

${detail}`,
    figures: [
      {
        figure: 'workerd fresh isolate, first request (key import + one RS256 assertion) vs jose',
        measured: `${num(m.grantkit.first, 1)} ms vs jose ${num(m.jose.first, 1)} ms = ${times(ratio)} (in the handler)`,
        target: '≤ 1.0× jose',
        ...against(ratio, 1.0, { atLeast: false }),
      },
      {
        figure: 'the same, absolute',
        measured: `${num(m.grantkit.first, 1)} ms (in the handler)`,
        target: '< 10 ms (Workers free plan CPU per request)',
        ...against(m.grantkit.first, 10, { atLeast: false }),
      },
      {
        figure: 'the same with module evaluation: first request round trip over a library-free worker',
        measured: `${num(m.grantkit.overBaseline, 1)} ms vs jose ${num(m.jose.overBaseline, 1)} ms = ${times(overRatio)}`,
        target: '≤ 1.0× jose',
        ...against(overRatio, 1.0, { atLeast: false }),
      },
    ],
  };
}
