// TokenExchange (RFC 8693) of the installed package against the local IdP,
// whose token-exchange grant (tests/idp/server.mjs tokenExchangeGrant) accepts
// only live access tokens it issued itself: a user's token traded for one with
// another audience, the exact request, delegation with an actor token, a
// revoked subject token refused, a TokenSource over the exchange, the CLI.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ACCESS_TOKEN_TYPE, CLIENTS, EXCHANGE_AUDIENCE, RESOURCE, TOKEN_EXCHANGE_GRANT, USERS, startIdp } from '../idp/server.mjs';
import {
  assertGrantkitError, assertNoSecrets, basicHeader, decodeJws, form, introspect, loadGrantkit, rejection, runCli, show,
} from './helpers.mjs';

let gk;
let idp;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
});
after(async () => { await idp?.close(); });

/** A fresh access token of alice's (pw-client, scope api:read api:write). */
async function aliceToken() {
  const { client_id: clientId, client_secret: clientSecret } = CLIENTS.pwClient;
  const grant = new gk.PasswordGrant({
    tokenEndpoint: idp.tokenEndpoint, clientId, clientSecret, username: 'alice', password: USERS.alice.password, scope: 'api:read api:write',
  });
  return (await grant.getToken()).access_token;
}

function exchange(subjectToken, extra = {}) {
  return new gk.TokenExchange({
    tokenEndpoint: idp.tokenEndpoint, clientId: CLIENTS.exchanger.client_id, clientSecret: CLIENTS.exchanger.client_secret, subjectToken, ...extra,
  });
}

describe('TokenExchange against the local IdP', () => {
  test('a user\'s access token traded for one with another audience: the exact request, the new token\'s claims', async () => {
    const subject = await aliceToken();
    idp.resetRequests();
    const tokens = await exchange(subject, { audience: EXCHANGE_AUDIENCE, scope: 'api:read' }).getToken();

    const [req] = idp.tokenRequests();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers.authorization, basicHeader(CLIENTS.exchanger.client_id, CLIENTS.exchanger.client_secret));
    assert.equal(req.body, form([
      ['grant_type', TOKEN_EXCHANGE_GRANT], ['subject_token', subject], ['subject_token_type', ACCESS_TOKEN_TYPE],
      ['audience', EXCHANGE_AUDIENCE], ['scope', 'api:read'],
    ]));

    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.raw.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(tokens.scope, 'api:read');
    const before = decodeJws(subject).claims;
    const after = decodeJws(tokens.access_token).claims;
    assert.equal(before.aud, RESOURCE);
    assert.equal(after.aud, EXCHANGE_AUDIENCE);
    assert.equal(after.sub, before.sub, 'the same user');
    assert.equal(after.client_id, CLIENTS.exchanger.client_id);
    assert.equal(after.scope, 'api:read');
    const info = await introspect(idp, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, before.sub);
  });

  test('delegation: an actor token goes with its type; the new token names the actor in act', async () => {
    const subject = await aliceToken();
    const actor = (await new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId: CLIENTS.ccBasic.client_id, clientSecret: CLIENTS.ccBasic.client_secret, scope: 'api:read',
    }).getToken()).access_token;
    idp.resetRequests();
    const tokens = await exchange(subject, { actorToken: actor, actorTokenType: 'access_token', requestedTokenType: 'access_token' }).getToken();
    assert.equal(idp.tokenRequests()[0].body, form([
      ['grant_type', TOKEN_EXCHANGE_GRANT], ['subject_token', subject], ['subject_token_type', ACCESS_TOKEN_TYPE],
      ['actor_token', actor], ['actor_token_type', ACCESS_TOKEN_TYPE], ['requested_token_type', ACCESS_TOKEN_TYPE],
    ]));
    assert.deepEqual(decodeJws(tokens.access_token).claims.act, { sub: decodeJws(actor).claims.sub });
  });

  test('refusals from the server: a revoked subject token (invalid_grant), an audience it does not serve (invalid_target); no token text in errors', async () => {
    const subject = await aliceToken();
    const revoked = await fetch(idp.revocationEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicHeader(CLIENTS.pwClient.client_id, CLIENTS.pwClient.client_secret) },
      body: form([['token', subject], ['token_type_hint', 'access_token']]),
    });
    assert.equal(revoked.status, 200);
    assert.equal((await introspect(idp, subject)).active, false);
    const err = await rejection(exchange(subject).getToken());
    assertGrantkitError(err, 'OAUTH_ERROR', { status: 400, error: 'invalid_grant' });
    assertNoSecrets(err, [subject, CLIENTS.exchanger.client_secret]);

    const live = await aliceToken();
    const wrong = await rejection(exchange(live, { audience: 'urn:grantkit:elsewhere' }).getToken());
    assertGrantkitError(wrong, 'OAUTH_ERROR', { status: 400, error: 'invalid_target' });
    assertNoSecrets(wrong, [live]);
  });

  test('configuration errors before any request name the option', async () => {
    idp.resetRequests();
    for (const [options, field] of [
      [{ subjectToken: '' }, 'subjectToken'],
      [{ subjectTokenType: 'not a type' }, 'subjectTokenType'],
      [{ actorToken: 'x' }, 'actorTokenType'],
      [{ requestedTokenType: 5 }, 'requestedTokenType'],
    ]) {
      let thrown;
      try { exchange('a-token', options); } catch (e) { thrown = e; }
      assertGrantkitError(thrown, 'INVALID_CONFIG', { field });
    }
    assert.equal(idp.tokenRequests().length, 0);
  });

  test('a TokenSource over the exchange caches the new token; other subject tokens get other store keys', async () => {
    const [a, b] = [await aliceToken(), await aliceToken()];
    const source = new gk.TokenSource(exchange(a, { audience: EXCHANGE_AUDIENCE }));
    idp.resetRequests();
    const first = await source.getToken();
    assert.equal(await source.getToken(), first);
    assert.equal(idp.tokenRequests().length, 1);
    const other = new gk.TokenSource(exchange(b, { audience: EXCHANGE_AUDIENCE }));
    assert.notEqual(other.storeKey, source.storeKey, 'a different subject token never shares the cached token');
    assert.ok(!source.storeKey.includes(a));
  });

  test('grantkit token-exchange: the subject token from the environment, the new access token printed', async () => {
    const subject = await aliceToken();
    const r = await runCli([
      'token-exchange', '--token-endpoint', idp.tokenEndpoint, '--client-id', CLIENTS.exchanger.client_id,
      '--client-secret-env', 'EXCHANGER_SECRET', '--subject-token-env', 'SUBJECT', '--audience', EXCHANGE_AUDIENCE,
    ], { env: { EXCHANGER_SECRET: CLIENTS.exchanger.client_secret, SUBJECT: subject } });
    assert.equal(r.code, 0, show(r));
    const token = r.stdout.trim();
    assert.equal(decodeJws(token).claims.aud, EXCHANGE_AUDIENCE);
    assert.equal((await introspect(idp, token)).active, true);

    const refused = await runCli(['token-exchange', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'x', '--subject-token', subject]);
    assert.equal(refused.code, 1, show(refused));
    assert.ok(!refused.stderr.includes(subject), 'the token is not echoed');
    assert.match(refused.stderr, /--subject-token-env NAME/);
  });
});
