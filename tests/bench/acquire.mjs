// Client-credentials acquisitions per second and CPU per acquisition:
// grantkit, oauth4webapi, openid-client and a bare fetch + JSON.parse
// (clients.mjs), sequential and 16 at once, interleaved rounds, against a
// token endpoint in another process (token_server.mjs) that answers a fixed
// token response, so the client's cost dominates:
// - in this Node process (CPU: process.cpuUsage);
// - in a warm workerd isolate (workerd/acquire.mjs; CPU: the workerd
//   process's utime + stime from /proc);
// then sequentially in Node against the local oidc-provider, for realism.
import * as path from 'node:path';

import { clientCredentialsContenders } from './clients.mjs';
import { PKG, ROUNDS, SECONDS, against, interleave, log, medians, num, rate, startTokenServer, table, times } from './lib.mjs';
import { prepareWorker, startWorkerd } from './workerd_host.mjs';

const grantkit = await import(path.join(PKG, 'index.node.js'));

const CONCURRENCY = 16;
const MODES = [['sequential', 1], [`${CONCURRENCY} concurrent`, CONCURRENCY]];

/** Node: contender -> measure(width, seconds). */
async function nodeContenders(server) {
  const contenders = clientCredentialsContenders(grantkit, server);
  for (const c of contenders) {
    if (typeof (await c.acquire()) !== 'string') throw new Error(`${c.name} got no access token`);
  }
  return contenders.map((c) => ({ name: c.name, measure: (width, seconds) => rate(c.acquire, { width, seconds }) }));
}

// A sample in workerd is several requests of at most this long: workerd allows
// 10,000 active timers per request, and openid-client arms one (its 30 s
// AbortSignal.timeout) per token request.
const WORKERD_REQUEST_MS = 200;

/** workerd: the same contenders in one warm isolate, driven by POST requests. */
async function workerdContenders(workerd, server) {
  const names = clientCredentialsContenders(grantkit, server).map((c) => c.name);
  return names.map((name) => ({
    name,
    measure: async (width, seconds) => {
      const cpu0 = workerd.cpuSeconds();
      let count = 0;
      let elapsed = 0;
      while (elapsed < seconds * 1000) {
        const ms = Math.min(WORKERD_REQUEST_MS, seconds * 1000 - elapsed);
        const res = await fetch(workerd.url, { method: 'POST', body: JSON.stringify({ server, client: name, ms, width }) });
        if (res.status !== 200) throw new Error(`workerd answered ${res.status} for ${name}: ${(await res.text()).slice(0, 500)} ${workerd.log()}`);
        const part = await res.json();
        count += part.count;
        elapsed += part.elapsed;
      }
      if (count === 0) throw new Error(`${name} acquired nothing in workerd: ${workerd.log()}`);
      return { perSecond: count / (elapsed / 1000), cpuMicros: ((workerd.cpuSeconds() - cpu0) * 1e6) / count };
    },
  }));
}

async function measureModes(contenders, modes, rounds) {
  for (const c of contenders) await c.measure(CONCURRENCY, 0.3); // warm-up
  const out = {};
  for (const [mode, width] of modes) {
    const samples = await interleave(contenders, (c) => c.measure(width, SECONDS), rounds);
    out[mode] = Object.fromEntries(contenders.map((c) => [c.name, { ...medians(samples[c.name]), rounds: samples[c.name] }]));
  }
  return out;
}

export async function acquisitions() {
  const results = {}; // "runtime, mode" -> contender -> medians
  const fixed = await startTokenServer('fixed');
  try {
    const { stop, ...server } = fixed;
    log('client credentials in Node');
    for (const [mode, m] of Object.entries(await measureModes(await nodeContenders(server), MODES, ROUNDS))) results[`Node, ${mode}`] = m;
    log('client credentials in workerd');
    const workerd = await startWorkerd(await prepareWorker('acquire', 'acquire.mjs'));
    try {
      for (const [mode, m] of Object.entries(await measureModes(await workerdContenders(workerd, server), MODES, ROUNDS))) results[`workerd, ${mode}`] = m;
    } finally {
      await workerd.stop();
    }
  } finally {
    await fixed.stop();
  }
  const realRounds = Math.min(ROUNDS, 3);
  const idp = await startTokenServer('idp');
  try {
    const { stop, ...server } = idp;
    log('client credentials in Node against oidc-provider');
    results['Node, sequential, oidc-provider'] = (await measureModes(await nodeContenders(server), [['sequential', 1]], realRounds)).sequential;
  } finally {
    await idp.stop();
  }

  const rows = [];
  for (const [mode, m] of Object.entries(results)) {
    for (const [name, r] of Object.entries(m)) {
      rows.push([mode, name, num(r.perSecond), r.rounds.map((s) => num(s.perSecond)).join(', '), num(r.cpuMicros),
        times(r.perSecond / m.oauth4webapi.perSecond), times(r.perSecond / m['bare fetch'].perSecond)]);
    }
  }
  const detail = table(
    ['runtime, mode', 'client', 'acquisitions/s (median)', 'rounds', 'CPU µs per acquisition (median)', '÷ oauth4webapi', '÷ bare fetch'],
    rows,
  );

  const figures = [];
  for (const [mode, m] of Object.entries(results)) {
    if (mode.endsWith('oidc-provider')) continue;
    const gk = m.grantkit.perSecond;
    const vsO4w = gk / m.oauth4webapi.perSecond;
    const vsFetch = gk / m['bare fetch'].perSecond;
    figures.push({
      figure: `client-credentials acquisitions/s, ${mode}, vs oauth4webapi`,
      measured: `${num(gk)}/s = ${times(vsO4w)} oauth4webapi (${num(m.oauth4webapi.perSecond)}/s); openid-client ${num(m['openid-client'].perSecond)}/s`,
      target: '≥ 1.0× oauth4webapi',
      ...against(vsO4w, 1.0),
    });
    figures.push({
      figure: `client-credentials acquisitions/s, ${mode}, vs bare fetch`,
      measured: `${times(vsFetch)} bare fetch (${num(m['bare fetch'].perSecond)}/s)`,
      target: '≥ 0.9× bare fetch',
      ...against(vsFetch, 0.9),
    });
    const cpu = m.grantkit.cpuMicros / m.oauth4webapi.cpuMicros;
    figures.push({
      figure: `CPU per acquisition, ${mode}`,
      measured: `${num(m.grantkit.cpuMicros)} µs = ${times(cpu)} oauth4webapi (${num(m.oauth4webapi.cpuMicros)} µs; bare fetch ${num(m['bare fetch'].cpuMicros)} µs)`,
      target: '≤ 1.0× oauth4webapi',
      ...against(cpu, 1.0, { atLeast: false }),
    });
  }
  return {
    detail: `### Client-credentials acquisitions (token endpoint in another process answering a fixed token response; ${ROUNDS} interleaved rounds of ${SECONDS} s; the oidc-provider rows ${realRounds} rounds)

CPU in Node is this process's user + system time (process.cpuUsage) over the sample, divided by the acquisitions; in workerd, the workerd process's (/proc, 10 ms ticks). The token endpoint's CPU is in neither. workerd runs the same contenders (clients.mjs) bundled into one warm worker (workerd/acquire.mjs).

${detail}`,
    figures,
  };
}
