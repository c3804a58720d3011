// Cached getToken() calls per second: grantkit's TokenSource against a
// hand-written JavaScript cache over the same flow, interleaved rounds; and
// 1,000 concurrent getToken() calls on a cold TokenSource (how many token
// requests reach the server: one, if they share it).
import * as path from 'node:path';

import { PKG, ROUNDS, SECONDS, against, interleave, medians, num, rate, startTokenServer, table, times } from './lib.mjs';

const { ClientCredentials, TokenSource } = await import(path.join(PKG, 'index.node.js'));

export async function cachedCalls() {
  const server = await startTokenServer('fixed');
  try {
    const { tokenEndpoint, clientId, clientSecret, scope } = server;
    const flow = () => new ClientCredentials({ tokenEndpoint, clientId, clientSecret, scope });

    // What a careful hand-written cache does per call.
    const plain = flow();
    let cached = await plain.getToken();
    const handWritten = async () => {
      if (Date.now() / 1000 < cached.expires_at - 30) return cached;
      cached = await plain.getToken();
      return cached;
    };
    const source = new TokenSource(flow());
    await source.getToken();

    const contenders = [
      { name: 'hand-written JS cache', op: handWritten },
      { name: 'grantkit TokenSource.getToken(), cached', op: () => source.getToken() },
    ];
    for (const c of contenders) await rate(c.op, { seconds: 0.2 }); // warm-up
    const samples = await interleave(contenders, (c) => rate(c.op));
    const [hand, gk] = contenders.map((c) => medians(samples[c.name]).perSecond);

    const count = async () => Number(await (await fetch(tokenEndpoint.replace(/\/token$/, '/count'))).text());
    const before = await count();
    const cold = new TokenSource(flow());
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => cold.getToken()));
    const requests = (await count()) - before;
    const distinct = new Set(tokens.map((t) => t.access_token)).size;

    const detail = table(
      ['getToken() on a warm cache', 'calls/s (median)', 'rounds', '÷ hand-written'],
      contenders.map((c, i) => [c.name, num([hand, gk][i]), samples[c.name].map((s) => num(s.perSecond)).join(', '), times([hand, gk][i] / hand)]),
    );
    return {
      detail: `### Cached getToken() (one Node process, ${ROUNDS} interleaved rounds of ${SECONDS} s)\n\n${detail}\n\n`
        + `1,000 concurrent getToken() calls on a cold TokenSource: ${requests} token request(s) reached the server; ${tokens.length} calls resolved with ${distinct} distinct token(s).`,
      figures: [
        {
          figure: 'cached `getToken()` calls/s',
          measured: `${num(gk)}/s = ${times(gk / hand)} a hand-written JS cache (${num(hand)}/s)`,
          target: '≥ 0.8× hand-written',
          ...against(gk / hand, 0.8),
        },
        {
          figure: '1,000 concurrent cold `getToken()` in one process: token requests',
          measured: String(requests),
          target: '(no target; 1 = single flight)',
          ratio: '—',
          verdict: requests === 1 ? 'single flight' : '**more than one request**',
        },
      ],
    };
  } finally {
    await server.stop();
  }
}
