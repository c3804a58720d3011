// The scenario's workerd runner: a module worker whose /run request runs the
// scenario and answers its report as JSON. The harness embeds it in a
// generated config.capnp with the installed package's workerd entry (from
// its package.json "exports") under the module name "grantkit", its
// grantkit.js and grantkit_bg.wasm as modules, and an outbound network
// limited to loopback. /probe?url=URL says whether a fetch to URL is refused
// (the harness checks that a non-loopback address is).
import * as gk from 'grantkit';
import { runScenario } from './scenario.mjs';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/probe') {
      try {
        const res = await fetch(url.searchParams.get('url'), { signal: AbortSignal.timeout(3000) });
        return Response.json({ refused: false, status: res.status });
      } catch (e) {
        return Response.json({ refused: true, message: String(e?.message ?? e) });
      }
    }
    if (url.pathname !== '/run') return new Response('not found', { status: 404 });
    const runtime = url.searchParams.get('runtime');
    const controlUrl = url.searchParams.get('control');
    const report = await runScenario(gk, { controlUrl, runtime });
    return Response.json(report);
  },
};
