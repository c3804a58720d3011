// Hostile arguments to the installed package's JS API, each in a fresh child
// process (a wasm trap or an uncaught exception would show there): wrong
// types, Proxies whose traps throw, getters that throw, and option values
// that must never be echoed. Every case is a GrantkitError, never a TypeError
// from the glue, never a trap.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { assertChildError, runInChild } from './hostile_helpers.mjs';

const THROWING_PROXY = `new Proxy({}, {
  get() { throw new Error('get trap SEKRIT-TRAP'); },
  has() { throw new Error('has trap SEKRIT-TRAP'); },
  ownKeys() { throw new Error('ownKeys trap SEKRIT-TRAP'); },
  getOwnPropertyDescriptor() { throw new Error('gOPD trap SEKRIT-TRAP'); },
  getPrototypeOf() { throw new Error('getPrototypeOf trap SEKRIT-TRAP'); },
})`;

const CC_OPTIONS = "{ tokenEndpoint: 'http://127.0.0.1:1/token', clientId: 'c', clientSecret: 's' }";

/** Run `body` in a child: it must end in a GrantkitError with `code` (sync throw or rejection alike). */
async function expectChildError(body, code, extra = {}) {
  const r = await runInChild(body);
  const e = assertChildError(r, code, extra);
  assert.ok(!e.text.includes('SEKRIT'), `the error carries the hostile value: ${e.text.slice(0, 400)}`);
  return { r, e };
}

describe('decodeJwt with wrong types -> INVALID_JWT', () => {
  test('decodeJwt(42)', () => expectChildError('return gk.decodeJwt(42);', 'INVALID_JWT'));
  test('decodeJwt({})', () => expectChildError('return gk.decodeJwt({});', 'INVALID_JWT'));
  test('decodeJwt(undefined)', () => expectChildError('return gk.decodeJwt(undefined);', 'INVALID_JWT'));
  test('decodeJwt(Symbol())', () => expectChildError('return gk.decodeJwt(Symbol("SEKRIT"));', 'INVALID_JWT'));
  test('decodeJwt of an object whose toString() throws', () => expectChildError(
    'return gk.decodeJwt({ toString() { throw new Error("SEKRIT"); } });',
    'INVALID_JWT',
  ));
  test('decodeJwt of a JWT whose claims nest 10,000 deep', () => expectChildError(`
    const claims = Buffer.from('{"a":' + '['.repeat(10000) + ']'.repeat(10000) + '}').toString('base64url');
    return gk.decodeJwt('eyJhbGciOiJSUzI1NiJ9.' + claims + '.c2ln');
  `, 'INVALID_JWT'));
});

describe('getToken with a throwing Proxy -> a rejected promise with INVALID_CONFIG, never an uncaught exception', () => {
  test('ClientCredentials.getToken(proxy)', async () => {
    const { r } = await expectChildError(`
      const flow = new gk.ClientCredentials(${CC_OPTIONS});
      let p;
      try { p = flow.getToken(${THROWING_PROXY}); } catch (e) { note('threw synchronously'); throw e; }
      note(typeof p?.then);
      return await p;
    `, 'INVALID_CONFIG');
    assert.deepEqual(r.result.notes, ['function'], 'getToken did not return a promise');
  });

  test('TokenSource.getToken(proxy)', async () => {
    const { r } = await expectChildError(`
      const src = new gk.TokenSource(new gk.ClientCredentials(${CC_OPTIONS}));
      let p;
      try { p = src.getToken(${THROWING_PROXY}); } catch (e) { note('threw synchronously'); throw e; }
      note(typeof p?.then);
      return await p;
    `, 'INVALID_CONFIG');
    assert.deepEqual(r.result.notes, ['function'], 'getToken did not return a promise');
  });

  test('getToken({ signal: <a Proxy whose traps throw> })', async () => {
    const { r } = await expectChildError(`
      const flow = new gk.ClientCredentials(${CC_OPTIONS});
      let p;
      try { p = flow.getToken({ signal: ${THROWING_PROXY} }); } catch (e) { note('threw synchronously'); throw e; }
      note(typeof p?.then);
      return await p;
    `, 'INVALID_CONFIG');
    assert.deepEqual(r.result.notes, ['function']);
  });

  test('getToken(42) -> rejected INVALID_CONFIG', () => expectChildError(`
    return await new gk.ClientCredentials(${CC_OPTIONS}).getToken(42);
  `, 'INVALID_CONFIG'));
});

describe('constructors given a throwing Proxy -> INVALID_CONFIG', () => {
  for (const cls of ['ClientCredentials', 'PasswordGrant', 'JwtBearer', 'DeviceAuthorization', 'AcpLogin']) {
    test(`new ${cls}(proxy)`, () => expectChildError(`return new gk.${cls}(${THROWING_PROXY});`, 'INVALID_CONFIG'));
  }

  test('new TokenSource(flow, proxy)', () => expectChildError(`
    return new gk.TokenSource(new gk.ClientCredentials(${CC_OPTIONS}), ${THROWING_PROXY});
  `, 'INVALID_CONFIG'));

  test('new TokenSource(proxy) (the flow itself)', () => expectChildError(`return new gk.TokenSource(${THROWING_PROXY});`, 'INVALID_CONFIG'));

  test('options with a getter that throws on clientSecret', () => expectChildError(`
    return new gk.ClientCredentials({ tokenEndpoint: 'http://127.0.0.1:1/token', clientId: 'c', get clientSecret() { throw new Error('SEKRIT'); } });
  `, 'INVALID_CONFIG'));

  test('extraParams given as a throwing Proxy', () => expectChildError(`
    return new gk.ClientCredentials({ ...${CC_OPTIONS}, extraParams: ${THROWING_PROXY} });
  `, 'INVALID_CONFIG'));
});

describe('other exported functions with wrong argument types -> GrantkitError', () => {
  test('keycloak(42)', () => expectChildError('return gk.keycloak(42);', 'INVALID_CONFIG'));
  test('entra(null)', () => expectChildError('return gk.entra(null);', 'INVALID_CONFIG'));
  test('pingAic(Symbol())', () => expectChildError('return gk.pingAic(Symbol("x"));', 'INVALID_CONFIG'));
  test('generic("https://idp.example.com/token") (a string, not options)', () => expectChildError('return gk.generic("https://idp.example.com/token");', 'INVALID_CONFIG'));
  test('acp(42)', () => expectChildError('return gk.acp(42);', 'INVALID_CONFIG'));
  test('keycloak(throwing proxy)', () => expectChildError(`return gk.keycloak(${THROWING_PROXY});`, 'INVALID_CONFIG'));
  test('encryptAcpPassword(42)', () => expectChildError('return await gk.encryptAcpPassword(42);', 'INVALID_CONFIG'));
  test('encryptAcpPassword(throwing proxy)', () => expectChildError(`return await gk.encryptAcpPassword(${THROWING_PROXY});`, 'INVALID_CONFIG'));
  test('new TokenSource(42)', () => expectChildError('return new gk.TokenSource(42);', 'INVALID_CONFIG', { field: 'flow' }));
});

describe('option errors name the option, never the value', () => {
  test('tokenEndpoint "ftp://idp/token?secret=SEKRIT" -> INVALID_CONFIG, field tokenEndpoint, SEKRIT nowhere', () => expectChildError(`
    return new gk.ClientCredentials({ tokenEndpoint: 'ftp://idp/token?secret=SEKRIT', clientId: 'c', clientSecret: 's' });
  `, 'INVALID_CONFIG', { field: 'tokenEndpoint' }));

  test('tokenEndpoint with credentials "https://user:SEKRIT@idp/token" -> INVALID_CONFIG, field tokenEndpoint, SEKRIT nowhere', () => expectChildError(`
    return new gk.ClientCredentials({ tokenEndpoint: 'https://user:SEKRIT@idp.example.com/token', clientId: 'c', clientSecret: 's' });
  `, 'INVALID_CONFIG', { field: 'tokenEndpoint' }));

  test('tokenEndpoint with a fragment "...#SEKRIT" -> INVALID_CONFIG, field tokenEndpoint, SEKRIT nowhere', () => expectChildError(`
    return new gk.ClientCredentials({ tokenEndpoint: 'https://idp.example.com/token#access_token=SEKRIT', clientId: 'c', clientSecret: 's' });
  `, 'INVALID_CONFIG', { field: 'tokenEndpoint' }));

  test('tokenEndpoint plain http to a remote host with a secret in the query -> INVALID_CONFIG, SEKRIT nowhere', () => expectChildError(`
    return new gk.ClientCredentials({ tokenEndpoint: 'http://idp.example.com/token?client_secret=SEKRIT', clientId: 'c', clientSecret: 's' });
  `, 'INVALID_CONFIG', { field: 'tokenEndpoint' }));

  test('platformUrl "ftp://SEKRIT@acp" -> INVALID_CONFIG, field platformUrl, SEKRIT nowhere', () => expectChildError(`
    return new gk.AcpLogin({ platformUrl: 'ftp://admin:SEKRIT@acp.example.com', username: 'admin', password: 'p' });
  `, 'INVALID_CONFIG', { field: 'platformUrl' }));

  test('clientId of the wrong type (an object whose toString says SEKRIT) -> INVALID_CONFIG, field clientId', () => expectChildError(`
    return new gk.ClientCredentials({ tokenEndpoint: 'http://127.0.0.1:1/token', clientId: { toString() { return 'SEKRIT'; } }, clientSecret: 's' });
  `, 'INVALID_CONFIG', { field: 'clientId' }));

  test('an unknown option whose value is a secret -> INVALID_CONFIG, SEKRIT nowhere', () => expectChildError(`
    return new gk.ClientCredentials({ ...${CC_OPTIONS}, client_secret: 'SEKRIT' });
  `, 'INVALID_CONFIG'));
});
