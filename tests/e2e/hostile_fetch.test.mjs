// TokenSource.authorizedFetch of the installed package against hostile
// inputs: origin look-alikes (nothing sent, not even a token request),
// Request / URL objects that lie about their URL (checked on the Request that
// is actually sent: the evil server on 127.0.0.1 gets nothing), and an API
// that never answers (TIMEOUT from the flow's timeoutMs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertNoSecrets, loadGrantkit, startScriptedServer, tokenFetchStub,
} from './helpers.mjs';
import {
  assertChildSurvived, assertHostileError, assertWithin, runInChild, timedRejection,
} from './hostile_helpers.mjs';

const ALLOWED = 'https://api.example.com';
const TOKEN = 'AT-FETCH-hostile-0123456789';
const SECRET = 'f3tch-s3cret';

let gk;
let api; // the allowed origin (127.0.0.1)
let evil; // must never be asked anything

before(async () => {
  gk = await loadGrantkit();
  api = await startScriptedServer();
  evil = await startScriptedServer();
});
after(async () => {
  await api?.close();
  await evil?.close();
});

/** A TokenSource whose token requests and API calls are recorded, none sent anywhere. */
function offlineSource() {
  const tokenCalls = [];
  const apiCalls = [];
  const flow = new gk.ClientCredentials({
    tokenEndpoint: 'https://idp.example.com/token', clientId: 'c', clientSecret: SECRET,
    fetch: tokenFetchStub(tokenCalls, { access_token: TOKEN, token_type: 'Bearer', expires_in: 300 }),
  });
  const source = new gk.TokenSource(flow, {
    allowedOrigins: [ALLOWED],
    fetch: async (request) => { apiCalls.push(request); return new Response('ok'); },
  });
  return { source, tokenCalls, apiCalls };
}

async function assertRefused(input) {
  const { source, tokenCalls, apiCalls } = offlineSource();
  const { err } = await timedRejection(source.authorizedFetch(input));
  assertHostileError(err, 'ORIGIN_NOT_ALLOWED');
  assert.equal(apiCalls.length, 0, 'the API fetch was called');
  assert.equal(tokenCalls.length, 0, 'a token was requested');
  assertNoSecrets(err, [SECRET, TOKEN]);
}

describe('origin look-alikes -> ORIGIN_NOT_ALLOWED, nothing sent', () => {
  test('https://api.example.com.evil.example (suffix)', () => assertRefused('https://api.example.com.evil.example/v1/x'));
  test('https://api.example.com@evil.example (userinfo)', () => assertRefused('https://api.example.com@evil.example/v1/x'));
  test('https://api.example.com:443@evil.example (userinfo that looks like a port)', () => assertRefused('https://api.example.com:443@evil.example/v1/x'));
  test('http://api.example.com (http instead of https)', () => assertRefused('http://api.example.com/v1/x'));
  test('https://api.example.com:8443 (another port)', () => assertRefused('https://api.example.com:8443/v1/x'));
  test('https://аpi.example.com (Cyrillic а, an IDN homograph)', () => assertRefused('https://\u0430pi.example.com/v1/x'));
  test('the punycode form of the homograph', () => assertRefused(new URL('https://\u0430pi.example.com/v1/x').href));
  test('https://api.example.com./ (trailing dot)', () => assertRefused('https://api.example.com./v1/x'));
  test('https://api.example.com%2eevil.example (percent-encoded dot in the host)', () => assertRefused('https://api.example.com%2eevil.example/v1/x'));
  test('https://evil.example\\@api.example.com (backslash ends the host)', () => assertRefused('https://evil.example\\@api.example.com/v1/x'));
  test('data:text/plain,... (opaque origin)', () => assertRefused('data:text/plain,hello'));
  test('a Request to the suffix look-alike', () => assertRefused(new Request('https://api.example.com.evil.example/v1/x', { method: 'POST', body: 'x' })));

  test('https://api.example.com:443 (the default port written out) is the same origin: sent, with the token', async () => {
    const { source, tokenCalls, apiCalls } = offlineSource();
    const res = await source.authorizedFetch('https://api.example.com:443/v1/x');
    assert.equal(res.status, 200);
    assert.equal(tokenCalls.length, 1);
    assert.equal(apiCalls.length, 1);
    assert.equal(apiCalls[0].url, 'https://api.example.com/v1/x');
    assert.equal(apiCalls[0].headers.get('authorization'), `Bearer ${TOKEN}`);
  });
});

describe('inputs that lie about their URL: the Request actually sent is checked', () => {
  /** Run `body` (which builds `input` from env.allowed / env.evil) in a child; a TokenSource allows only api's origin. */
  function runLie(body) {
    return runInChild(`
      const tokenCalls = [];
      const flow = new gk.ClientCredentials({ tokenEndpoint: 'https://idp.example.com/token', clientId: 'c', clientSecret: env.secret,
        fetch: h.tokenFetchStub(tokenCalls, { access_token: env.token, token_type: 'Bearer', expires_in: 300 }) });
      const source = new gk.TokenSource(flow, { allowedOrigins: [env.allowedOrigin] });
      const allowed = env.allowed;
      const evil = env.evil;
      ${body}
      try {
        const res = await source.authorizedFetch(input);
        note({ tokenCalls: tokenCalls.length });
        return { status: res.status };
      } catch (e) {
        note({ tokenCalls: tokenCalls.length });
        throw e;
      }
    `, {
      env: {
        allowedOrigin: api.origin, allowed: api.url('/v1/ok'), evil: evil.url('/v1/steal'), token: TOKEN, secret: SECRET,
      },
    });
  }

  async function assertLieRefused(body) {
    api.script((_req, res) => { res.end('api'); });
    evil.script((_req, res) => { res.end('stolen'); });
    const result = assertChildSurvived(await runLie(body));
    assert.equal(evil.hits.length, 0, `the evil server got a request${evil.hits[0] ? ` with authorization ${evil.hits[0].headers.authorization}` : ''}`);
    assert.equal(api.hits.length, 0, 'the allowed server got a request');
    assert.equal(result.ok, false, `authorizedFetch resolved: ${JSON.stringify(result.value)}`);
    assert.equal(result.error.code, 'ORIGIN_NOT_ALLOWED', JSON.stringify(result.error));
    assert.deepEqual(result.notes, [{ tokenCalls: 0 }], 'a token was requested');
  }

  test('Object.defineProperty(new Request(evil), "url", {value: allowed})', () => assertLieRefused(`
    const input = new Request(evil);
    Object.defineProperty(input, 'url', { value: allowed });
  `));

  test('a Request subclass whose url getter says allowed', () => assertLieRefused(`
    class LyingRequest extends Request { get url() { return allowed; } }
    const input = new LyingRequest(evil);
  `));

  test('a URL subclass whose href getter says allowed', () => assertLieRefused(`
    class LyingURL extends URL { get href() { return allowed; } get origin() { return new URL(allowed).origin; } get host() { return new URL(allowed).host; } }
    const input = new LyingURL(evil);
  `));

  test('{ url: allowed, toString() { return evil } }', () => assertLieRefused(`
    const input = { url: allowed, href: allowed, toString() { return evil; } };
  `));

  test('Object.prototype.url = allowed with a URL object to evil', () => assertLieRefused(`
    Object.prototype.url = allowed;
    Object.prototype.href = allowed;
    const input = new URL(evil);
  `));

  test('control: a plain URL object to the allowed origin is sent with the token', async () => {
    api.script((req, res) => { res.end(req.headers.authorization ?? 'none'); });
    evil.script((_req, res) => { res.end('stolen'); });
    const result = assertChildSurvived(await runLie('const input = new URL(allowed);'));
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.value.status, 200);
    assert.equal(api.hits.length, 1);
    assert.equal(api.hits[0].headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(evil.hits.length, 0);
  });
});

describe('time limit', () => {
  test('an API that never answers -> TIMEOUT after the flow\'s timeoutMs (500)', async () => {
    api.script(() => { /* never answer */ });
    const tokenCalls = [];
    const flow = new gk.ClientCredentials({
      tokenEndpoint: 'https://idp.example.com/token', clientId: 'c', clientSecret: SECRET, timeoutMs: 500,
      fetch: tokenFetchStub(tokenCalls, { access_token: TOKEN, token_type: 'Bearer', expires_in: 300 }),
    });
    const source = new gk.TokenSource(flow, { allowedOrigins: [api.origin] });
    const { err, ms } = await timedRejection(source.authorizedFetch(api.url('/v1/slow')), 6000);
    assertHostileError(err, 'TIMEOUT');
    assertWithin(ms, 500 + 2000, 'the rejection');
    assert.equal(api.hits.length, 1);
    assertNoSecrets(err, [SECRET, TOKEN]);
  });

  test('a 401, then a retry (new token) that never answers -> TIMEOUT', async () => {
    let n = 0;
    api.script((_req, res) => {
      n += 1;
      if (n === 1) { res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }); res.end(); }
      // the retry never answers
    });
    const tokenCalls = [];
    const flow = new gk.ClientCredentials({
      tokenEndpoint: 'https://idp.example.com/token', clientId: 'c', clientSecret: SECRET, timeoutMs: 600,
      fetch: tokenFetchStub(tokenCalls, { access_token: TOKEN, token_type: 'Bearer', expires_in: 300 }),
    });
    const source = new gk.TokenSource(flow, { allowedOrigins: [api.origin] });
    const { err, ms } = await timedRejection(source.authorizedFetch(api.url('/v1/slow')), 6000);
    assertHostileError(err, 'TIMEOUT');
    assertWithin(ms, 2 * 600 + 2000, 'the rejection');
    assert.equal(api.hits.length, 2);
    assert.equal(tokenCalls.length, 2);
  });
});
