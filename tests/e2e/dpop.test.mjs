// DPoP (RFC 9449) of the installed package against the local oidc-provider
// (features.dPoP, with and without nonces) and a resource server that checks
// every proof itself (tests/idp/resource_server.mjs): the proofs' exact
// header and claims, verified with jose; tokens bound to the key (cnf.jkt in
// introspection); the nonce dance at the token endpoint (a new proof and a
// new client assertion) and at the API (one retry each); refresh with the
// same key; the store keeping the key's thumbprint; the trace; a server
// that ignores DPoP; a runtime without WebCrypto; the CLI.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as jose from 'jose';

import { CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import { startResourceServer } from '../idp/resource_server.mjs';
import { approveDevice } from '../idp/device_approve.mjs';
import {
  assertGrantkitError, assertJti, assertNoSecrets, decodeJws, fixture, form, introspect, loadGrantkit, pkgDir, rejection, runCli, runNode, show, thrown,
} from './helpers.mjs';

/** The installed package's entry module, as Node resolves it. */
function entry() {
  return createRequire(path.join(pkgDir(), 'package.json')).resolve('grantkit');
}

let gk;
let idp; // DPoP without nonces
let nonceIdp; // DPoP with nonces demanded
let rs; // an API that demands its own nonce

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp({ deviceIntervalSeconds: 1 });
  nonceIdp = await startIdp({ dpopNonce: true });
  rs = await startResourceServer({ idp: nonceIdp, dpopNonce: true });
});
after(async () => {
  await rs?.close();
  await nonceIdp?.close();
  await idp?.close();
});

const { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } = CLIENTS.ccPost;

function cc(target, extra = {}) {
  return new gk.ClientCredentials({
    tokenEndpoint: target.tokenEndpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuth: 'post', scope: 'api:read', dpop: true, ...extra,
  });
}

const CC_BODY = form([['grant_type', 'client_credentials'], ['scope', 'api:read'], ['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET]]);

/**
 * The proof of a recorded request, verified with jose on the key in its own
 * header (as a server does): its header, claims and the key's thumbprint.
 */
async function proofOf(request) {
  const proof = request.headers.dpop;
  assert.equal(typeof proof, 'string', 'one DPoP header');
  const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
  const { headerJson } = decodeJws(proof);
  return { header: protectedHeader, headerJson, claims: payload, jkt: await jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256') };
}

describe('DPoP at the token endpoint', () => {
  test('a proof of the exact request (typ, alg, the public key only; jti, htm, htu, iat), the same body, a DPoP-bound token', async () => {
    const flow = cc(idp);
    idp.resetRequests();
    const t0 = Math.floor(Date.now() / 1000);
    const ts = await flow.getToken();
    const [request] = idp.tokenRequests();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(request.body, CC_BODY, 'the body is a Bearer request\'s');
    const { header, headerJson, claims, jkt } = await proofOf(request);
    assert.deepEqual(Object.keys(header), ['typ', 'alg', 'jwk']);
    assert.deepEqual(Object.keys(header.jwk), ['kty', 'crv', 'x', 'y'], 'the public key, nothing private');
    assert.match(headerJson, /^\{"typ":"dpop\+jwt","alg":"ES256","jwk":\{"kty":"EC","crv":"P-256","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}\}$/);
    assert.deepEqual(Object.keys(claims), ['jti', 'htm', 'htu', 'iat']);
    assertJti(claims.jti);
    assert.equal(claims.htm, 'POST');
    assert.equal(claims.htu, idp.tokenEndpoint);
    assert.ok(claims.iat >= t0 && claims.iat <= t0 + 5, `iat ${claims.iat}`);

    assert.equal(ts.token_type, 'DPoP');
    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.token_type, 'DPoP');
    assert.deepEqual(info.cnf, { jkt }, 'bound to the proof\'s key');

    // The same flow object keeps its key: another token, bound to it too.
    idp.resetRequests();
    const again = await flow.getToken();
    const second = await proofOf(idp.tokenRequests()[0]);
    assert.equal(second.jkt, jkt);
    assert.notEqual(second.claims.jti, claims.jti);
    assert.deepEqual((await introspect(idp, again.access_token)).cnf, { jkt });
    // Another flow object has a key of its own.
    idp.resetRequests();
    await cc(idp).getToken();
    assert.notEqual((await proofOf(idp.tokenRequests()[0])).jkt, jkt);
  });

  test('a demanded nonce: once more with it, a new proof; the nonce the server sent with the token is used next time', async () => {
    const flow = cc(nonceIdp);
    nonceIdp.resetRequests();
    const ts = await flow.getToken();
    const [first, second, ...more] = nonceIdp.tokenRequests();
    assert.equal(more.length, 0, 'one retry');
    const p1 = await proofOf(first);
    const p2 = await proofOf(second);
    assert.equal(p1.claims.nonce, undefined);
    assert.equal(typeof p2.claims.nonce, 'string');
    assert.notEqual(p1.claims.jti, p2.claims.jti);
    assert.equal(p1.jkt, p2.jkt);
    assert.equal(second.body, CC_BODY);
    assert.equal(ts.token_type, 'DPoP');
    assert.deepEqual((await introspect(nonceIdp, ts.access_token)).cnf, { jkt: p1.jkt });

    // RFC 9449 §8.2: the server's nonce goes into the next proof at once.
    nonceIdp.resetRequests();
    await flow.getToken();
    const requests = nonceIdp.tokenRequests();
    assert.equal(requests.length, 1, 'no second demand');
    assert.equal(typeof (await proofOf(requests[0])).claims.nonce, 'string');
  });

  test('private_key_jwt: the retry signs the client assertion again, with a jti of its own', async () => {
    const { client_id: clientId } = CLIENTS.pkjwtClient;
    const flow = new gk.ClientCredentials({
      tokenEndpoint: nonceIdp.tokenEndpoint, clientId, clientAuth: 'private_key_jwt', privateKey: fixture('rsa2048.pkcs8.pem'), scope: 'api:read', dpop: true,
    });
    nonceIdp.resetRequests();
    const ts = await flow.getToken();
    const requests = nonceIdp.tokenRequests();
    assert.equal(requests.length, 2);
    const jti = (r) => decodeJws(new URLSearchParams(r.body).get('client_assertion')).claims.jti;
    assert.notEqual(jti(requests[0]), jti(requests[1]));
    assert.equal(ts.token_type, 'DPoP');
  });

  test('a server that ignores DPoP issues a Bearer token: refused with UNSUPPORTED_TOKEN_TYPE, not used unbound', async () => {
    const plain = await startIdp({ dpop: false });
    try {
      const err = await rejection(cc(plain).getToken());
      assertGrantkitError(err, 'UNSUPPORTED_TOKEN_TYPE');
      assert.equal(err.message, 'the server issued a token of type "Bearer" where DPoP was asked for: it did not bind the token to the DPoP key (RFC 9449 §5); enable DPoP for the client at the server, or turn dpop off to accept Bearer tokens');
      assertNoSecrets(err, [CLIENT_SECRET]);
      // Without dpop, the same server's tokens are fine.
      assert.equal((await cc(plain, { dpop: false }).getToken()).token_type, 'Bearer');
    } finally {
      await plain.close();
    }
  });

  test('the device flow proves its polls and not its device authorization request; a TokenSource refreshes with the same key', async () => {
    const da = new gk.DeviceAuthorization({
      deviceAuthorizationEndpoint: idp.deviceAuthorizationEndpoint,
      tokenEndpoint: idp.tokenEndpoint,
      clientId: CLIENTS.devicePublic.client_id,
      scope: 'openid offline_access api:read',
      dpop: true,
      onPrompt: async (p) => {
        const r = await approveDevice({
          verificationUri: p.verification_uri, userCode: p.user_code, username: 'alice', password: USERS.alice.password,
        });
        assert.equal(r.outcome, 'approved');
      },
    });
    const src = new gk.TokenSource(da);
    idp.resetRequests();
    const ts = await src.getToken();
    assert.equal(idp.deviceAuthorizationRequests()[0].headers.dpop, undefined);
    const polls = idp.tokenRequests();
    const { jkt } = await proofOf(polls.at(-1));
    assert.equal(ts.token_type, 'DPoP');
    assert.equal(typeof ts.refresh_token, 'string');

    src.invalidate();
    idp.resetRequests();
    const refreshed = await src.getToken();
    const [refresh] = idp.tokenRequests();
    assert.equal(refresh.body, form([['grant_type', 'refresh_token'], ['refresh_token', ts.refresh_token], ['scope', 'openid offline_access api:read'], ['client_id', CLIENTS.devicePublic.client_id]]));
    assert.equal((await proofOf(refresh)).jkt, jkt, 'RFC 9449 §5: the public client\'s refresh token is bound to the key');
    assert.equal(refreshed.token_type, 'DPoP');
    assert.notEqual(refreshed.access_token, ts.access_token);
    assert.deepEqual((await introspect(idp, refreshed.access_token)).cnf, { jkt });
  });
});

describe('DPoP at the API (authorizedFetch)', () => {
  test('Authorization: DPoP with a proof of the call (ath); the API\'s nonce demand answered once; then used at once', async () => {
    const src = new gk.TokenSource(cc(nonceIdp), { allowedOrigins: [rs.origin] });
    rs.calls.length = 0;
    const res = await src.authorizedFetch(`${rs.url}/things?x=1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.method, 'PUT');
    assert.equal(answer.path, '/api/things?x=1');
    const ts = await src.getToken();
    assert.equal(rs.calls.length, 2);
    const [demanded, accepted] = rs.calls;
    assert.equal(demanded.status, 401);
    assert.equal(accepted.status, 200);
    for (const call of rs.calls) {
      assert.equal(call.headers.authorization, `DPoP ${ts.access_token}`);
      assert.equal(call.body, '{"n":1}', 'the body, both times');
      assert.equal(call.dpop.claims.htm, 'PUT');
      assert.equal(call.dpop.claims.htu, `${rs.origin}/api/things`);
      assert.equal(call.dpop.claims.ath, Buffer.from(await crypto.subtle.digest('SHA-256', Buffer.from(ts.access_token))).toString('base64url'));
    }
    assert.equal(demanded.dpop.claims.nonce, undefined);
    assert.equal(accepted.dpop.claims.nonce, rs.dpopNonce);
    assert.deepEqual(Object.keys(accepted.dpop.claims), ['jti', 'htm', 'htu', 'iat', 'ath', 'nonce']);

    rs.calls.length = 0;
    assert.equal((await src.authorizedFetch(`${rs.url}/again`)).status, 200);
    assert.equal(rs.calls.length, 1, 'the nonce the API gave is used at once');
    assert.equal(rs.calls[0].dpop.claims.nonce, rs.dpopNonce);
    assert.equal(rs.calls[0].dpop.claims.htm, 'GET');
  });

  test('a 401 that is not a nonce demand gets a new token, with a proof; a second 401 is the caller\'s', async () => {
    const src = new gk.TokenSource(cc(nonceIdp), { allowedOrigins: [rs.origin] });
    await src.authorizedFetch(`${rs.url}/warm`); // the API's nonce is known now
    const before = await src.getToken();
    rs.calls.length = 0;
    rs.failNext401(1);
    const res = await src.authorizedFetch(`${rs.url}/x`);
    assert.equal(res.status, 200);
    const after = await src.getToken();
    assert.notEqual(after.access_token, before.access_token);
    assert.equal(rs.calls.length, 2);
    assert.equal(rs.calls[1].headers.authorization, `DPoP ${after.access_token}`);

    rs.calls.length = 0;
    rs.failNext401(2);
    assert.equal((await src.authorizedFetch(`${rs.url}/y`)).status, 401);
    assert.equal(rs.calls.length, 2);
  });

  test('the trace shows each proof decoded, its signature and the token masked', async () => {
    const exchanges = [];
    const flow = cc(idp, { onExchange: (e) => exchanges.push(e) });
    const ts = await flow.getToken();
    const [exchange] = exchanges;
    const proof = exchange.requestHeaders.find(([name]) => name === 'DPoP')?.[1];
    // Decoded as assertions are (members sorted).
    assert.match(proof, /^JWT \{"alg":"ES256","jwk":\{"crv":"P-256","kty":"EC","x":"[^"]+","y":"[^"]+"\},"typ":"dpop\+jwt"\} \{"htm":"POST","htu":"[^"]+\/token","iat":\d+,"jti":"[A-Za-z0-9_-]{22}"\} signature ••••$/);
    assert.ok(!exchange.curl.includes('eyJ'), 'no proof in the curl command');
    assert.match(exchange.curl, /-H "DPoP: \$DPOP"|DPoP: '"\$DPOP"'|\$DPOP/);

    const apiExchanges = [];
    const api = await startResourceServer({ idp });
    try {
      const src = new gk.TokenSource(cc(idp), { allowedOrigins: [api.origin], onExchange: (e) => apiExchanges.push(e) });
      assert.equal((await src.authorizedFetch(`${api.url}/t`)).status, 200);
      const token = (await src.getToken()).access_token;
      const [call] = apiExchanges;
      const headers = Object.fromEntries(call.requestHeaders);
      assert.equal(headers.Authorization, `DPoP ${token.slice(0, 10)}…`);
      assert.match(headers.DPoP, /\{"ath":"[A-Za-z0-9_-]{43}","htm":"GET","htu":"[^"]+\/api\/t","iat":\d+,"jti":"[A-Za-z0-9_-]{22}"\} signature ••••$/);
      assert.ok(!JSON.stringify(call).includes(token));
    } finally {
      await api.close();
    }
    assert.ok(!JSON.stringify(exchanges).includes(ts.access_token));
  });
});

describe('DPoP with a shared store', () => {
  test('the stored tokens carry the key\'s thumbprint; a source with another key does not take them', async () => {
    const map = new Map();
    const store = { get: async (k) => map.get(k), set: async (k, v) => { map.set(k, v); } };
    const a = new gk.TokenSource(cc(idp), { store });
    idp.resetRequests();
    const ta = await a.getToken();
    const jkt = (await proofOf(idp.tokenRequests()[0])).jkt;
    const stored = JSON.parse(map.get(a.storeKey));
    assert.equal(stored.jkt, jkt);
    assert.equal(stored.token_type, 'DPoP');

    // Same configuration, another flow object: another key pair.
    const b = new gk.TokenSource(cc(idp), { store });
    assert.equal(b.storeKey, a.storeKey);
    idp.resetRequests();
    const tb = await b.getToken();
    assert.equal(idp.tokenRequests().length, 1, 'its own token, not a');
    assert.notEqual(tb.access_token, ta.access_token);
    assert.notEqual(JSON.parse(map.get(b.storeKey)).jkt, jkt);

    // A Bearer source of the same configuration never takes a DPoP entry.
    const bearer = new gk.TokenSource(cc(idp, { dpop: false }), { store });
    idp.resetRequests();
    assert.equal((await bearer.getToken()).token_type, 'Bearer');
    assert.equal(idp.tokenRequests().length, 1);
  });
});

describe('DPoP options and runtimes', () => {
  test('dpop must be a boolean; AcpLogin has no dpop option', () => {
    const err = thrown(() => cc(idp, { dpop: 'yes' }));
    assertGrantkitError(err, 'INVALID_CONFIG', { field: 'dpop' });
    // Its tokens come from the console's callback: the platform, not
    // grantkit, makes the token request.
    const acp = thrown(() => new gk.AcpLogin({ platformUrl: 'https://acp.example.com', username: 'u', password: 'p', dpop: true }));
    assertGrantkitError(acp, 'INVALID_CONFIG', { field: 'options' });
    assert.match(acp.message, /AcpLogin: dpop: unknown option/);
  });

  test('a runtime without WebCrypto: DPOP_UNAVAILABLE, and nothing is sent; flows without dpop still work', async () => {
    // In a process of its own whose crypto has getRandomValues only (the
    // IdP in this one needs WebCrypto).
    const script = `
      const c = globalThis.crypto;
      Object.defineProperty(globalThis, 'crypto', { value: { getRandomValues: c.getRandomValues.bind(c) }, configurable: true });
      const gk = await import(${JSON.stringify(pathToFileURL(entry()).href)});
      const options = ${JSON.stringify({ tokenEndpoint: idp.tokenEndpoint, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuth: 'post', scope: 'api:read' })};
      const out = {};
      try { await new gk.ClientCredentials({ ...options, dpop: true }).getToken(); } catch (e) { out.code = e.code; out.message = e.message; }
      out.bearer = (await new gk.ClientCredentials(options).getToken()).token_type;
      console.log(JSON.stringify(out));`;
    idp.resetRequests();
    const r = await runNode(['--input-type=module', '-e', script]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(JSON.parse(r.stdout), {
      code: 'DPOP_UNAVAILABLE',
      message: 'DPoP is unavailable: this runtime has no WebCrypto (crypto.subtle) to keep a non-extractable key in',
      bearer: 'Bearer',
    });
    assert.equal(idp.tokenRequests().length, 1, 'only the Bearer flow sent a request');
  });

  test('grantkit client-credentials --dpop prints a DPoP-bound token', async () => {
    const r = await runCli([
      'client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', CLIENT_ID, '--client-secret-env', 'CS', '--client-auth', 'post', '--scope', 'api:read', '--dpop', '--json',
    ], { env: { CS: CLIENT_SECRET } });
    assert.equal(r.code, 0, show(r));
    const ts = JSON.parse(r.stdout);
    assert.equal(ts.token_type, 'DPoP');
    assert.equal(typeof (await introspect(idp, ts.access_token)).cnf?.jkt, 'string');
  });
});
