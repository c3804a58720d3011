// `grantkit device` of the installed package against the local oidc-provider:
// the prompt on standard error, the user played through the provider's own
// pages, the token on standard output; denial, SIGINT and usage errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { startIdp } from '../idp/server.mjs';
import { approveDevice } from '../idp/device_approve.mjs';
import { cliPath, introspect, runCli, show, startScriptedServer } from './helpers.mjs';

let idp;

before(async () => {
  idp = await startIdp({ deviceIntervalSeconds: 1 });
});
after(async () => { await idp?.close(); });

const PROMPT = /^To sign in, open (\S+) and enter the code (\S+)\n\(or open (\S+)\)\nThe code expires in (\d+) s\. Waiting for approval\.\.\.\n$/;

/**
 * Runs the CLI; once its prompt is complete on stderr, `onPrompt(match,
 * child)` plays the user. Resolves to { code, signal, stdout, stderr }.
 */
function runDevice(args, onPrompt, { env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath(), 'device', ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let prompted = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      const match = PROMPT.exec(stderr);
      if (match && !prompted) {
        prompted = true;
        Promise.resolve(onPrompt(match, child)).catch(reject);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const base = () => [
  '--token-endpoint', idp.tokenEndpoint,
  '--device-authorization-endpoint', idp.deviceAuthorizationEndpoint,
  '--client-id', 'device-public',
  '--scope', 'openid offline_access',
];

describe('grantkit device', () => {
  test('prints the prompt on stderr and, once approved, the access token on stdout', async () => {
    idp.resetRequests();
    const r = await runDevice(base(), ([, uri, code, complete, expiresIn]) => {
      assert.equal(uri, `${idp.issuer}/device`);
      assert.equal(complete, `${uri}?user_code=${code}`);
      assert.equal(expiresIn, '600');
      return approveDevice({ verificationUri: complete, username: 'alice' });
    });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^[^\r\n]+\n$/, 'one line, the bare token');
    const token = r.stdout.trim();
    const info = await introspect(idp, token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'device-public');
    assert.equal(info.sub, 'alice');
    const [device] = idp.deviceAuthorizationRequests();
    assert.equal(device.body, 'scope=openid+offline_access&client_id=device-public');
    assert.ok(idp.tokenRequests().length >= 1);
    for (const poll of idp.tokenRequests()) {
      assert.match(poll.body, /^grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=[^&]+&client_id=device-public$/);
    }
  });

  test('--json prints the whole token set with the refresh and ID tokens', async () => {
    const r = await runDevice([...base(), '--json'], ([, , , complete]) => approveDevice({ verificationUri: complete, username: 'bob' }));
    assert.equal(r.code, 0, show(r));
    const tokens = JSON.parse(r.stdout);
    assert.equal(tokens.token_type, 'Bearer');
    for (const name of ['access_token', 'refresh_token', 'id_token']) {
      assert.equal(typeof tokens[name], 'string', name);
    }
  });

  test('a denial exits 2 and names access_denied', async () => {
    const r = await runDevice(base(), ([, , , complete]) => approveDevice({ verificationUri: complete, username: 'alice', deny: true }));
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /\ngrantkit: access_denied: /);
  });

  test('SIGINT while waiting stops polling and exits 1 with ABORTED', async () => {
    idp.resetRequests();
    const r = await runDevice(base(), (_, child) => { child.kill('SIGINT'); });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /\ngrantkit: ABORTED: /);
    assert.equal(idp.tokenRequests().length, 0, 'no poll after the interrupt');
  });

  test('a generic endpoint needs --device-authorization-endpoint; a secret on argv is refused', async () => {
    let r = await runCli(['device', '--token-endpoint', idp.tokenEndpoint, '--client-id', 'device-public']);
    assert.equal(r.code, 1, show(r));
    // The core knows which providers document a device endpoint; the CLI
    // names the flag of the option the core refused.
    assert.match(r.stderr, /^grantkit: --device-authorization-endpoint: INVALID_CONFIG: invalid configuration: deviceAuthorizationEndpoint: is required: only Keycloak's and Entra's are known from their token endpoints\n$/);
    r = await runCli(['device', ...base(), '--client-secret', 'device-secret-456']);
    assert.equal(r.code, 1, show(r));
    assert.doesNotMatch(r.stderr, /device-secret-456/);
  });

  test('a confidential client reads its secret from the environment and uses Basic', async () => {
    idp.resetRequests();
    const args = [
      '--token-endpoint', idp.tokenEndpoint,
      '--device-authorization-endpoint', idp.deviceAuthorizationEndpoint,
      '--client-id', 'device-confidential', '--client-secret-env', 'DEVICE_SECRET', '--scope', 'openid',
    ];
    const r = await runDevice(args, ([, , , complete]) => approveDevice({ verificationUri: complete, username: 'alice' }),
      { env: { DEVICE_SECRET: 'device-secret-456' } });
    assert.equal(r.code, 0, show(r));
    const basic = `Basic ${Buffer.from('device-confidential:device-secret-456').toString('base64')}`;
    for (const request of [...idp.deviceAuthorizationRequests(), ...idp.tokenRequests()]) {
      assert.equal(request.headers.authorization, basic);
    }
    // client_id goes in the device authorization body whatever the client
    // authentication (some servers refuse the request without it); the polls
    // carry it in the Basic header only.
    assert.equal(idp.deviceAuthorizationRequests()[0].body, 'client_id=device-confidential&scope=openid');
    for (const request of idp.tokenRequests()) assert.doesNotMatch(request.body, /client_id=/);
  });
});

describe('grantkit device with a provider preset', () => {
  test('--keycloak-url / --entra-tenant: the device endpoint is the provider\'s documented one, derived by the core', async () => {
    const srv = await startScriptedServer();
    try {
      srv.script((_req, res) => { res.writeHead(400, { 'content-type': 'application/json' }); res.end('{"error":"invalid_client"}'); });
      const r = await runCli(['device', '--keycloak-url', srv.origin, '--realm', 'ops', '--client-id', 'tv']);
      assert.equal(r.code, 2, show(r));
      assert.equal(srv.hits.length, 1);
      assert.equal(srv.hits[0].url, '/realms/ops/protocol/openid-connect/auth/device');
      assert.equal(srv.hits[0].body, 'client_id=tv');
    } finally {
      await srv.close();
    }
  });
});
