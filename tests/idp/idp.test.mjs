// Checks of the local identity provider itself (tests/idp/server.mjs), with
// plain fetch: every grant the e2e tests rely on, and its error answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

import { CLIENTS, RESOURCE, USERS, startIdp } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// application/x-www-form-urlencoded serialisation of one value (WHATWG URL
// standard, as URLSearchParams does it), written out independently here.
function formEncode(value) {
  let out = '';
  for (const byte of Buffer.from(String(value), 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9*\-._]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`, 'utf8').toString('base64')}`;
}

function form(pairs) {
  return pairs.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&');
}

let idp;

async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

async function introspect(token) {
  const r = await post(
    idp.introspectionEndpoint,
    form([['token', token]]),
    { authorization: basic(CLIENTS.introspector.client_id, CLIENTS.introspector.client_secret) },
  );
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function verifyAccessToken(token) {
  const jwks = jose.createLocalJWKSet({ keys: [idp.publicJwk] });
  return jose.jwtVerify(token, jwks, { issuer: idp.issuer, audience: RESOURCE, typ: 'at+jwt' });
}

before(async () => { idp = await startIdp(); });
after(async () => { await idp?.close(); });

describe('form encoding helper', () => {
  test('matches URLSearchParams for the awkward characters', () => {
    for (const s of [CLIENTS.ccBasic.client_secret, 's3cret:+%&é/basic', "a b~!'()*-._", '\u{1F600}']) {
      assert.equal(formEncode(s), new URLSearchParams({ x: s }).toString().slice(2));
    }
    assert.equal(formEncode(CLIENTS.ccBasic.client_secret), 's3cret%3A%2B%25%26+%7E*%2Fbasic');
  });
});

describe('client_credentials', () => {
  test('client_secret_basic with a form-urlencoded secret: JWT access token, introspection active', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccBasic;
    const before = Math.floor(Date.now() / 1000);
    const r = await post(idp.tokenEndpoint, 'grant_type=client_credentials&scope=api%3Aread', { authorization: basic(id, secret) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'api:read');
    assert.equal(r.json.expires_in, 3600);
    assert.match(r.headers.get('cache-control'), /no-store/);

    const { payload, protectedHeader } = await verifyAccessToken(r.json.access_token);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(protectedHeader.kid, idp.publicJwk.kid);
    assert.equal(payload.client_id, id);
    assert.equal(payload.sub, id);
    assert.equal(payload.scope, 'api:read');
    assert.equal(payload.exp - payload.iat, 3600);
    assert.ok(payload.iat >= before - 1 && payload.iat <= before + 5);

    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, id);
    assert.equal(info.scope, 'api:read');
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.iss, idp.issuer);
    assert.equal(info.exp, payload.exp);
    assert.equal(info.iat, payload.iat);
    assert.equal(info.token_type, 'Bearer');
  });

  test('the raw, not form-urlencoded secret in the Basic header is rejected', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccBasic;
    const raw = `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
    const r = await post(idp.tokenEndpoint, 'grant_type=client_credentials', { authorization: raw });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
  });

  test('client_secret_post', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccPost;
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['scope', 'api:read api:write'], ['client_id', id], ['client_secret', secret]]));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scope, 'api:read api:write');
    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, id);
  });

  test('wrong secret -> 401 invalid_client (post and basic)', async () => {
    let r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', 'cc-post'], ['client_secret', 'wrong']]));
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    r = await post(idp.tokenEndpoint, 'grant_type=client_credentials', { authorization: basic('cc-basic', 'wrong') });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate'), /^Basic /);
  });

  test('oidc-provider treats client_secret_basic and client_secret_post as interchangeable', async () => {
    // So the IdP accepting a token request does not prove the client used the
    // registered method: the e2e tests assert the recorded request instead.
    const { client_id: id, client_secret: secret } = CLIENTS.ccBasic;
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', id], ['client_secret', secret]]));
    assert.equal(r.status, 200, r.text);
  });

  test('unknown resource -> invalid_target', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['resource', 'urn:other']]), { authorization: basic('cc-basic', CLIENTS.ccBasic.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_target');
  });
});

describe('password grant', () => {
  test('confidential client: access, refresh and id token; introspection; refresh works', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.pwClient;
    const r = await post(
      idp.tokenEndpoint,
      form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'openid offline_access api:read']]),
      { authorization: basic(id, secret) },
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, 3600);
    assert.equal(r.json.scope, 'api:read');

    const { payload } = await verifyAccessToken(r.json.access_token);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.client_id, id);

    const jwks = jose.createLocalJWKSet({ keys: [idp.publicJwk] });
    const idt = await jose.jwtVerify(r.json.id_token, jwks, { issuer: idp.issuer, audience: id });
    assert.equal(idt.payload.sub, 'alice');

    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, id);

    const rtInfo = await introspect(r.json.refresh_token);
    assert.equal(rtInfo.active, true);
    assert.equal(rtInfo.scope, 'openid offline_access api:read');

    const refreshed = await post(idp.tokenEndpoint, form([['grant_type', 'refresh_token'], ['refresh_token', r.json.refresh_token]]), { authorization: basic(id, secret) });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.json.scope, 'api:read');
    assert.equal((await verifyAccessToken(refreshed.json.access_token)).payload.sub, 'alice');
    assert.equal((await introspect(refreshed.json.access_token)).active, true);
  });

  test('public client (client_id in the body): access and id token, no refresh token (not allowed to refresh)', async () => {
    const r = await post(
      idp.tokenEndpoint,
      form([['grant_type', 'password'], ['username', 'bob'], ['password', USERS.bob.password], ['scope', 'openid offline_access api:read'], ['client_id', 'pw-public']]),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'id_token', 'scope', 'token_type']);
    assert.equal(jose.decodeJwt(r.json.id_token).sub, 'bob');
    const info = await introspect(r.json.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'bob');
    assert.equal(info.client_id, 'pw-public');
  });

  test('without openid / offline_access: no id token, no refresh token', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password]]), { authorization: basic('pw-client', 'pw-secret') });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'token_type']);
  });

  test('wrong password / unknown user -> 400 invalid_grant', async () => {
    for (const [u, p] of [['alice', 'wrong'], ['alice', USERS.bob.password], ['nobody', 'x']]) {
      const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', u], ['password', p]]), { authorization: basic('pw-client', 'pw-secret') });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_grant');
      assert.ok(!r.text.includes(p));
    }
  });

  test('missing username or password -> 400 invalid_request', async () => {
    for (const pairs of [[['username', 'alice']], [['password', 'x']], [['username', ''], ['password', 'x']]]) {
      const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ...pairs]), { authorization: basic('pw-client', 'pw-secret') });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_request');
    }
  });

  test('client authentication runs first: wrong client secret -> 401 invalid_client', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password]]), { authorization: basic('pw-client', 'nope') });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
  });

  test('a client not allowed the password grant is refused', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password]]), { authorization: basic('cc-basic', CLIENTS.ccBasic.client_secret) });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    assert.match(r.json.error_description, /not allowed/);
  });

  test('unknown scope -> invalid_scope', async () => {
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'api:read admin']]), { authorization: basic('pw-client', 'pw-secret') });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_scope');
  });
});

describe('introspection, revocation, discovery, recording', () => {
  test('revoked JWT access token introspects inactive; garbage is inactive', async () => {
    const { client_id: id, client_secret: secret } = CLIENTS.ccPost;
    const r = await post(idp.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', id], ['client_secret', secret]]));
    assert.equal(r.status, 200);
    assert.equal((await introspect(r.json.access_token)).active, true);
    const rev = await post(idp.revocationEndpoint, form([['token', r.json.access_token], ['client_id', id], ['client_secret', secret]]));
    assert.equal(rev.status, 200, rev.text);
    assert.equal((await introspect(r.json.access_token)).active, false);
    assert.deepEqual(await introspect('not-a-token'), { active: false });
  });

  test('introspection requires client authentication', async () => {
    const r = await post(idp.introspectionEndpoint, form([['token', 'x']]));
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
    const w = await post(idp.introspectionEndpoint, form([['token', 'x']]), { authorization: basic('introspector', 'wrong') });
    assert.equal(w.status, 401);
    assert.equal(w.json.error, 'invalid_client');
  });

  test('discovery announces the endpoints and grants', async () => {
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    const d = await res.json();
    assert.equal(d.issuer, idp.issuer);
    assert.equal(d.token_endpoint, idp.tokenEndpoint);
    assert.equal(d.introspection_endpoint, idp.introspectionEndpoint);
    assert.equal(d.revocation_endpoint, idp.revocationEndpoint);
    assert.equal(d.device_authorization_endpoint, idp.deviceAuthorizationEndpoint);
    assert.equal(d.jwks_uri, idp.jwksUri);
    for (const g of ['client_credentials', 'password', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']) {
      assert.ok(d.grant_types_supported.includes(g), g);
    }
    const jwks = await (await fetch(idp.jwksUri)).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), [idp.publicJwk.kid]);
  });

  test('every token endpoint request is recorded raw', async () => {
    const start = idp.requests.length;
    const body = 'grant_type=client_credentials&scope=api%3Aread&client_id=cc-post&client_secret=post-secret-123';
    const r = await post(idp.tokenEndpoint, body, { 'x-test': 'Yes' });
    assert.equal(r.status, 200);
    assert.equal(idp.requests.length, start + 1);
    const rec = idp.requests[start];
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/token');
    assert.equal(rec.body, body);
    assert.equal(rec.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(rec.headers['x-test'], 'Yes');
    assert.equal(rec.headers.accept, 'application/json');
  });
});

describe('standalone', () => {
  test('node server.mjs --port 0 --ready-file F prints the JSON line, writes F, exits 0 on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grantkit-idp-'));
      const ready = path.join(dir, 'ready.json');
      const child = spawn(process.execPath, [path.join(here, 'server.mjs'), '--port', '0', '--ready-file', ready], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
      const deadline = Date.now() + 10_000;
      while (!stdout.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      try {
        assert.ok(stdout.endsWith('\n'), `no ready line; stderr: ${stderr}`);
        const lines = stdout.split('\n');
        assert.equal(lines.length, 2);
        const info = JSON.parse(lines[0]);
        assert.match(info.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(info.tokenEndpoint, `${info.issuer}/token`);
        assert.equal(info.introspectionEndpoint, `${info.issuer}/token/introspection`);
        assert.equal(info.deviceAuthorizationEndpoint, `${info.issuer}/device/auth`);
        assert.equal(info.port, Number(new URL(info.issuer).port));
        assert.equal(fs.readFileSync(ready, 'utf8'), stdout);
        const r = await post(info.tokenEndpoint, form([['grant_type', 'client_credentials'], ['client_id', 'cc-post'], ['client_secret', 'post-secret-123']]));
        assert.equal(r.status, 200);
      } finally {
        child.kill(signal);
        const { code, sig } = await exited;
        assert.deepEqual({ code, sig }, { code: 0, sig: null }, `${signal}: ${stderr}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
