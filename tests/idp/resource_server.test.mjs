// Checks of the test resource server (tests/idp/resource_server.mjs) against
// tokens of every grant the local IdP issues.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

import { CLIENTS, DEVICE_CODE_GRANT, JWT_BEARER_GRANT, USERS, startIdp } from './server.mjs';
import { approveDevice } from './device_approve.mjs';
import { startResourceServer } from './resource_server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

let idp;
let rs;

async function tokenRequest(pairs, headers = {}) {
  const res = await fetch(idp.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(pairs).toString(),
  });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function ccToken(scope = 'api:read') {
  const { client_id: id, client_secret: secret } = CLIENTS.ccPost;
  return (await tokenRequest([['grant_type', 'client_credentials'], ['scope', scope], ['client_id', id], ['client_secret', secret]])).access_token;
}

async function call(pathAndQuery, { token, method = 'GET', headers = {}, body } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(new URL(pathAndQuery, rs.origin), {
    method, headers: h, body, redirect: 'manual',
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return {
    status: res.status, headers: res.headers, text, json,
  };
}

before(async () => {
  idp = await startIdp({ deviceIntervalSeconds: 1 });
  rs = await startResourceServer({ idp });
});
after(async () => {
  await rs?.close();
  await idp?.close();
});

describe('resource server', () => {
  test('url and origin', () => {
    assert.match(rs.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(rs.url, `${rs.origin}/api`);
    assert.equal(rs.port, Number(new URL(rs.origin).port));
  });

  test('a valid client credentials token -> 200 with what the introspection said and the request', async () => {
    const token = await ccToken('api:read api:write');
    const r = await call('/api/things?x=1', {
      token, method: 'POST', headers: { 'x-api-caller-id': 'caller-7', 'ocp-apim-subscription-key': 'sub-key', 'content-type': 'application/json' }, body: '{"a":1}',
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(r.json, {
      ok: true,
      sub: 'cc-post',
      client_id: 'cc-post',
      scope: 'api:read api:write',
      method: 'POST',
      path: '/api/things?x=1',
      callerId: 'caller-7',
      subscriptionKey: 'sub-key',
    });
    const plain = await call('/other', { token });
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.json.callerId, null);
    assert.equal(plain.json.subscriptionKey, null);
    assert.equal(plain.json.method, 'GET');
  });

  test('no token, a malformed header, garbage, a revoked token -> 401 invalid_token', async () => {
    const token = await ccToken();
    const { client_id: id, client_secret: secret } = CLIENTS.ccPost;
    const rev = await fetch(idp.revocationEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: id, client_secret: secret }).toString(),
    });
    assert.equal(rev.status, 200);
    const cases = [
      {},
      { headers: { authorization: 'Basic Zm9vOmJhcg==' } },
      { headers: { authorization: 'Bearer' } },
      { token: 'not-a-token' },
      { token: `${token}x` },
      { token },
    ];
    for (const opts of cases) {
      const r = await call('/api/x', opts);
      assert.equal(r.status, 401, JSON.stringify(opts));
      assert.equal(r.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.deepEqual(r.json, { error: 'invalid_token' });
    }
  });

  test('failNext401(n): the next n calls are 401 whatever the token, then 200 again', async () => {
    const token = await ccToken();
    rs.failNext401(2);
    for (let i = 0; i < 2; i += 1) {
      const r = await call('/api/x', { token });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.deepEqual(r.json, { error: 'invalid_token' });
    }
    assert.equal((await call('/api/x', { token })).status, 200);
    assert.throws(() => rs.failNext401(-1), TypeError);
  });

  test('every call is recorded in order: method, path, lowercased headers, body, status', async () => {
    const token = await ccToken();
    const n = rs.calls.length;
    await call('/api/a', { token, headers: { 'X-Mixed-Case': 'Yes' } });
    await call('/api/b', { method: 'PUT', body: 'hello' });
    await call('/redirect-away?to=http%3A%2F%2F127.0.0.1%3A9%2Fthird-party');
    const calls = rs.calls.slice(n);
    assert.deepEqual(calls.map((c) => [c.method, c.path, c.status]), [
      ['GET', '/api/a', 200], ['PUT', '/api/b', 401], ['GET', '/redirect-away?to=http%3A%2F%2F127.0.0.1%3A9%2Fthird-party', 302],
    ]);
    assert.equal(calls[0].headers.authorization, `Bearer ${token}`);
    assert.equal(calls[0].headers['x-mixed-case'], 'Yes');
    assert.equal(calls[0].body, '');
    assert.equal(calls[1].body, 'hello');
    assert.equal(calls[1].headers.authorization, undefined);
  });

  test('GET /redirect-away?to=URL -> 302 to URL, without checking a token or using up failNext401', async () => {
    const to = 'http://localhost:1/elsewhere?q=1';
    rs.failNext401(1);
    const r = await call(`/redirect-away?to=${encodeURIComponent(to)}`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), to);
    assert.equal((await call('/api/x', { token: await ccToken() })).status, 401); // the forced one
    assert.equal((await call('/redirect-away')).status, 400);
  });

  test('tokens of the password, JWT bearer and device grants, and a refreshed one, are accepted', async () => {
    const pw = await tokenRequest(
      [['grant_type', 'password'], ['username', 'alice'], ['password', USERS.alice.password], ['scope', 'openid offline_access api:read']],
      { authorization: basic(CLIENTS.pwClient.client_id, CLIENTS.pwClient.client_secret) },
    );
    let r = await call('/api/me', { token: pw.access_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.sub, 'alice');
    assert.equal(r.json.client_id, 'pw-client');
    assert.equal(r.json.scope, 'api:read');

    const refreshed = await tokenRequest(
      [['grant_type', 'refresh_token'], ['refresh_token', pw.refresh_token]],
      { authorization: basic(CLIENTS.pwClient.client_id, CLIENTS.pwClient.client_secret) },
    );
    r = await call('/api/me', { token: refreshed.access_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.sub, 'alice');

    const key = await jose.importPKCS8(fs.readFileSync(path.join(here, '..', 'fixtures', 'rsa2048.pkcs8.pem'), 'utf8'), 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new jose.SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'fixture-2048' })
      .setIssuer('svc-fixture').setSubject('svc-fixture').setAudience(idp.tokenEndpoint)
      .setIssuedAt(now).setExpirationTime(now + 120).setJti(crypto.randomUUID())
      .sign(key);
    const svc = await tokenRequest([['client_id', 'service-account'], ['grant_type', JWT_BEARER_GRANT], ['assertion', assertion], ['scope', 'api:write']]);
    r = await call('/api/me', { token: svc.access_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.sub, 'svc-fixture');
    assert.equal(r.json.client_id, 'service-account');
    assert.equal(r.json.scope, 'api:write');

    const dar = await fetch(idp.deviceAuthorizationEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'device-public', scope: 'openid offline_access api:read' }).toString(),
    });
    const d = await dar.json();
    await approveDevice({ verificationUri: d.verification_uri_complete, username: 'bob', password: USERS.bob.password });
    const dev = await tokenRequest([['grant_type', DEVICE_CODE_GRANT], ['device_code', d.device_code], ['client_id', 'device-public']]);
    r = await call('/api/me', { token: dev.access_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.sub, 'bob');
    assert.equal(r.json.client_id, 'device-public');
  });

  test('startResourceServer needs the idp', async () => {
    await assert.rejects(startResourceServer({}), TypeError);
  });
});
