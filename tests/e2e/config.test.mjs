// Configuration checks of the installed package: INVALID_CONFIG thrown
// synchronously by the constructors, before any request; the provider presets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertGrantkitError, assertNoSecrets, json, loadGrantkit, startScriptedServer, thrown,
} from './helpers.mjs';

let gk;
let srv;
let fetchCalls;
const spyFetch = (url, init) => { fetchCalls.push({ url, init }); return globalThis.fetch(url, init); };

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
  srv.script((_req, res) => json(res, 200, { access_token: 't', token_type: 'Bearer' }));
  fetchCalls = [];
});
after(async () => { await srv?.close(); });

const SECRET = 'cfg-secret-%&+é';

function base(extra = {}) {
  return {
    tokenEndpoint: srv.url(), clientId: 'c', clientSecret: SECRET, fetch: spyFetch, ...extra,
  };
}

function assertInvalidConfig(fn, what) {
  const err = thrown(fn);
  assertGrantkitError(err, 'INVALID_CONFIG');
  assert.ok(err.message.length > 0, what);
  assertNoSecrets(err, [SECRET, 'pw-cfg-%&']);
  return err;
}

describe('ClientCredentials / PasswordGrant constructor checks', () => {
  test('a valid configuration constructs without a request', () => {
    const hits = srv.hits.length;
    fetchCalls = [];
    const cc = new gk.ClientCredentials(base());
    assert.equal(typeof cc.getToken, 'function');
    const pg = new gk.PasswordGrant({ ...base(), username: 'u', password: 'p' });
    assert.equal(typeof pg.getToken, 'function');
    assert.equal(fetchCalls.length, 0);
    assert.equal(srv.hits.length, hits);
  });

  test('missing clientId -> INVALID_CONFIG', () => {
    const { clientId, ...rest } = base();
    assertInvalidConfig(() => new gk.ClientCredentials(rest), 'missing clientId');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...rest, username: 'u', password: 'p' }), 'missing clientId');
  });

  test('missing tokenEndpoint / clientSecret (client credentials) / username / password -> INVALID_CONFIG', () => {
    const { tokenEndpoint, ...noEndpoint } = base();
    assertInvalidConfig(() => new gk.ClientCredentials(noEndpoint), 'missing tokenEndpoint');
    const { clientSecret, ...noSecret } = base();
    assertInvalidConfig(() => new gk.ClientCredentials(noSecret), 'missing clientSecret');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base(), password: 'pw-cfg-%&' }), 'missing username');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base(), username: 'u' }), 'missing password');
  });

  test('no options at all -> INVALID_CONFIG', () => {
    assertInvalidConfig(() => new gk.ClientCredentials(), 'no options');
    assertInvalidConfig(() => new gk.ClientCredentials({}), 'empty options');
    assertInvalidConfig(() => new gk.PasswordGrant({}), 'empty options');
  });

  test('unknown option name -> INVALID_CONFIG, naming the option', () => {
    const err = assertInvalidConfig(() => new gk.ClientCredentials({ ...base(), clientSecrett: 'x' }), 'unknown option');
    assert.match(err.message, /clientSecrett/);
    assertInvalidConfig(() => new gk.ClientCredentials({ ...base(), username: 'u' }), 'PasswordGrant option on ClientCredentials');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base(), username: 'u', password: 'pw-cfg-%&', scopes: 'x' }), 'unknown option');
  });

  test('wrong types -> INVALID_CONFIG', () => {
    for (const extra of [
      { clientId: 42 },
      { clientSecret: 42 },
      { tokenEndpoint: 42 },
      { scope: 42 },
      { scope: ['a', 42] },
      { clientAuth: 'tls' },
      { clientAuth: 1 },
      { extraParams: 'a=b' },
      { extraParams: { a: 1 } },
      { provider: 'okta' },
      { fetch: 'fetch' },
      { timeoutMs: '300' },
      { allowInsecureHttp: 'yes' },
    ]) {
      assertInvalidConfig(() => new gk.ClientCredentials(base(extra)), JSON.stringify(extra));
    }
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base(), username: 1, password: 'p' }), 'username type');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base(), username: 'u', password: 1 }), 'password type');
  });

  test('not a URL -> INVALID_CONFIG', () => {
    assertInvalidConfig(() => new gk.ClientCredentials(base({ tokenEndpoint: 'not a url' })), 'not a url');
    assertInvalidConfig(() => new gk.ClientCredentials(base({ tokenEndpoint: 'ftp://127.0.0.1/token' })), 'ftp');
  });

  test('plain http to a non-loopback host -> INVALID_CONFIG unless allowInsecureHttp', () => {
    assertInvalidConfig(() => new gk.ClientCredentials(base({ tokenEndpoint: 'http://example.com/token' })), 'http non-loopback');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base({ tokenEndpoint: 'http://10.0.0.1/token' }), username: 'u', password: 'p' }), 'http private');
    // allowed: https anywhere, http on loopback, http anywhere when explicitly allowed (no request is made)
    for (const tokenEndpoint of ['https://example.com/token', 'http://127.0.0.1:1/token', 'http://localhost:1/token', 'http://[::1]:1/token']) {
      assert.doesNotThrow(() => new gk.ClientCredentials(base({ tokenEndpoint })), tokenEndpoint);
    }
    assert.doesNotThrow(() => new gk.ClientCredentials(base({ tokenEndpoint: 'http://example.com/token', allowInsecureHttp: true })));
  });

  test('entra: client-credentials scope must end in /.default; no request is made', () => {
    fetchCalls = [];
    const hits = srv.hits.length;
    assertInvalidConfig(() => new gk.ClientCredentials(base({ provider: 'entra', scope: 'api://x/read' })), 'entra scope');
    assertInvalidConfig(() => new gk.ClientCredentials(base({ provider: 'entra' })), 'entra without scope');
    assert.equal(fetchCalls.length, 0);
    assert.equal(srv.hits.length, hits);
    assert.doesNotThrow(() => new gk.ClientCredentials(base({ provider: 'entra', scope: 'api://x/.default' })));
  });

  test('entra: password-grant scope must include a value ending in /access_as_user', () => {
    fetchCalls = [];
    const pw = { username: 'u', password: 'pw-cfg-%&' };
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base({ provider: 'entra', scope: 'openid api://x/.default' }), ...pw }), 'entra pw scope');
    assertInvalidConfig(() => new gk.PasswordGrant({ ...base({ provider: 'entra' }), ...pw }), 'entra pw no scope');
    assert.equal(fetchCalls.length, 0);
    assert.doesNotThrow(() => new gk.PasswordGrant({ ...base({ provider: 'entra', scope: 'openid api://x/access_as_user' }), ...pw }));
  });
});

describe('provider presets', () => {
  test('entra() exact values', () => {
    assert.deepEqual(gk.entra({ tenant: 'contoso.onmicrosoft.com' }), {
      provider: 'entra',
      tokenEndpoint: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
      issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
    });
    assert.deepEqual(gk.entra({ tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47' }), {
      provider: 'entra',
      tokenEndpoint: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token',
      issuer: 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
    });
  });

  test('keycloak() exact values', () => {
    assert.deepEqual(gk.keycloak({ baseUrl: 'https://sso.example.com', realm: 'demo' }), {
      provider: 'keycloak',
      tokenEndpoint: 'https://sso.example.com/realms/demo/protocol/openid-connect/token',
      issuer: 'https://sso.example.com/realms/demo',
    });
    assert.deepEqual(gk.keycloak({ baseUrl: 'https://sso.example.com/auth', realm: 'master' }), {
      provider: 'keycloak',
      tokenEndpoint: 'https://sso.example.com/auth/realms/master/protocol/openid-connect/token',
      issuer: 'https://sso.example.com/auth/realms/master',
    });
  });

  test('pingAic() exact values (keeps :443)', () => {
    assert.deepEqual(gk.pingAic({ tenant: 'openam-example.forgeblocks.com' }), {
      provider: 'pingAic', tokenEndpoint: 'https://openam-example.forgeblocks.com:443/am/oauth2/access_token',
    });
  });

  test('a preset spreads into the options', () => {
    const cc = new gk.ClientCredentials({ ...gk.entra({ tenant: 't' }), clientId: 'c', clientSecret: 's', scope: 'api://x/.default' });
    assert.equal(typeof cc.getToken, 'function');
    assertInvalidConfig(() => new gk.ClientCredentials({ ...gk.entra({ tenant: 't' }), clientId: 'c', clientSecret: SECRET, scope: 'User.Read' }), 'entra preset, wrong scope');
  });
});
