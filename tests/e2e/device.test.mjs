// DeviceAuthorization (RFC 8628) of the installed package against the local
// oidc-provider IdP: the user code is approved (or denied) through the
// provider's own HTML pages (tests/idp/device_approve.mjs), exactly as a
// person with a browser would. Exact requests at both endpoints, tokens and
// their refresh through a TokenSource, denial, expiry, abort, onPrompt
// failures, and the fall back to a new device flow when the refresh token is
// refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CLIENTS, DEVICE_CODE_GRANT, RESOURCE, USERS, startIdp,
} from '../idp/server.mjs';
import { approveDevice } from '../idp/device_approve.mjs';
import {
  assertGrantkitError, assertNoSecrets, basicHeader, form, introspect, json, loadGrantkit, recordingFetch, rejection, sleep, startScriptedServer, thrown, waitFor,
} from './helpers.mjs';

const SCOPE = 'openid offline_access api:read';
const FORM = 'application/x-www-form-urlencoded';

let gk;
let idp; // polls every second, codes live 600 s

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp({ deviceIntervalSeconds: 1 });
});
after(async () => { await idp?.close(); });

/** DeviceAuthorization options for `target`, the public client by default. */
function deviceOptions(target, extra = {}) {
  return {
    deviceAuthorizationEndpoint: target.deviceAuthorizationEndpoint,
    tokenEndpoint: target.tokenEndpoint,
    clientId: CLIENTS.devicePublic.client_id,
    scope: SCOPE,
    ...extra,
  };
}

/** The device authorization responses a recordingFetch log saw. */
function deviceResponses(log, target) {
  return log.filter((e) => e.url === target.deviceAuthorizationEndpoint).map((e) => e.json);
}

/** The exact poll body of the public client. */
function publicPollBody(deviceCode) {
  return form([['grant_type', DEVICE_CODE_GRANT], ['device_code', deviceCode], ['client_id', CLIENTS.devicePublic.client_id]]);
}

/** The prompt grantkit must hand over for a device authorization response. */
function promptFor(d) {
  return {
    user_code: d.user_code,
    verification_uri: d.verification_uri,
    verification_uri_complete: d.verification_uri_complete,
    expires_in: d.expires_in,
  };
}

function assertFormPost(req, path) {
  assert.equal(req.method, 'POST');
  assert.equal(req.path, path);
  assert.equal(req.headers['content-type'], FORM);
  assert.equal(req.headers.accept, 'application/json');
}

describe('DeviceAuthorization against the local IdP', () => {
  test('public client: exact requests, prompt, access + id + refresh token; a TokenSource refreshes with the rotated token', async () => {
    const log = [];
    const prompts = [];
    const da = new gk.DeviceAuthorization(deviceOptions(idp, {
      fetch: recordingFetch(log),
      // Approve through the provider's pages, then let polling start.
      onPrompt: async (p) => {
        prompts.push(p);
        const r = await approveDevice({
          verificationUri: p.verification_uri, userCode: p.user_code, username: 'alice', password: USERS.alice.password,
        });
        assert.equal(r.outcome, 'approved');
      },
    }));
    const src = new gk.TokenSource(da);
    idp.resetRequests();

    // Two concurrent callers share one device flow: one prompt, one code.
    const [ts, same] = await Promise.all([src.getToken(), src.getToken()]);
    assert.equal(same, ts);

    // The device authorization request (RFC 8628 §3.1): scope, then client_id.
    const dars = idp.deviceAuthorizationRequests();
    assert.equal(dars.length, 1);
    assertFormPost(dars[0], '/device/auth');
    assert.equal(dars[0].headers.authorization, undefined);
    assert.equal(dars[0].body, 'scope=openid+offline_access+api%3Aread&client_id=device-public');
    assert.equal(dars[0].body, form([['scope', SCOPE], ['client_id', 'device-public']]));

    // The prompt is exactly what the server said.
    const [d] = deviceResponses(log, idp);
    assert.equal(typeof d.device_code, 'string');
    assert.equal(d.interval, 1);
    assert.equal(d.expires_in, 600);
    assert.equal(prompts.length, 1);
    assert.deepEqual({ ...prompts[0] }, promptFor(d));
    assert.equal(prompts[0].verification_uri, idp.codeVerificationUri);

    // The polls (RFC 8628 §3.4): every one the same exact body.
    const polls = idp.tokenRequests();
    assert.ok(polls.length >= 1);
    for (const p of polls) {
      assertFormPost(p, '/token');
      assert.equal(p.headers.authorization, undefined);
      assert.equal(p.body, publicPollBody(d.device_code));
    }
    assert.equal(
      polls[0].body,
      `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=${d.device_code}&client_id=device-public`,
    );
    assert.equal(idp.requests.length, 1 + polls.length, 'nothing else was sent');

    // The tokens.
    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.expires_in, 3600);
    assert.equal(ts.scope, 'api:read');
    for (const name of ['access_token', 'id_token', 'refresh_token']) {
      assert.equal(typeof ts[name], 'string', name);
      assert.ok(ts[name].length > 0, name);
    }
    const final = log.at(-1).json;
    assert.equal(ts.access_token, final.access_token);
    assert.equal(ts.refresh_token, final.refresh_token);
    assert.equal(ts.id_token, final.id_token);
    assert.deepEqual({ ...ts.raw }, final);
    const id = gk.decodeJwt(ts.id_token).claims;
    assert.equal(id.sub, 'alice');
    assert.equal(id.aud, 'device-public');
    assert.equal(id.iss, idp.issuer);

    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, 'device-public');
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.scope, 'api:read');

    // Refresh: the public client sends client_id in the body, and the scope.
    idp.resetRequests();
    src.invalidate();
    const refreshed = await src.getToken();
    assert.equal(prompts.length, 1, 'no new prompt for a refresh');
    assert.equal(idp.deviceAuthorizationRequests().length, 0);
    const [rr] = idp.tokenRequests();
    assert.equal(idp.requests.length, 1);
    assertFormPost(rr, '/token');
    assert.equal(rr.headers.authorization, undefined);
    assert.equal(rr.body, form([
      ['grant_type', 'refresh_token'], ['refresh_token', ts.refresh_token], ['scope', SCOPE], ['client_id', 'device-public'],
    ]));
    assert.equal(rr.body, `grant_type=refresh_token&refresh_token=${ts.refresh_token}&scope=openid+offline_access+api%3Aread&client_id=device-public`);
    assert.notEqual(refreshed.access_token, ts.access_token);
    assert.equal(typeof refreshed.refresh_token, 'string');
    assert.notEqual(refreshed.refresh_token, ts.refresh_token, 'the IdP rotates refresh tokens');
    assert.equal(refreshed.refresh_token, log.at(-1).json.refresh_token);
    assert.equal((await introspect(idp, refreshed.access_token)).active, true);
    assert.equal((await introspect(idp, refreshed.refresh_token)).active, true);

    // The next refresh uses the NEW refresh token.
    idp.resetRequests();
    src.invalidate();
    const third = await src.getToken();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(idp.tokenRequests()[0].body, form([
      ['grant_type', 'refresh_token'], ['refresh_token', refreshed.refresh_token], ['scope', SCOPE], ['client_id', 'device-public'],
    ]));
    assert.notEqual(third.access_token, refreshed.access_token);
  });

  test('confidential client: Basic authentication on both requests, client_id in the device authorization body only; pending polls until approved', async () => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.deviceConfidential;
    const log = [];
    const prompts = [];
    const da = new gk.DeviceAuthorization(deviceOptions(idp, {
      clientId, clientSecret, fetch: recordingFetch(log), onPrompt: (p) => { prompts.push(p); },
    }));
    idp.resetRequests();
    const pending = da.getToken();
    // Approve only once a poll has been answered authorization_pending.
    await waitFor(() => log.some((e) => e.url === idp.tokenEndpoint && e.status !== undefined), { what: 'the first poll' });
    const approved = await approveDevice({ verificationUri: prompts[0].verification_uri_complete, username: 'bob', password: USERS.bob.password });
    assert.equal(approved.outcome, 'approved');
    const ts = await pending;

    const basic = basicHeader(clientId, clientSecret);
    const [dar] = idp.deviceAuthorizationRequests();
    assert.equal(idp.deviceAuthorizationRequests().length, 1);
    assertFormPost(dar, '/device/auth');
    assert.equal(dar.headers.authorization, basic);
    // client_id in the body beside Basic (RFC 8628 §3.1 allows it;
    // django-oauth-toolkit requires it): oidc-provider accepts it.
    assert.equal(dar.body, 'client_id=device-confidential&scope=openid+offline_access+api%3Aread');

    const [d] = deviceResponses(log, idp);
    assert.equal(prompts.length, 1);
    assert.deepEqual({ ...prompts[0] }, promptFor(d));
    const polls = idp.tokenRequests();
    assert.ok(polls.length >= 2, `polls: ${polls.length}`);
    for (const p of polls) {
      assertFormPost(p, '/token');
      assert.equal(p.headers.authorization, basic);
      assert.equal(p.body, form([['grant_type', DEVICE_CODE_GRANT], ['device_code', d.device_code]]));
    }
    const answers = log.filter((e) => e.url === idp.tokenEndpoint);
    assert.equal(answers.length, polls.length);
    for (const a of answers.slice(0, -1)) {
      assert.equal(a.status, 400);
      assert.equal(a.json.error, 'authorization_pending');
    }
    assert.equal(answers.at(-1).status, 200);

    assert.equal(ts.token_type, 'Bearer');
    assert.equal(ts.access_token, answers.at(-1).json.access_token);
    assert.equal(typeof ts.refresh_token, 'string');
    assert.equal(typeof ts.id_token, 'string');
    const info = await introspect(idp, ts.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'bob');
    assert.equal(info.client_id, clientId);
  });

  test('denied on the provider\'s confirm page -> DEVICE_ACCESS_DENIED (400 access_denied)', async () => {
    const log = [];
    const da = new gk.DeviceAuthorization(deviceOptions(idp, {
      fetch: recordingFetch(log),
      onPrompt: async (p) => {
        const r = await approveDevice({
          verificationUri: p.verification_uri, userCode: p.user_code, username: 'alice', password: USERS.alice.password, deny: true,
        });
        assert.equal(r.outcome, 'denied');
      },
    }));
    idp.resetRequests();
    const err = await rejection(da.getToken());
    assertGrantkitError(err, 'DEVICE_ACCESS_DENIED', { status: 400, error: 'access_denied' });
    const [d] = deviceResponses(log, idp);
    const polls = idp.tokenRequests();
    assert.ok(polls.length >= 1);
    for (const p of polls) assert.equal(p.body, publicPollBody(d.device_code));
    assert.equal(log.at(-1).json.error, 'access_denied');
    assertNoSecrets(err, [d.device_code]);
  });

  test('a code that is never approved: DEVICE_CODE_EXPIRED (own deadline) or DEVICE_EXPIRED_TOKEN (server); no poll after the end', { timeout: 20_000 }, async () => {
    const short = await startIdp({ deviceIntervalSeconds: 1, deviceCodeTtlSeconds: 2 });
    try {
      const log = [];
      const prompts = [];
      const da = new gk.DeviceAuthorization(deviceOptions(short, { fetch: recordingFetch(log), onPrompt: (p) => { prompts.push(p); } }));
      const err = await rejection(da.getToken());
      assert.ok(['DEVICE_CODE_EXPIRED', 'DEVICE_EXPIRED_TOKEN'].includes(err.code), `code ${err.code}: ${err.message}`);
      if (err.code === 'DEVICE_EXPIRED_TOKEN') {
        assertGrantkitError(err, 'DEVICE_EXPIRED_TOKEN', { status: 400, error: 'expired_token' });
      } else {
        assertGrantkitError(err, 'DEVICE_CODE_EXPIRED');
        assert.equal(err.status, undefined);
      }
      assert.equal(prompts.length, 1);
      assert.equal(prompts[0].expires_in, 2);
      const [d] = deviceResponses(log, short);
      assertNoSecrets(err, [d.device_code]);
      const polls = short.tokenRequests();
      for (const p of polls) assert.equal(p.body, publicPollBody(d.device_code));
      // Every poll but (for DEVICE_EXPIRED_TOKEN) the last was answered pending.
      const answers = log.filter((e) => e.url === short.tokenEndpoint);
      const pendingOnes = err.code === 'DEVICE_EXPIRED_TOKEN' ? answers.slice(0, -1) : answers;
      for (const a of pendingOnes) assert.equal(a.json.error, 'authorization_pending');

      // The server's own answer, injected: expired_token ends polling too.
      const log2 = [];
      const da2 = new gk.DeviceAuthorization(deviceOptions(short, { fetch: recordingFetch(log2), onPrompt: () => {} }));
      short.failTokenRequests(1, { status: 400, body: { error: 'expired_token', error_description: 'device code expired' } });
      const before2 = short.tokenRequests().length;
      const err2 = await rejection(da2.getToken());
      assertGrantkitError(err2, 'DEVICE_EXPIRED_TOKEN', { status: 400, error: 'expired_token' });
      const [d2] = deviceResponses(log2, short);
      assert.equal(short.tokenRequests().length, before2 + 1, 'exactly one poll');
      assert.equal(short.tokenRequests().at(-1).body, publicPollBody(d2.device_code));
      assertNoSecrets(err2, [d2.device_code]);

      // Nothing more is sent for either code once getToken has rejected
      // (more than one interval later).
      const sent = short.requests.length;
      await sleep(1500);
      assert.equal(short.requests.length, sent, 'no poll after the end');
    } finally {
      await short.close();
    }
  });

  test('abort: the signal ends the wait for the first poll at once; no token request is sent', { timeout: 10_000 }, async () => {
    // Polls every 30 s: a test that did not stop at the abort would time out.
    const slow = await startIdp({ deviceIntervalSeconds: 30 });
    try {
      // Aborted while waiting for the first poll.
      const controller = new AbortController();
      let prompted = 0;
      const da = new gk.DeviceAuthorization(deviceOptions(slow, {
        onPrompt: () => { prompted += 1; setTimeout(() => controller.abort(), 50); },
      }));
      const err = await rejection(da.getToken({ signal: controller.signal }));
      assertGrantkitError(err, 'ABORTED');
      assert.equal(prompted, 1);
      assert.equal(slow.deviceAuthorizationRequests().length, 1);
      assert.equal(slow.tokenRequests().length, 0);

      // Aborted while the returned onPrompt promise is pending.
      const c2 = new AbortController();
      const da2 = new gk.DeviceAuthorization(deviceOptions(slow, {
        onPrompt: () => new Promise(() => { setTimeout(() => c2.abort(), 50); }),
      }));
      assertGrantkitError(await rejection(da2.getToken({ signal: c2.signal })), 'ABORTED');
      assert.equal(slow.deviceAuthorizationRequests().length, 2);

      // Already aborted: nothing at all is sent.
      let called = false;
      const da3 = new gk.DeviceAuthorization(deviceOptions(slow, { onPrompt: () => { called = true; } }));
      assertGrantkitError(await rejection(da3.getToken({ signal: AbortSignal.abort() })), 'ABORTED');
      assert.equal(called, false);
      assert.equal(slow.deviceAuthorizationRequests().length, 2);

      // Through a TokenSource: when every waiting caller has aborted, polling stops.
      const a = new AbortController();
      const b = new AbortController();
      let prompts = 0;
      const src = new gk.TokenSource(new gk.DeviceAuthorization(deviceOptions(slow, {
        onPrompt: () => { prompts += 1; setTimeout(() => { a.abort(); b.abort(); }, 50); },
      })));
      const [ea, eb] = await Promise.all([rejection(src.getToken({ signal: a.signal })), rejection(src.getToken({ signal: b.signal }))]);
      assertGrantkitError(ea, 'ABORTED');
      assertGrantkitError(eb, 'ABORTED');
      assert.equal(prompts, 1);
      assert.equal(slow.deviceAuthorizationRequests().length, 3);
      assert.equal(slow.tokenRequests().length, 0);
    } finally {
      await slow.close();
    }
  });

  test('onPrompt throwing or rejecting -> PROMPT_FAILED; no poll is sent', async () => {
    for (const onPrompt of [
      (p) => { throw new Error(`cannot show ${p.user_code}`); },
      async () => { throw new TypeError('display unplugged'); },
      () => Promise.reject(new Error('rejected')),
    ]) {
      const log = [];
      idp.resetRequests();
      const da = new gk.DeviceAuthorization(deviceOptions(idp, { fetch: recordingFetch(log), onPrompt }));
      const err = await rejection(da.getToken());
      assertGrantkitError(err, 'PROMPT_FAILED');
      assert.equal(idp.deviceAuthorizationRequests().length, 1);
      assert.equal(idp.tokenRequests().length, 0);
      const [d] = deviceResponses(log, idp);
      assertNoSecrets(err, [d.device_code]);
    }
    // The confidential client's secret is not in the error either.
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.deviceConfidential;
    const log = [];
    const err = await rejection(new gk.DeviceAuthorization(deviceOptions(idp, {
      clientId, clientSecret, fetch: recordingFetch(log), onPrompt: () => { throw new Error('no screen'); },
    })).getToken());
    assertGrantkitError(err, 'PROMPT_FAILED');
    assertNoSecrets(err, [clientSecret, deviceResponses(log, idp)[0].device_code]);
  });

  test('onPrompt is required and must be a function -> INVALID_CONFIG field onPrompt, nothing sent', () => {
    idp.resetRequests();
    const opts = deviceOptions(idp);
    assertGrantkitError(thrown(() => new gk.DeviceAuthorization(opts)), 'INVALID_CONFIG', { field: 'onPrompt' });
    assertGrantkitError(thrown(() => new gk.DeviceAuthorization({ ...opts, onPrompt: undefined })), 'INVALID_CONFIG', { field: 'onPrompt' });
    assertGrantkitError(thrown(() => new gk.DeviceAuthorization({ ...opts, onPrompt: 'console.log' })), 'INVALID_CONFIG', { field: 'onPrompt' });
    // Loopback http endpoints are allowed (this IdP is one).
    assert.ok(new gk.DeviceAuthorization({ ...opts, onPrompt: () => {} }));
    assert.equal(idp.requests.length, 0);
  });

  test('a device authorization response without a required member -> DEVICE_INVALID_RESPONSE; no prompt, no poll', async () => {
    const server = await startScriptedServer();
    try {
      const full = {
        device_code: 'dc-secret-0123456789abcdef', user_code: 'BCDF-GHJK', verification_uri: `${server.origin}/device`, expires_in: 600, interval: 1,
      };
      for (const missing of ['device_code', 'user_code', 'verification_uri', 'expires_in']) {
        const body = { ...full };
        delete body[missing];
        server.script((_req, res) => json(res, 200, body));
        let prompted = 0;
        const da = new gk.DeviceAuthorization({
          deviceAuthorizationEndpoint: server.url('/device/auth'), tokenEndpoint: server.url('/token'), clientId: 'device-public', scope: SCOPE,
          onPrompt: () => { prompted += 1; },
        });
        const err = await rejection(da.getToken());
        assertGrantkitError(err, 'DEVICE_INVALID_RESPONSE');
        assert.match(err.message, new RegExp(missing));
        assert.equal(prompted, 0, missing);
        assert.deepEqual(server.hits.map((h) => [h.method, h.url, h.body]), [
          ['POST', '/device/auth', form([['scope', SCOPE], ['client_id', 'device-public']])],
        ]);
        assertNoSecrets(err, [full.device_code]);
      }
    } finally {
      await server.close();
    }
  });

  test('refresh token refused (invalid_grant) -> a TokenSource runs a NEW device flow: refresh, then device authorization and polls', async () => {
    const log = [];
    const prompts = [];
    const src = new gk.TokenSource(new gk.DeviceAuthorization(deviceOptions(idp, {
      fetch: recordingFetch(log),
      onPrompt: async (p) => {
        prompts.push(p);
        await approveDevice({ verificationUri: p.verification_uri_complete, username: 'alice', password: USERS.alice.password });
      },
    })));
    const first = await src.getToken();
    assert.equal(prompts.length, 1);
    assert.equal(typeof first.refresh_token, 'string');

    // Someone else uses the refresh token grantkit holds: it is rotated away
    // (and reusing it later makes oidc-provider revoke the grant).
    const raw = await fetch(idp.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: form([['grant_type', 'refresh_token'], ['refresh_token', first.refresh_token], ['client_id', 'device-public']]),
    });
    assert.equal(raw.status, 200);

    idp.resetRequests();
    log.length = 0;
    src.invalidate();
    const second = await src.getToken();
    assert.equal(prompts.length, 2, 'a second prompt');
    assert.notEqual(prompts[1].user_code, prompts[0].user_code);

    // The sequence: the refresh (refused), the device authorization request, the polls.
    const [refresh, dar, ...polls] = idp.requests;
    assertFormPost(refresh, '/token');
    assert.equal(refresh.body, form([
      ['grant_type', 'refresh_token'], ['refresh_token', first.refresh_token], ['scope', SCOPE], ['client_id', 'device-public'],
    ]));
    assert.equal(log[0].status, 400);
    assert.equal(log[0].json.error, 'invalid_grant');
    assertFormPost(dar, '/device/auth');
    assert.equal(dar.body, form([['scope', SCOPE], ['client_id', 'device-public']]));
    const d = log[1].json;
    assert.equal(log[1].url, idp.deviceAuthorizationEndpoint);
    assert.deepEqual({ ...prompts[1] }, promptFor(d));
    assert.ok(polls.length >= 1);
    for (const p of polls) {
      assertFormPost(p, '/token');
      assert.equal(p.body, publicPollBody(d.device_code));
    }

    assert.notEqual(second.access_token, first.access_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal(second.access_token, log.at(-1).json.access_token);
    assert.equal((await introspect(idp, second.access_token)).active, true);
    // And the new refresh token is the one the next refresh uses.
    idp.resetRequests();
    src.invalidate();
    await src.getToken();
    assert.equal(idp.requests.length, 1);
    assert.equal(idp.tokenRequests()[0].body, form([
      ['grant_type', 'refresh_token'], ['refresh_token', second.refresh_token], ['scope', SCOPE], ['client_id', 'device-public'],
    ]));
    assert.equal(prompts.length, 2);
  });
});
