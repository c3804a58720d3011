// The token endpoints the client-credentials figures run against, each in a
// process of its own so that the client's CPU is measured alone:
//
//   node tests/bench/token_server.mjs fixed   a node:http server on 127.0.0.1 that
//       answers every POST /token with one fixed, valid token response as fast
//       as it can (the client's cost dominates); GET /count tells how many
//       token requests it answered, POST /reset sets that to 0.
//   node tests/bench/token_server.mjs idp     the local oidc-provider
//       (tests/idp/server.mjs): a real server, for the realism row.
//
// Prints one JSON line {tokenEndpoint, clientId, clientSecret, scope} when
// it listens; ends on SIGTERM or when its standard input closes.
import * as http from 'node:http';

const mode = process.argv[2];

// A token shaped like a real one (a JWT of about 900 characters); nothing checks its signature.
const b64url = (s) => Buffer.from(s).toString('base64url');
const ACCESS_TOKEN = [
  b64url(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'bench-2048' })),
  b64url(JSON.stringify({
    iss: 'http://127.0.0.1/realms/bench', sub: 'service-account-bench', aud: 'api', azp: 'bench-client',
    client_id: 'bench-client', scope: 'api:read api:write', jti: '7f0c1f5e-2b8a-4c1e-9d3f-6a7b8c9d0e1f',
    iat: 1764500000, exp: 1764500300, realm_access: { roles: ['default-roles-bench', 'offline_access', 'uma_authorization'] },
  })),
  Buffer.alloc(256, 7).toString('base64url'),
].join('.');
const TOKEN_BODY = Buffer.from(JSON.stringify({
  access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'api:read api:write',
}));
const TOKEN_HEADERS = {
  'content-type': 'application/json;charset=UTF-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'content-length': TOKEN_BODY.length,
};

async function startFixed() {
  let answered = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/token') {
      req.resume();
      answered++;
      res.writeHead(200, TOKEN_HEADERS);
      res.end(TOKEN_BODY);
    } else if (req.url === '/count') {
      res.end(String(answered));
    } else if (req.method === 'POST' && req.url === '/reset') {
      answered = 0;
      res.end('0');
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  return {
    tokenEndpoint: `http://127.0.0.1:${server.address().port}/token`,
    clientId: 'bench-client',
    clientSecret: 'bench-secret',
    scope: 'api:read api:write',
    close: () => server.close(),
  };
}

async function startRealIdp() {
  const { startIdp, CLIENTS } = await import('../idp/server.mjs');
  const idp = await startIdp();
  return {
    tokenEndpoint: idp.tokenEndpoint,
    clientId: CLIENTS.ccBasic.client_id,
    clientSecret: CLIENTS.ccBasic.client_secret,
    scope: 'api:read',
    close: () => idp.close(),
  };
}

const server = mode === 'idp' ? await startRealIdp() : mode === 'fixed' ? await startFixed() : null;
if (!server) {
  process.stderr.write('usage: node tests/bench/token_server.mjs fixed|idp\n');
  process.exit(2);
}
const { close, ...info } = server;
process.stdout.write(`${JSON.stringify(info)}\n`);
const stop = async () => { await close(); process.exit(0); };
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
