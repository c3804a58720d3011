// The installed package against a scripted, hostile or broken token server
// (node:http on 127.0.0.1): every error code of the contract, exact requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertGrantkitError, assertNoSecrets, basicHeader, closedPort, form, json, loadGrantkit, rejection, startScriptedServer,
} from './helpers.mjs';

let gk;
let srv;

const ID = 'client-1';
const SECRET = 'hostile-s3cret:+%&é/x';
const TOKEN = 'AT-SECRET-VALUE-1234567890';

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
});
after(async () => { await srv?.close(); });

function cc(extra = {}) {
  return new gk.ClientCredentials({ tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, ...extra });
}

function okToken(extra = {}) {
  return (_req, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 300, ...extra });
}

describe('broken and hostile token responses', () => {
  test('HTML 502 page -> RESPONSE_NOT_JSON, status 502, short excerpt in the message', async () => {
    const html = `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>${'<p>padding</p>'.repeat(200)}<hr><center>nginx</center></body></html>\n`;
    srv.script((_req, res) => { res.writeHead(502, { 'content-type': 'text/html' }); res.end(html); });
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_NOT_JSON', { status: 502 });
    assert.ok(err.message.includes('502 Bad Gateway'), `no excerpt in: ${err.message}`);
    assert.ok(err.message.length < 1000, `excerpt is not short: ${err.message.length} characters`);
    assert.ok(!err.message.includes('nginx'), 'the whole body is in the message, not an excerpt');
    assertNoSecrets(err, [SECRET]);
  });

  test('200 text/plain non-JSON -> RESPONSE_NOT_JSON, status 200', async () => {
    srv.script((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('access_token=x&token_type=bearer'); });
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_NOT_JSON', { status: 200 });
  });

  test('200 {"token_type":"Bearer"} -> INVALID_TOKEN_RESPONSE', async () => {
    srv.script((_req, res) => json(res, 200, { token_type: 'Bearer' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
  });

  test('200 with wrongly typed fields -> INVALID_TOKEN_RESPONSE, token not in the message', async () => {
    for (const body of [
      { access_token: 42, token_type: 'Bearer' },
      { access_token: TOKEN, token_type: 7 },
      { access_token: TOKEN, token_type: 'Bearer', expires_in: 'soon' },
      { access_token: TOKEN, token_type: 'Bearer', expires_in: {} },
      { access_token: TOKEN, token_type: 'Bearer', refresh_token: 5 },
      { access_token: TOKEN, token_type: 'Bearer', scope: ['a'] },
    ]) {
      srv.script((_req, res) => json(res, 200, body));
      const err = await rejection(cc().getToken());
      assertGrantkitError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
      assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
    }
  });

  test('200 JSON that is not an object (array, string, null) -> INVALID_TOKEN_RESPONSE, token not in the message', async () => {
    // 2xx JSON without access_token: INVALID_TOKEN_RESPONSE (the body IS JSON).
    for (const body of [JSON.stringify([TOKEN]), JSON.stringify(TOKEN), 'null']) {
      srv.script((_req, res) => json(res, 200, body));
      const err = await rejection(cc().getToken());
      assertGrantkitError(err, 'INVALID_TOKEN_RESPONSE', { status: 200 });
      assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
    }
  });

  test('200 form-encoded token response (GitHub-style) -> RESPONSE_NOT_JSON, the token not in the message', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
      res.end(`access_token=${TOKEN}&scope=repo&token_type=bearer`);
    });
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_NOT_JSON', { status: 200 });
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('200 truncated JSON token response -> RESPONSE_NOT_JSON, the token not in the message', async () => {
    srv.script((_req, res) => json(res, 200, `{"access_token":"${TOKEN}","token_type":"Bearer"`));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_NOT_JSON', { status: 200 });
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('200 {"error":"invalid_scope"} -> OAUTH_ERROR with status 200', async () => {
    srv.script((_req, res) => json(res, 200, { error: 'invalid_scope' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 200, error: 'invalid_scope', body: { error: 'invalid_scope' } });
    assert.equal(err.error_description, undefined);
    assert.equal(err.error_uri, undefined);
  });

  test('200 with both access_token and error -> OAUTH_ERROR with status 200', async () => {
    srv.script((_req, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', error: 'server_error' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 200, error: 'server_error' });
    assert.ok(!err.message.includes(TOKEN));
  });

  test('a server that echoes the client secret in its error body: the secret is still nowhere in the error', async () => {
    srv.script((_req, res, body) => json(res, 400, {
      error: 'invalid_client', error_description: `unknown client secret ${SECRET}`, received: body,
    }));
    const err = await rejection(cc({ clientAuth: 'post' }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_client' });
    assertNoSecrets(err, [SECRET]);
  });

  test('a server that echoes the client secret in an HTML error page: not in the message', async () => {
    srv.script((_req, res) => { res.writeHead(400, { 'content-type': 'text/html' }); res.end(`<p>bad secret ${SECRET}</p>`); });
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_NOT_JSON', { status: 400 });
    assertNoSecrets(err, [SECRET]);
  });

  test('302 with Location -> UNEXPECTED_REDIRECT, the target is never requested', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      srv.script((req, res) => {
        if (req.url === '/elsewhere') { okToken()(req, res); return; }
        res.writeHead(status, { location: srv.url('/elsewhere') });
        res.end();
      });
      const err = await rejection(cc().getToken());
      assertGrantkitError(err, 'UNEXPECTED_REDIRECT', { status });
      assert.deepEqual(srv.hits.map((h) => h.url), ['/token'], `${status}: the redirect was followed`);
    }
  });

  test('500 {"message":"x"} -> HTTP_ERROR, status 500', async () => {
    srv.script((_req, res) => json(res, 500, { message: 'x' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'HTTP_ERROR', { status: 500 });
  });

  test('token_type "mac" -> UNSUPPORTED_TOKEN_TYPE, token not in the message', async () => {
    srv.script(okToken({ token_type: 'mac' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'UNSUPPORTED_TOKEN_TYPE');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('token_type "bearer" / "BEARER" -> accepted, normalised to "Bearer"; raw kept as sent', async () => {
    for (const tt of ['bearer', 'BEARER', 'Bearer']) {
      srv.script(okToken({ token_type: tt }));
      const ts = await cc().getToken();
      assert.equal(ts.token_type, 'Bearer');
      assert.equal(ts.access_token, TOKEN);
      assert.deepEqual(ts.raw, { access_token: TOKEN, token_type: tt, expires_in: 300 });
    }
  });

  test('expires_in "3599" (string) -> 3599; expires_at = floor(now/1000) + 3599', async () => {
    srv.script(okToken({ expires_in: '3599' }));
    const t0 = Date.now();
    const ts = await cc().getToken();
    const t1 = Date.now();
    assert.equal(ts.expires_in, 3599);
    assert.ok(ts.expires_at >= Math.floor(t0 / 1000) + 3599 && ts.expires_at <= Math.floor(t1 / 1000) + 3599, `${ts.expires_at}`);
    assert.equal(ts.raw.expires_in, '3599');
  });

  test('no expires_in -> expires_in and expires_at absent; other fields passed through', async () => {
    srv.script((_req, res) => json(res, 200, {
      access_token: TOKEN, token_type: 'Bearer', refresh_token: 'rt', id_token: 'a.b.c', scope: 'x y', ext: { n: 1 },
    }));
    const ts = await cc().getToken();
    assert.equal(ts.expires_in, undefined);
    assert.equal(ts.expires_at, undefined);
    assert.equal(ts.refresh_token, 'rt');
    assert.equal(ts.id_token, 'a.b.c');
    assert.equal(ts.scope, 'x y');
    assert.deepEqual(ts.raw.ext, { n: 1 });
  });

  test('Entra-style 401 error body -> OAUTH_ERROR with the whole body', async () => {
    const body = {
      error: 'invalid_client',
      error_description: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00000000-0000-0000-0000-000000000000'.",
      error_codes: [7000215],
      timestamp: '2024-01-01 00:00:00Z',
      trace_id: 't',
      correlation_id: 'c',
      error_uri: 'https://login.microsoftonline.com/error?code=7000215',
    };
    srv.script((_req, res) => json(res, 401, body, { 'www-authenticate': 'Basic realm="x"' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', {
      status: 401, error: 'invalid_client', error_description: body.error_description, error_uri: body.error_uri, body,
    });
    assert.deepEqual(err.body.error_codes, [7000215]);
    assert.equal(err.body.trace_id, 't');
    assert.equal(err.body.correlation_id, 'c');
    assert.match(err.message, /invalid_client/);
    assertNoSecrets(err, [SECRET]);
  });

  test('OAuth error without error_uri: error_uri undefined', async () => {
    srv.script((_req, res) => json(res, 400, { error: 'unauthorized_client', error_description: 'nope' }));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'unauthorized_client', error_description: 'nope' });
    assert.equal(err.error_uri, undefined);
  });

  test('a server that never answers, timeoutMs 300 -> TIMEOUT', async () => {
    srv.script(() => { /* never answer */ });
    const t0 = Date.now();
    const err = await rejection(cc({ timeoutMs: 300 }).getToken());
    const took = Date.now() - t0;
    assertGrantkitError(err, 'TIMEOUT');
    assert.ok(took >= 250 && took < 5000, `took ${took} ms`);
    assertNoSecrets(err, [SECRET]);
  });

  test('headers sent but the body never finishes, timeoutMs 300 -> TIMEOUT', async () => {
    srv.script((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"access_token":'); });
    const t0 = Date.now();
    const err = await rejection(cc({ timeoutMs: 300 }).getToken());
    assertGrantkitError(err, 'TIMEOUT');
    assert.ok(Date.now() - t0 < 5000);
  });

  test('AbortController aborted after 100 ms -> ABORTED', async () => {
    srv.script(() => { /* never answer */ });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const err = await rejection(cc({ timeoutMs: 10_000 }).getToken({ signal: ac.signal }));
    assertGrantkitError(err, 'ABORTED');
    assert.ok(Date.now() - t0 < 5000);
  });

  test('an already aborted signal -> ABORTED', async () => {
    srv.script(okToken());
    const err = await rejection(cc().getToken({ signal: AbortSignal.abort() }));
    assertGrantkitError(err, 'ABORTED');
  });

  test('2 MiB body (with Content-Length) -> RESPONSE_TOO_LARGE', async () => {
    const big = JSON.stringify({ access_token: 'x'.repeat(2 * 1024 * 1024), token_type: 'Bearer' });
    srv.script((_req, res) => json(res, 200, big));
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_TOO_LARGE');
  });

  test('2 MiB chunked body (no Content-Length) -> RESPONSE_TOO_LARGE', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"');
      const chunk = 'y'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 2 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end('","token_type":"Bearer"}');
      };
      res.on('error', () => {});
      pump();
    });
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'RESPONSE_TOO_LARGE');
  });

  test('a body just under 1 MiB is accepted', async () => {
    const token = 'z'.repeat(1024 * 1024 - 100);
    srv.script((_req, res) => json(res, 200, { access_token: token, token_type: 'Bearer' }));
    const ts = await cc().getToken();
    assert.equal(ts.access_token.length, token.length);
  });
});

describe('exact requests', () => {
  test('basic with a non-ASCII secret: Authorization = Basic base64(form(id):form(secret))', async () => {
    srv.script(okToken());
    await cc({ scope: 'a b' }).getToken();
    assert.equal(srv.hits.length, 1);
    const h = srv.hits[0];
    assert.equal(h.method, 'POST');
    assert.equal(h.url, '/token');
    assert.equal(h.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(h.headers.accept, 'application/json');
    assert.equal(h.headers.authorization, basicHeader(ID, SECRET));
    assert.equal(h.headers.authorization, `Basic ${Buffer.from('client-1:hostile-s3cret%3A%2B%25%26%C3%A9%2Fx').toString('base64')}`);
    assert.equal(h.body, 'grant_type=client_credentials&scope=a+b');
  });

  test('extraParams {audience, resource: [r1, r2]} -> exact body, in insertion order', async () => {
    srv.script(okToken());
    await cc({ extraParams: { audience: 'a', resource: ['r1', 'r2'] } }).getToken();
    assert.equal(srv.hits[0].body, 'grant_type=client_credentials&audience=a&resource=r1&resource=r2');
  });

  test('scope, then extraParams, then client credentials for "post"', async () => {
    srv.script(okToken());
    await cc({ clientAuth: 'post', scope: ['s1', 's2'], extraParams: { 'x y': 'v&w', resource: ['https://r/1'] } }).getToken();
    assert.equal(srv.hits[0].headers.authorization, undefined);
    assert.equal(srv.hits[0].body, form([
      ['grant_type', 'client_credentials'], ['scope', 's1 s2'], ['x y', 'v&w'], ['resource', 'https://r/1'], ['client_id', ID], ['client_secret', SECRET],
    ]));
  });

  test('clientAuth "post" with a secret containing :+%&é -> exact body', async () => {
    srv.script(okToken());
    await cc({ clientAuth: 'post' }).getToken();
    assert.equal(srv.hits[0].headers.authorization, undefined);
    assert.equal(srv.hits[0].body, 'grant_type=client_credentials&client_id=client-1&client_secret=hostile-s3cret%3A%2B%25%26%C3%A9%2Fx');
  });

  test('PasswordGrant: username and password before scope, special characters encoded', async () => {
    srv.script(okToken());
    const password = 'p@ss word+%&é';
    await new gk.PasswordGrant({
      tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, username: 'a b@c', password, scope: 'openid', extraParams: { k: 'v' },
    }).getToken();
    assert.equal(srv.hits[0].headers.authorization, basicHeader(ID, SECRET));
    assert.equal(srv.hits[0].body, 'grant_type=password&username=a+b%40c&password=p%40ss+word%2B%25%26%C3%A9&scope=openid&k=v');
  });

  test('PasswordGrant OAuth error: neither password nor secret in the error', async () => {
    const password = 'pw-%&+é-zz';
    srv.script((_req, res) => json(res, 400, { error: 'invalid_grant', error_description: 'Invalid user credentials' }));
    const err = await rejection(new gk.PasswordGrant({
      tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, username: 'u', password,
    }).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
    assertNoSecrets(err, [password, SECRET]);
  });

  test('an injected fetch is called with (url, init) instead of the global fetch', async () => {
    srv.script(okToken());
    const realFetch = globalThis.fetch;
    const calls = [];
    let globalCalls = 0;
    const injected = (url, init) => { calls.push({ url, init }); return realFetch(url, init); };
    globalThis.fetch = (...args) => { globalCalls += 1; return realFetch(...args); };
    try {
      const ts = await cc({ fetch: injected, scope: 's' }).getToken();
      assert.equal(ts.access_token, TOKEN);
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal(calls.length, 1);
    assert.equal(globalCalls, 0, 'the global fetch was called');
    assert.equal(String(calls[0].url), srv.url());
    assert.equal(calls[0].init.method, 'POST');
    assert.equal(new Headers(calls[0].init.headers).get('content-type'), 'application/x-www-form-urlencoded');
    assert.equal(srv.hits.length, 1);
    assert.equal(srv.hits[0].body, 'grant_type=client_credentials&scope=s');
  });

  test('an injected fetch that rejects -> NETWORK_ERROR', async () => {
    const err = await rejection(cc({ fetch: async () => { throw new TypeError('fetch failed'); } }).getToken());
    assertGrantkitError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET]);
  });

  test('a closed port -> NETWORK_ERROR', async () => {
    const port = await closedPort();
    const err = await rejection(new gk.ClientCredentials({
      tokenEndpoint: `http://127.0.0.1:${port}/token`, clientId: ID, clientSecret: SECRET, timeoutMs: 5000,
    }).getToken());
    assertGrantkitError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET]);
  });

  test('the server resets the connection -> NETWORK_ERROR', async () => {
    srv.script((req) => { req.socket.destroy(); });
    const err = await rejection(cc().getToken());
    assertGrantkitError(err, 'NETWORK_ERROR');
  });

  test('keycloak() preset with a loopback base URL: the realm token path is used', async () => {
    srv.script(okToken());
    const preset = gk.keycloak({ baseUrl: srv.origin, realm: 'demo' });
    const ts = await new gk.ClientCredentials({ ...preset, clientId: ID, clientSecret: SECRET }).getToken();
    assert.equal(ts.access_token, TOKEN);
    assert.equal(srv.hits[0].url, '/realms/demo/protocol/openid-connect/token');
  });

  test('entra provider with a valid scope sends it unchanged', async () => {
    srv.script(okToken());
    await new gk.ClientCredentials({
      provider: 'entra', tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, scope: 'api://x/.default',
    }).getToken();
    assert.equal(srv.hits[0].body, 'grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default');
    srv.script(okToken());
    await new gk.PasswordGrant({
      provider: 'entra', tokenEndpoint: srv.url(), clientId: ID, clientSecret: SECRET, username: 'u', password: 'p', scope: ['openid', 'api://x/access_as_user'],
    }).getToken();
    assert.equal(srv.hits[0].body, 'grant_type=password&username=u&password=p&scope=openid+api%3A%2F%2Fx%2Faccess_as_user');
  });
});
