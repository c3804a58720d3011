// TokenSource.authorizedFetch of the installed package against a resource
// server that checks bearer tokens by introspection at the local IdP: the
// headers it adds, one retry with a new token on a 401, the origin allow-list
// (nothing at all is sent to an origin not on it), redirects returned and not
// followed, and the fetch option.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import { startResourceServer } from '../idp/resource_server.mjs';
import {
  assertGrantkitError, assertNoSecrets, closedPort, loadGrantkit, rejection, thrown,
} from './helpers.mjs';

let gk;
let idp;
let rs; // the API
let other; // a second resource server on another origin

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
  rs = await startResourceServer({ idp });
  other = await startResourceServer({ idp });
});
after(async () => {
  await other?.close();
  await rs?.close();
  await idp?.close();
});

const { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } = CLIENTS.ccPost;

function cc() {
  return new gk.ClientCredentials({
    tokenEndpoint: idp.tokenEndpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuth: 'post', scope: 'api:read',
  });
}

/**
 * A fresh TokenSource (options as given, even undefined; without an argument:
 * allowedOrigins [rs.origin]); forgets earlier requests and calls.
 */
function source(...args) {
  const options = args.length ? args[0] : { allowedOrigins: [rs.origin] };
  const src = new gk.TokenSource(cc(), options);
  idp.resetRequests();
  rs.calls.length = 0;
  other.calls.length = 0;
  return src;
}

function assertTokenRequest(req) {
  assert.equal(req.method, 'POST');
  assert.equal(req.path, '/token');
  assert.equal(req.body, `grant_type=client_credentials&scope=api%3Aread&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}`);
}

describe('TokenSource.authorizedFetch', () => {
  test('adds the bearer token, the configured headers and x-api-caller-id; keeps the caller\'s method, headers and body', async () => {
    const src = source({
      allowedOrigins: [rs.origin],
      headers: { 'Ocp-Apim-Subscription-Key': 'sub-key-1' },
      apiCallerId: 'ops@example.com',
    });
    const body = JSON.stringify({ name: 'widget', count: 3 });
    const res = await src.authorizedFetch(`${rs.url}/things?x=1`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-77' }, body,
    });
    assert.equal(res.status, 200);
    const ts = await src.getToken();
    assert.deepEqual(await res.json(), {
      ok: true,
      sub: CLIENT_ID,
      client_id: CLIENT_ID,
      scope: 'api:read',
      method: 'POST',
      path: '/api/things?x=1',
      callerId: 'ops@example.com',
      subscriptionKey: 'sub-key-1',
    });

    assert.equal(idp.tokenRequests().length, 1, 'one token request; getToken() afterwards is the cached token');
    assertTokenRequest(idp.tokenRequests()[0]);
    assert.equal(rs.calls.length, 1);
    const [call] = rs.calls;
    assert.equal(call.method, 'POST');
    assert.equal(call.path, '/api/things?x=1');
    assert.equal(call.headers.authorization, `Bearer ${ts.access_token}`);
    assert.equal(call.headers['ocp-apim-subscription-key'], 'sub-key-1');
    assert.equal(call.headers['x-api-caller-id'], 'ops@example.com');
    assert.equal(call.headers['content-type'], 'application/json');
    assert.equal(call.headers['x-request-id'], 'req-77');
    assert.equal(call.body, body);
    assert.equal(call.status, 200);

    // Without apiCallerId and headers: only the token is added.
    const plain = source();
    const r2 = await plain.authorizedFetch(rs.url);
    assert.equal(r2.status, 200);
    const j2 = await r2.json();
    assert.equal(j2.callerId, null);
    assert.equal(j2.subscriptionKey, null);
    assert.equal(j2.method, 'GET');
    assert.equal(rs.calls[0].headers.authorization, `Bearer ${(await plain.getToken()).access_token}`);
    assert.equal(rs.calls[0].headers['x-api-caller-id'], undefined);
    assert.equal(rs.calls[0].headers['ocp-apim-subscription-key'], undefined);
  });

  test('401: the token is replaced and the call made exactly once more with the new token; a second 401 is returned as is', async () => {
    const src = source();
    rs.failNext401(1);
    const res = await src.authorizedFetch(`${rs.url}/retry`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'payload-1' });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).ok, true);
    assert.equal(rs.calls.length, 2);
    const [first, second] = rs.calls;
    const tokenA = first.headers.authorization.replace(/^Bearer /, '');
    const tokenB = second.headers.authorization.replace(/^Bearer /, '');
    assert.equal(first.status, 401);
    assert.equal(second.status, 200);
    assert.notEqual(tokenB, tokenA);
    assert.equal(idp.tokenRequests().length, 2);
    for (const r of idp.tokenRequests()) assertTokenRequest(r);
    const now = await src.getToken();
    assert.equal(now.access_token, tokenB, 'the new token is the cached one');
    assert.equal(idp.tokenRequests().length, 2);
    // The retry is the same call: method, path, body.
    for (const c of [first, second]) {
      assert.equal(c.method, 'PUT');
      assert.equal(c.path, '/api/retry');
      assert.equal(c.body, 'payload-1');
      assert.equal(c.headers['content-type'], 'text/plain');
    }

    // Two 401s: the second comes back, and nothing more is tried.
    rs.calls.length = 0;
    rs.failNext401(2);
    const denied = await src.authorizedFetch(rs.url);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.deepEqual(await denied.json(), { error: 'invalid_token' });
    assert.equal(rs.calls.length, 2);
    assert.equal(rs.calls[0].headers.authorization, `Bearer ${tokenB}`);
    assert.notEqual(rs.calls[1].headers.authorization, `Bearer ${tokenB}`);
    assert.equal(idp.tokenRequests().length, 3);
    assert.equal(rs.calls[1].headers.authorization, `Bearer ${(await src.getToken()).access_token}`);

    // A Request with a body is retried with the same body.
    rs.calls.length = 0;
    rs.failNext401(1);
    const r3 = await src.authorizedFetch(new Request(`${rs.url}/req`, { method: 'POST', body: 'request-body' }));
    assert.equal(r3.status, 200);
    assert.deepEqual(rs.calls.map((c) => [c.method, c.path, c.body, c.status]), [
      ['POST', '/api/req', 'request-body', 401],
      ['POST', '/api/req', 'request-body', 200],
    ]);
  });

  test('origins: a refused origin sends nothing (no call, no token request); none configured refuses all; a path in allowedOrigins is a config error', async () => {
    const src = source();
    const port = await closedPort();
    for (const url of [
      'https://evil.example/',
      `http://127.0.0.1:${port}/api`,
      `http://localhost:${rs.port}/api`, // same server, another origin
      `https://127.0.0.1:${rs.port}/api`,
      other.url,
    ]) {
      const err = await rejection(src.authorizedFetch(url));
      assertGrantkitError(err, 'ORIGIN_NOT_ALLOWED');
      assertNoSecrets(err, [CLIENT_SECRET]);
      const err2 = await rejection(src.authorizedFetch(new Request(url)));
      assertGrantkitError(err2, 'ORIGIN_NOT_ALLOWED');
      const err3 = await rejection(src.authorizedFetch(new URL(url)));
      assertGrantkitError(err3, 'ORIGIN_NOT_ALLOWED');
    }
    assert.equal(idp.requests.length, 0, 'not even a token request');
    assert.equal(rs.calls.length, 0);
    assert.equal(other.calls.length, 0);

    // No allowedOrigins: nothing is allowed, not even the API.
    for (const options of [undefined, {}, { allowedOrigins: [] }]) {
      const none = source(options);
      assertGrantkitError(await rejection(none.authorizedFetch(rs.url)), 'ORIGIN_NOT_ALLOWED');
      assert.equal(idp.requests.length, 0);
      assert.equal(rs.calls.length, 0);
    }

    // An origin is scheme, host and port.
    for (const bad of ['https://api.example.com/v1', 'https://api.example.com/?x=1', 'not a url']) {
      assertGrantkitError(thrown(() => new gk.TokenSource(cc(), { allowedOrigins: [bad] })), 'INVALID_CONFIG', { field: 'allowedOrigins' });
    }

    // A Request object and a URL object to an allowed origin work.
    const ok = source();
    const viaRequest = await ok.authorizedFetch(new Request(`${rs.url}/from-request`, { method: 'DELETE', headers: { 'x-r': '1' } }));
    assert.equal(viaRequest.status, 200);
    const viaUrl = await ok.authorizedFetch(new URL(`${rs.url}/from-url?q=2`));
    assert.equal(viaUrl.status, 200);
    assert.equal((await viaUrl.json()).path, '/api/from-url?q=2');
    const token = (await ok.getToken()).access_token;
    assert.deepEqual(rs.calls.map((c) => [c.method, c.path, c.headers.authorization, c.status]), [
      ['DELETE', '/api/from-request', `Bearer ${token}`, 200],
      ['GET', '/api/from-url?q=2', `Bearer ${token}`, 200],
    ]);
    assert.equal(rs.calls[0].headers['x-r'], '1');
    assert.equal(idp.tokenRequests().length, 1);
  });

  test('redirects are not followed: the 302 comes back and the other origin gets no call (the token does not travel)', async () => {
    const src = source();
    const to = `${other.url}/stolen`;
    const target = `${rs.origin}/redirect-away?to=${encodeURIComponent(to)}`;
    for (const call of [
      () => src.authorizedFetch(target),
      () => src.authorizedFetch(target, { redirect: 'follow' }),
      () => src.authorizedFetch(new Request(target)), // a Request's redirect mode is "follow" by default
    ]) {
      const res = await call();
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), to);
      await res.arrayBuffer();
    }
    assert.equal(other.calls.length, 0, 'nothing reached the other origin');
    const token = (await src.getToken()).access_token;
    assert.equal(rs.calls.length, 3);
    for (const c of rs.calls) {
      assert.equal(c.method, 'GET');
      assert.equal(c.path, `/redirect-away?to=${encodeURIComponent(to)}`);
      assert.equal(c.headers.authorization, `Bearer ${token}`);
      assert.equal(c.status, 302);
    }
  });

  test('a 401 whose new token cannot be had: getToken() without options (answered in JavaScript on a warm cache) does not hand out the rejected token', async () => {
    const src = source();
    const before = await src.getToken();
    assert.equal(await src.getToken(), before, 'warm: the same object');
    rs.failNext401(1);
    idp.failTokenRequests(1, { status: 503, body: { error: 'temporarily_unavailable' } });
    assertGrantkitError(await rejection(src.authorizedFetch(rs.url)), 'OAUTH_ERROR', { status: 503 });
    assert.equal(idp.tokenRequests().length, 2);
    const after = await src.getToken();
    assert.equal(idp.tokenRequests().length, 3, 'a new token request, not the rejected token');
    assert.notEqual(after.access_token, before.access_token);
    assert.equal(await src.getToken(), after);
    assert.equal(idp.tokenRequests().length, 3);
  });

  test('the fetch option gets one Request with the token and headers; its Response is returned as is; a 401 from it is retried once', async () => {
    const seen = [];
    const bodies = [];
    const answers = [new Response('nope', { status: 401 }), new Response('created', { status: 201, headers: { 'x-answer': 'yes' } })];
    const src = source({
      allowedOrigins: [rs.origin],
      headers: { 'Ocp-Apim-Subscription-Key': 'sub-key-2' },
      apiCallerId: 'ops@example.com',
      fetch: async (request) => {
        seen.push(request);
        bodies.push(await request.clone().text());
        return answers.shift();
      },
    });
    const res = await src.authorizedFetch(`${rs.url}/injected`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'injected-body' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-answer'), 'yes');
    assert.equal(await res.text(), 'created');
    assert.equal(rs.calls.length, 0, 'the real API was not called');
    assert.equal(seen.length, 2);
    assert.equal(idp.tokenRequests().length, 2);
    const token = (await src.getToken()).access_token;
    for (const [i, req] of seen.entries()) {
      assert.ok(req instanceof Request, 'called with a Request');
      assert.equal(req.url, `${rs.url}/injected`);
      assert.equal(req.method, 'POST');
      assert.equal(req.redirect, 'manual');
      assert.equal(req.headers.get('content-type'), 'text/plain');
      assert.equal(req.headers.get('ocp-apim-subscription-key'), 'sub-key-2');
      assert.equal(req.headers.get('x-api-caller-id'), 'ops@example.com');
      assert.equal(bodies[i], 'injected-body');
    }
    const [first, second] = seen.map((r) => r.headers.get('authorization'));
    assert.match(first, /^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.notEqual(second, first);
    assert.equal(second, `Bearer ${token}`);
  });
});
