// workerd, warm isolate: client-credentials acquisitions with the same
// contenders as in Node (../clients.mjs), bundled by esbuild with the
// package's workerd entry. POST / with {server, client, ms, width}: `width`
// callers acquire tokens one after another for `ms` milliseconds; answers
// {count, elapsed}. The harness reads workerd's CPU time from outside.
import * as grantkit from 'grantkit';
import { clientCredentialsContenders } from '../clients.mjs';

const configured = new Map();

export default {
  async fetch(request) {
    const { server, client, ms, width } = await request.json();
    const key = JSON.stringify(server);
    if (!configured.has(key)) configured.set(key, clientCredentialsContenders(grantkit, server));
    const { acquire } = configured.get(key).find((c) => c.name === client);
    let count = 0;
    const start = Date.now(); // advances with I/O, and every acquisition is I/O
    const caller = async () => {
      while (Date.now() - start < ms) {
        await acquire();
        count++;
      }
    };
    await Promise.all(Array.from({ length: width }, caller));
    return Response.json({ count, elapsed: Date.now() - start });
  },
};
