// The exchange trace of the installed package (onExchange, grantkit --trace)
// against the local IdP and a resource server: the exact masked records, no
// secret in any of them, and a curl command that works when its variable is
// set.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import { DEFAULT_USERS, startAcp } from '../acp/server.mjs';
import { CLIENTS, USERS, startIdp } from '../idp/server.mjs';
import { startResourceServer } from '../idp/resource_server.mjs';
import {
  basicHeader, closedPort, formEncode, loadGrantkit, rejection, runCli,
} from './helpers.mjs';

let gk;
let idp;
let rs;

before(async () => {
  gk = await loadGrantkit();
  idp = await startIdp();
  rs = await startResourceServer({ idp });
});
after(async () => {
  await rs?.close();
  await idp?.close();
});

const basic = CLIENTS.ccBasic;
const post = CLIENTS.ccPost;

/** No form of any secret anywhere in the records. */
function assertNoSecretIn(records, secrets) {
  const text = JSON.stringify(records);
  for (const s of secrets) {
    for (const form of new Set([s, formEncode(s), encodeURIComponent(s), JSON.stringify(s).slice(1, -1)])) {
      assert.ok(!text.includes(form), `${JSON.stringify(s)} (as ${JSON.stringify(form)}) is in the trace`);
    }
  }
}

describe('onExchange', () => {
  test('client credentials (Basic): the exact masked record; the token only as a prefix', async () => {
    const records = [];
    const cc = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId: basic.client_id, clientSecret: basic.client_secret, scope: 'api:read',
      onExchange: (e) => records.push(e),
    });
    const tokens = await cc.getToken();
    assert.equal(records.length, 1);
    const [e] = records;
    const body = JSON.parse(e.responseBody);
    assert.deepEqual(
      { ...e, durationMs: typeof e.durationMs, responseHeaders: undefined, responseBody: undefined },
      {
        label: 'token request (client_credentials)',
        method: 'POST',
        url: idp.tokenEndpoint,
        requestHeaders: [
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['Accept', 'application/json'],
          ['Authorization', 'Basic ••••'],
        ],
        requestBody: 'grant_type=client_credentials&scope=api%3Aread',
        status: 200,
        durationMs: 'number',
        responseHeaders: undefined,
        responseBody: undefined,
        curl: [
          'curl', '-sS', '-X POST', `'${idp.tokenEndpoint}'`,
          "-H 'Content-Type: application/x-www-form-urlencoded'",
          "-H 'Accept: application/json'",
          `--user 'cc-basic:'"$CLIENT_SECRET_FORM_ENCODED"`,
          "--data-urlencode 'grant_type=client_credentials'",
          "--data-urlencode 'scope=api:read'",
        ].join(' \\\n  '),
      },
    );
    assert.deepEqual(body, {
      access_token: `${tokens.access_token.slice(0, 10)}…`, expires_in: tokens.expires_in, scope: 'api:read', token_type: 'Bearer',
    });
    assert.ok(e.responseHeaders.some(([name, value]) => name === 'content-type' && value.startsWith('application/json')));
    assertNoSecretIn(records, [basic.client_secret, basicHeader(basic.client_id, basic.client_secret).slice(6), tokens.access_token]);
  });

  test('password grant: the password masked; every token a prefix', async () => {
    const records = [];
    const user = USERS.alice;
    const client = CLIENTS.pwClient;
    const pw = new gk.PasswordGrant({
      tokenEndpoint: idp.tokenEndpoint, clientId: client.client_id, clientSecret: client.client_secret,
      username: user.username, password: user.password, scope: 'openid offline_access api:read', onExchange: (e) => records.push(e),
    });
    const tokens = await pw.getToken();
    const [e] = records;
    assert.equal(
      e.requestBody,
      `grant_type=password&username=${formEncode(user.username)}&password=••••&scope=openid+offline_access+api%3Aread`,
    );
    const body = JSON.parse(e.responseBody);
    for (const name of ['access_token', 'refresh_token', 'id_token']) {
      assert.equal(body[name], `${tokens[name].slice(0, 10)}…`, name);
    }
    assert.ok(e.curl.includes(`--data-urlencode 'password='"$PASSWORD"`));
    assert.ok(e.curl.includes(`--user 'pw-client:'"$CLIENT_SECRET"`), e.curl);
    assertNoSecretIn(records, [user.password, client.client_secret, tokens.access_token, tokens.refresh_token, tokens.id_token]);
  });

  test('no response: the record has the error and no status; what onExchange throws is ignored', async () => {
    const records = [];
    const cc = new gk.ClientCredentials({
      tokenEndpoint: `http://127.0.0.1:${await closedPort()}/token`, clientId: post.client_id, clientSecret: post.client_secret, clientAuth: 'post',
      onExchange: (e) => { records.push(e); throw new Error('a broken trace consumer'); },
    });
    const error = await rejection(cc.getToken());
    assert.equal(error.code, 'NETWORK_ERROR');
    const [e] = records;
    assert.equal(e.status, undefined);
    assert.equal(e.responseBody, undefined);
    assert.deepEqual(e.responseHeaders, []);
    assert.equal(e.error, error.message);
    // And a throwing onExchange does not fail a successful request either.
    const ok = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId: post.client_id, clientSecret: post.client_secret, clientAuth: 'post',
      onExchange: () => { throw new Error('ignored'); },
    });
    assert.equal(typeof (await ok.getToken()).access_token, 'string');
  });

  test('authorizedFetch: the API call with the Bearer token as a prefix and the key masked; the body stays the caller\'s', async () => {
    const calls = [];
    const tokenCalls = [];
    const cc = new gk.ClientCredentials({
      tokenEndpoint: idp.tokenEndpoint, clientId: post.client_id, clientSecret: post.client_secret, clientAuth: 'post', scope: 'api:read',
      onExchange: (e) => tokenCalls.push(e),
    });
    const source = new gk.TokenSource(cc, {
      allowedOrigins: [rs.origin],
      headers: { 'Ocp-Apim-Subscription-Key': 'sub-key-SEKRIT' },
      apiCallerId: 'ops@example.com',
      onExchange: (e) => calls.push(e),
    });
    const res = await source.authorizedFetch(`${rs.url}/things`, { method: 'PUT', body: 'x' });
    assert.equal(res.status, 200);
    assert.equal(typeof (await res.json()), 'object');
    const token = (await source.getToken()).access_token;
    assert.equal(tokenCalls.length, 1);
    assert.equal(calls.length, 1);
    const [e] = calls;
    assert.equal(e.label, 'API call');
    assert.equal(e.method, 'PUT');
    assert.equal(e.url, `${rs.url}/things`);
    assert.equal(e.status, 200);
    assert.equal(e.responseBody, undefined);
    assert.equal(e.requestBody, undefined);
    const headers = Object.fromEntries(e.requestHeaders.map(([n, v]) => [n.toLowerCase(), v]));
    assert.equal(headers.authorization, `Bearer ${token.slice(0, 10)}…`);
    assert.equal(headers['ocp-apim-subscription-key'], '••••');
    assert.equal(headers['x-api-caller-id'], 'ops@example.com');
    assert.ok(e.curl.includes(`-X PUT`));
    assert.ok(e.curl.includes(`-H 'Authorization: Bearer '"$ACCESS_TOKEN"`), e.curl);
    assertNoSecretIn([...calls, ...tokenCalls], ['sub-key-SEKRIT', token, post.client_secret]);
  });
});

describe('onExchange of the ACP login', () => {
  test('five records named by step; the encrypted password a prefix, the session cookie and the password nowhere', async () => {
    const acp = await startAcp();
    try {
      const records = [];
      const password = DEFAULT_USERS.admin;
      // The acp() preset spreads in.
      const tokens = await new gk.AcpLogin({
        ...gk.acp({ platformUrl: acp.platformUrl }), username: 'admin', password, onExchange: (e) => records.push(e),
      }).getToken();
      assert.deepEqual(records.map((e) => `${e.label}: ${e.method} ${new URL(e.url).pathname} ${e.status}`), [
        'ACP step 1 (login metadata): GET /console-platform/api/v1/token/login 200',
        'ACP step 2 (authorize): GET /dex/api/v1/authorize 200',
        'ACP step 3 (public key): GET /dex/pubkey 200',
        'ACP step 4 (credentials): POST /dex/api/v1/authorize/local 200',
        'ACP step 5 (token callback): GET /console-platform/api/v1/token/callback 200',
      ].map((line, i) => (records[i] ? line : `${line} (missing)`)));
      const step4 = records[3];
      const sent = JSON.parse(step4.requestBody);
      assert.equal(sent.account, 'admin');
      assert.match(sent.password, /^[A-Za-z0-9+/]{10}…$/);
      assert.ok(step4.curl.includes(`"password":"'"$ENCRYPTED_PASSWORD"'"`), step4.curl);
      const cookies = records.flatMap((e) => [...e.requestHeaders, ...e.responseHeaders])
        .filter(([name]) => /^(set-)?cookie$/i.test(name));
      assert.ok(cookies.length > 0);
      for (const [, value] of cookies) assert.match(value, /=••••/);
      assertNoSecretIn(records, [password, tokens.access_token, tokens.id_token ?? tokens.access_token]);
    } finally {
      await acp.close();
    }
  });
});

describe('grantkit --trace', () => {
  test('writes the masked exchange and a curl command that gets a token once its variable is set', async () => {
    const r = await runCli(
      ['client-credentials', '--token-endpoint', idp.tokenEndpoint, '--client-id', basic.client_id, '--client-secret-env', 'CS', '--scope', 'api:read', '--trace'],
      { env: { CS: basic.client_secret } },
    );
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], `> POST ${idp.tokenEndpoint}   [token request (client_credentials)]`);
    assert.deepEqual(lines.slice(1, 6), [
      '> Content-Type: application/x-www-form-urlencoded',
      '> Accept: application/json',
      '> Authorization: Basic ••••',
      '>',
      '> grant_type=client_credentials&scope=api%3Aread',
    ]);
    assert.match(lines[6], /^< HTTP 200 after \d+ ms$/);
    assert.ok(r.stderr.includes(`"access_token":"${token.slice(0, 10)}…"`));
    for (const s of [basic.client_secret, formEncode(basic.client_secret), token]) assert.ok(!r.stderr.includes(s), s);
    // The curl command, run as printed (when this machine has curl).
    const curl = r.stderr.slice(r.stderr.indexOf('curl \\\n'));
    if (spawnSync('curl', ['--version']).status !== 0) return;
    // Asynchronously: the IdP answers from this very process.
    const { stdout } = await promisify(execFile)('bash', ['-c', curl], {
      env: { PATH: process.env.PATH, CLIENT_SECRET_FORM_ENCODED: formEncode(basic.client_secret) },
      timeout: 10_000,
    });
    assert.equal(JSON.parse(stdout).token_type, 'Bearer');
  });
});
