// Browser tests of the diagnostic page (www/), served by `grantkit www` of
// the PACKED package, driven with playwright-core in Debian's Chromium,
// against the local identity provider (tests/idp/server.mjs: one with CORS
// for every origin, one with none), its resource server (with CORS) and the
// reference ACP server (no CORS: reachable through the relay only).
//
//   make test-www      (builds target/npm/grantkit.tgz, runs tests/www/setup.sh, then this)
//   node --test tests/www/
//
// Each test runs in a fresh browser context, takes a screenshot of each state
// into tests/www/.artifacts/ (not committed) and ends by checking that no
// secret of the run is in localStorage, sessionStorage, the URL, the console
// or the page's text.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { chromium } from 'playwright-core';

import { CLIENTS, RESOURCE, USERS, startIdp } from '../idp/server.mjs';
import { startResourceServer } from '../idp/resource_server.mjs';
import { approveDevice } from '../idp/device_approve.mjs';
import { DEFAULT_USERS, FLOW_COOKIE, startAcp } from '../acp/server.mjs';
import { signInOnProviderPages } from './provider_pages.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TARBALL = path.join(ROOT, 'target', 'npm', 'grantkit.tgz');
const SCRATCH = path.join(HERE, '.tmp');
const ARTIFACTS = path.join(HERE, '.artifacts');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
const CHROMIUM = '/usr/bin/chromium';

const CC = CLIENTS.ccBasic;
const ALICE = USERS.alice;
const ACP_PASSWORD = DEFAULT_USERS.admin;
const SUBSCRIPTION_KEY = 'www-subscription-key-7f3a';
const JWK = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'rsa2048.jwk.json'), 'utf8'));
// The CSP the page carries (meta) and the server sends (header, plus frame-ancestors).
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; "
  + "connect-src 'self' https: http://127.0.0.1:* http://localhost:*; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

let idp;
let idpNoCors;
let idpNonce; // DPoP with a server nonce demanded in every proof
let idpNoDpop; // DPoP turned off: Bearer tokens whatever the request says
let rs;
let acp;
let www;
let browser;
/** Every secret the tests type or receive; none may show up where it must not. */
const secrets = new Set([CC.client_secret, CLIENTS.wwwLoginConfidential.client_secret, ALICE.password, ACP_PASSWORD, SUBSCRIPTION_KEY, JWK.d, JWK.p, JWK.q, JWK.dp, JWK.dq, JWK.qi]);

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---------------------------------------------------------------------------
// The servers and the browser.

/** `grantkit www --port 0` of the installed package: resolves once it printed its URL. */
function startWww(pkgDir) {
  const child = spawn(process.execPath, [path.join(pkgDir, 'bin', 'grantkit.js'), 'www', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => { output.stdout += d; });
  child.stderr.on('data', (d) => { output.stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`grantkit www did not start: ${output.stderr}`)), 10_000);
    child.stdout.on('data', () => {
      const match = /the diagnostic page is at (http:\/\/127\.0\.0\.1:\d+\/) /.exec(output.stdout);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: match[1],
        origin: new URL(match[1]).origin,
        output,
        stop: () => new Promise((done) => { child.once('close', done); child.kill('SIGINT'); }),
      });
    });
    child.once('close', (code) => reject(new Error(`grantkit www exited ${code}: ${output.stderr}`)));
  });
}

before(async () => {
  fs.rmSync(SCRATCH, { recursive: true, force: true });
  fs.mkdirSync(SCRATCH, { recursive: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(SCRATCH, 'package.json'), '{ "name": "grantkit-www-scratch", "version": "0.0.0", "private": true }\n');
  execFileSync('npm', ['install', '--prefix', SCRATCH, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', TARBALL], { stdio: ['ignore', 'ignore', 'inherit'] });
  [idp, idpNoCors, idpNonce, idpNoDpop, acp, www, browser] = await Promise.all([
    startIdp({ deviceIntervalSeconds: 1 }),
    startIdp({ cors: false }),
    startIdp({ dpopNonce: true }),
    startIdp({ dpop: false }),
    startAcp(),
    startWww(path.join(SCRATCH, 'node_modules', 'grantkit')),
    chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'] }),
  ]);
  rs = await startResourceServer({ idp, cors: true });
});

after(async () => {
  await Promise.all([browser?.close(), www?.stop(), idp?.close(), idpNoCors?.close(), idpNonce?.close(), idpNoDpop?.close(), rs?.close(), acp?.close()]);
});

/**
 * A fresh context and the page, loaded: clipboard allowed, console messages,
 * page errors and CSP violations collected, every request's URL noted.
 */
async function openPage({ width = 1000, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: www.origin });
  const page = await context.newPage();
  const seen = { console: [], errors: [], requests: [] };
  page.on('console', (m) => seen.console.push(m.text()));
  page.on('pageerror', (e) => seen.errors.push(e.message));
  page.on('request', (r) => seen.requests.push(r.url()));
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(www.url);
  // The wasm module is loaded once the provider list is filled in.
  await page.locator('#provider option').first().waitFor({ state: 'attached' });
  return { context, page, seen };
}

/**
 * Runs `body(page, session)` in a fresh page, then checks that the page is
 * clean (see assertClean; `origins`: the servers it may reach) and closes it.
 */
async function inPage(origins, body, size) {
  const session = await openPage(size);
  try {
    await body(session.page, session);
    await assertClean(session, origins);
  } finally {
    await session.context.close();
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Picks the provider and the flow by their visible names. */
async function choose(page, provider, flow) {
  await page.getByLabel('Provider', { exact: true }).selectOption({ label: provider });
  if (flow) await page.getByLabel('Flow', { exact: true }).selectOption({ label: flow });
}

/** Types into each field found by its label (its accessible name). */
async function type(page, fields) {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
}

const getTokenButton = (page) => page.getByRole('button', { name: 'Get token', exact: true });
const dpopSwitch = (page) => page.getByLabel('DPoP (RFC 9449)', { exact: true });

async function tokenShown(page) {
  await page.locator('#token').waitFor({ state: 'visible', timeout: 20_000 });
}

/** Clicks a copy button and reads the clipboard once the button says it copied (writing is asynchronous). */
async function copy(page, button) {
  await button.click();
  await button.locator('xpath=following-sibling::*[1]').filter({ hasText: 'Copied' }).waitFor();
  return page.evaluate(() => navigator.clipboard.readText());
}

/** The token the "Copy token" button puts on the clipboard (it is never shown). */
async function copiedToken(page) {
  const token = await copy(page, page.locator('#token').getByRole('button', { name: 'Copy token', exact: true }));
  secrets.add(token);
  return token;
}

const claims = async (page, id) => JSON.parse(await page.locator(id).textContent());

/** The trace as rendered: one { title, summary, request, response, curl, relayed } per exchange. */
function trace(page) {
  return page.locator('#trace > li').evaluateAll((items) => items.map((li) => ({
    title: li.querySelector('h3').firstChild.textContent,
    relayed: li.querySelector('.badge.relay')?.textContent ?? null,
    summary: li.querySelector('.summary').textContent,
    request: li.querySelector('pre.request').textContent,
    response: li.querySelector('pre.response')?.textContent ?? null,
    curl: li.querySelector('pre.curl').textContent,
  })));
}

/** axe-core on the page as it is: no serious or critical violation. */
async function assertAccessible(page, state) {
  await page.evaluate(fs.readFileSync(path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8'));
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `axe-core, ${state}`);
}

/**
 * No secret of the run in storage, the URL, the console or the page's text;
 * no page error, no CSP violation, no request to another origin than the
 * page's and the servers'.
 */
async function assertClean({ page, seen }, allowedOrigins) {
  const exposed = await page.evaluate(() => ({
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    url: location.href,
    text: document.body.innerText,
    violations: window.cspViolations,
  }));
  for (const secret of secrets) {
    for (const [where, text] of [['localStorage', exposed.local], ['sessionStorage', exposed.session], ['the URL', exposed.url], ['the page text', exposed.text], ['the console', seen.console.join('\n')]]) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}…) is in ${where}`);
    }
  }
  assert.equal(exposed.url, www.url);
  assert.equal(exposed.session, '{}');
  assert.deepEqual(exposed.violations, []);
  assert.deepEqual(seen.errors, []);
  const origins = new Set(seen.requests.map((url) => new URL(url).origin));
  assert.deepEqual([...origins].filter((origin) => ![www.origin, ...allowedOrigins].includes(origin)), []);
}

// ---------------------------------------------------------------------------

describe('the diagnostic page', () => {
  test('served with its CSP from 127.0.0.1, gzip; transfer size', async (t) => {
    const page = await fetch(www.url, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), CSP);
    assert.equal(page.headers.get('content-encoding'), 'gzip');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const html = await page.text();
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${CSP.replace("; frame-ancestors 'none'", '')}">`));
    assert.match(html, /<meta name="grantkit-relay" content="[A-Za-z0-9_-]{43}">/);
    // What a first visit transfers: every file the page loads, raw and as sent (gzip).
    const { page: browserPage, context, seen } = await openPage();
    const files = seen.requests.filter((url) => url.startsWith(www.origin));
    await context.close();
    let raw = 0;
    let gzip = 0;
    const rows = [];
    for (const url of files) {
      const plain = (await (await fetch(url, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()).byteLength;
      const sent = Number((await fetch(url, { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } })).headers.get('content-length'));
      raw += plain;
      gzip += sent;
      rows.push(`${new URL(url).pathname} ${plain} raw, ${sent} gzip`);
    }
    t.diagnostic(`page transfer: ${rows.join('; ')}; total ${raw} bytes raw, ${gzip} bytes gzip`);
    // wasm-bindgen names the snippets directory with a hash of the crate.
    const paths = files.map((url) => new URL(url).pathname.replace(/^\/grantkit\/snippets\/grantkit-[0-9a-f]{16}\//, '/grantkit/snippets/grantkit-HASH/'));
    assert.deepEqual(paths.sort(), [
      '/', '/app.js', '/dom.js', '/favicon.svg', '/form.js', '/grantkit/grantkit.js', '/grantkit/grantkit_bg.wasm',
      '/grantkit/index.url.js', '/grantkit/snippets/grantkit-HASH/src/wasm/exchange.js', '/grantkit/token_source.js',
      '/grantkit/wasm_load_error.js', '/relay.js', '/style.css', '/trace.js',
    ]);
    assert.ok(browserPage);
  });

  test('client credentials: decoded claims, the trace with the secret masked, copy buttons, an API call', () => inPage([idp.issuer, rs.origin], async (page) => {
    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, { 'Token endpoint': idp.tokenEndpoint, 'Client ID': CC.client_id, 'Client secret': CC.client_secret, Scope: 'api:read' });
    await assertAccessible(page, 'the client credentials form');
    idp.resetRequests();
    await getTokenButton(page).click();
    await tokenShown(page);

    const token = await copiedToken(page);
    assert.doesNotMatch(token, /\s/, 'the copied token is one line, nothing around it');
    const verified = await jose.jwtVerify(token, await jose.importJWK(idp.publicJwk, 'RS256'));
    assert.deepEqual(await claims(page, '#jwt-claims'), verified.payload);
    assert.deepEqual(await claims(page, '#jwt-header'), verified.protectedHeader);
    assert.equal(verified.payload.client_id, CC.client_id);
    assert.equal(verified.payload.scope, 'api:read');
    assert.equal(await page.locator('#token-summary').evaluate((dd) => dd.firstChild.textContent), `a JWT of ${token.length.toLocaleString('en')} characters (not shown) `);
    assert.equal(await page.locator('#token-scope').textContent(), 'api:read');
    assert.equal(await page.locator('#token-refresh').textContent(), 'none');
    const at = new Date(verified.payload.exp * 1000).toLocaleTimeString('en-GB');
    const expiry = async () => page.locator('#token-expiry').textContent();
    const first = await expiry();
    assert.match(first, new RegExp(`^in (1 h 0 min 0 s|59 min [45]\\d s) \\(at ${at}\\)$`));
    await page.waitForFunction((text) => document.getElementById('token-expiry').textContent !== text, first, { timeout: 3000 });

    // The trace: the one token request, the secret masked, curl with a variable.
    const [exchange, ...more] = await trace(page);
    assert.deepEqual(more, []);
    assert.equal(exchange.title, '1. token request (client_credentials)');
    assert.equal(exchange.relayed, null);
    assert.match(exchange.summary, new RegExp(`^POST ${idp.tokenEndpoint} → HTTP 200 in \\d+ ms$`));
    assert.match(exchange.request, /^authorization: Basic ••••$/im);
    assert.match(exchange.request, /\n\ngrant_type=client_credentials&scope=api%3Aread$/);
    // The secret has characters that form-encoding changes: curl --user wants it encoded.
    assert.match(exchange.curl, new RegExp(`--user '${CC.client_id}:'"\\$CLIENT_SECRET_FORM_ENCODED"`));
    assert.match(exchange.response, /"access_token":"eyJ[A-Za-z0-9_-]*…"/);
    assert.equal(await copy(page, page.locator('#trace').getByRole('button', { name: 'Copy curl command', exact: true })), exchange.curl);
    // The request really went from the browser (CORS), with the real secret.
    const [sent] = idp.tokenRequests();
    assert.equal(idp.tokenRequests().length, 1);
    assert.equal(sent.headers.origin, www.origin);
    await shot(page, 'client-credentials');
    // The README's picture: at 1200 px, from the top to the end of the trace, the exchange opened.
    for (const summary of await page.locator('#trace summary').all()) await summary.click();
    await page.setViewportSize({ width: 1200, height: 900 });
    const bottom = await page.locator('#trace > li').first().evaluate((li) => li.getBoundingClientRect().bottom + window.scrollY + 16);
    await page.screenshot({ path: path.join(ARTIFACTS, 'readme.png'), fullPage: true, clip: { x: 0, y: 0, width: 1200, height: bottom } });
    await page.setViewportSize({ width: 1000, height: 900 });

    // Call an API with the token, a subscription key and a caller id.
    await page.getByText('Call an API', { exact: true }).click();
    await type(page, { 'API URL': `${rs.url}/reports`, 'Subscription key': SUBSCRIPTION_KEY, 'Caller ID': 'ops@example.test' });
    await page.getByRole('button', { name: 'Send request', exact: true }).click();
    await page.locator('#api-response').waitFor({ state: 'visible' });
    assert.match(await page.locator('#api-response-status').textContent(), /^HTTP 200 OK in \d+ ms$/);
    assert.deepEqual(JSON.parse(await page.locator('#api-response-body').textContent()), {
      ok: true, sub: CC.client_id, client_id: CC.client_id, scope: 'api:read', method: 'GET', path: '/api/reports', callerId: 'ops@example.test', subscriptionKey: '••••',
    });
    const call = rs.calls.at(-1);
    assert.equal(call.headers.authorization, `Bearer ${token}`);
    assert.equal(call.headers['ocp-apim-subscription-key'], SUBSCRIPTION_KEY);
    assert.equal(idp.tokenRequests().length, 1, 'the API call used the run\'s token');
    const titles = (await trace(page)).map((e) => e.title);
    assert.deepEqual(titles, ['1. token request (client_credentials)', '2. API call']);
    await assertAccessible(page, 'a token, its trace and an API response');
    await shot(page, 'api-call');

    // 360 px wide: nothing wider than the screen.
    await page.setViewportSize({ width: 360, height: 800 });
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360);
    await shot(page, 'narrow-360');
  }));

  test('client credentials with client_secret_jwt: the assertion in the trace, its signature masked', () => inPage([idp.issuer], async (page) => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.csjwtClient;
    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, { 'Token endpoint': idp.tokenEndpoint, 'Client ID': clientId, 'Client secret': clientSecret, Scope: 'api:read' });
    await page.getByLabel('Client authentication', { exact: true }).selectOption('client_secret_jwt');
    idp.resetRequests();
    await getTokenButton(page).click();
    await tokenShown(page);
    const verified = await jose.jwtVerify(await copiedToken(page), await jose.importJWK(idp.publicJwk, 'RS256'));
    assert.equal(verified.payload.client_id, clientId);
    const [exchange] = await trace(page);
    assert.match(exchange.request, /&client_assertion=JWT \{"alg":"HS256","typ":"JWT"\} \{"aud":"http:\/\/127\.0\.0\.1:\d+\/token","exp":\d+,"iat":\d+,"iss":"csjwt-client","jti":"[\w-]{22}","sub":"csjwt-client"\} signature ••••$/);
    assert.ok(!JSON.stringify(exchange).includes(clientSecret), 'no secret in the trace');
    const [sent] = idp.tokenRequests();
    const assertion = new URLSearchParams(sent.body).get('client_assertion');
    await jose.jwtVerify(assertion, new TextEncoder().encode(clientSecret), { algorithms: ['HS256'] });
  }));

  test('issuer discovery: the endpoints listed and filled in, the discovery in the trace, then a token; a bad issuer shows grantkit\'s error', () => inPage([idp.issuer], async (page) => {
    await choose(page, 'Keycloak', 'Client credentials');
    assert.equal(await page.locator('#discovery').isHidden(), true, 'presets derive their endpoints');
    await choose(page, 'Any OAuth server', 'Device authorization');
    await page.getByLabel('Issuer', { exact: true }).fill(idp.issuer);
    await page.getByRole('button', { name: 'Discover endpoints', exact: true }).click();
    await page.locator('#discovered dd').first().waitFor();
    const listed = await page.locator('#discovered').evaluate((dl) => [...dl.children].map((e) => e.textContent));
    assert.deepEqual(listed, [
      'Token endpoint', idp.tokenEndpoint, 'Device authorization endpoint', idp.deviceAuthorizationEndpoint,
      'Authorization endpoint', idp.authorizationEndpoint, 'Revocation endpoint', idp.revocationEndpoint,
      'Introspection endpoint', idp.introspectionEndpoint, 'JWKS URI', idp.jwksUri,
    ]);
    assert.equal(await page.getByLabel('Token endpoint', { exact: true }).inputValue(), idp.tokenEndpoint);
    assert.equal(await page.getByLabel('Device authorization endpoint', { exact: true }).inputValue(), idp.deviceAuthorizationEndpoint);
    const [exchange] = await trace(page);
    assert.equal(exchange.title, '1. discovery (openid-configuration)');
    await assertAccessible(page, 'the form with discovered endpoints');

    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, { 'Client ID': CC.client_id, 'Client secret': CC.client_secret, Scope: 'api:read' });
    await getTokenButton(page).click();
    await tokenShown(page);

    // grantkit's own error, with its code (an issuer is an https URL, or http on loopback).
    await page.getByLabel('Issuer', { exact: true }).fill('ftp://sso.example.com/realms/ops');
    await page.getByRole('button', { name: 'Discover endpoints', exact: true }).click();
    await page.locator('#discover-error').filter({ hasText: /^INVALID_CONFIG: / }).waitFor();
    assert.equal(await page.locator('#discovered').evaluate((dl) => dl.children.length), 0);
  }));

  test('device flow: the code and link, live polling, approval; Cancel stops polling', () => inPage([idp.issuer], async (page) => {
    await choose(page, 'Any OAuth server', 'Device authorization');
    await type(page, {
      'Token endpoint': idp.tokenEndpoint, 'Device authorization endpoint': idp.deviceAuthorizationEndpoint, 'Client ID': CLIENTS.devicePublic.client_id, Scope: 'openid offline_access api:read',
    });
    idp.resetRequests();
    await getTokenButton(page).click();
    await page.locator('#device').waitFor({ state: 'visible' });
    const userCode = await page.locator('#user-code').textContent();
    const link = page.locator('#device-link');
    assert.equal(await link.textContent(), idp.codeVerificationUri);
    assert.equal(await link.getAttribute('href'), `${idp.codeVerificationUri}?user_code=${userCode}`);
    assert.equal(await copy(page, page.locator('#device').getByRole('button', { name: 'Copy code', exact: true })), userCode);
    await page.waitForFunction(() => document.getElementById('device-status').textContent === 'Polling: answer 1 was authorization_pending.');
    assert.match(await page.locator('#device-expiry').textContent(), /^The code expires in \d+ min \d+ s\.$/);
    await assertAccessible(page, 'the device prompt');
    await shot(page, 'device-prompt');
    assert.equal((await approveDevice({ verificationUri: idp.codeVerificationUri, userCode, username: ALICE.username, password: ALICE.password })).outcome, 'approved');
    await tokenShown(page);
    assert.equal(await page.locator('#device-status').textContent(), 'Approved: the token is below.');
    const token = await copiedToken(page);
    assert.equal((await claims(page, '#jwt-claims')).sub, ALICE.username);
    assert.equal(jose.decodeJwt(token).sub, ALICE.username);
    assert.equal(await page.locator('#token-refresh').textContent(), 'issued (not shown)');
    const exchanges = await trace(page);
    const polls = idp.tokenRequests().length;
    assert.deepEqual(exchanges.map((e) => e.title), ['1. device authorization request', ...Array.from({ length: polls }, (_, i) => `${i + 2}. token poll`)]);
    assert.match(exchanges[1].response, /"error":"authorization_pending"/);
    assert.match(exchanges.at(-1).summary, / → HTTP 200 in \d+ ms$/);
    await shot(page, 'device-approved');

    // Cancel while polling: the flow ends at once, nothing more is sent.
    idp.resetRequests();
    await getTokenButton(page).click();
    await page.waitForFunction(() => document.getElementById('device-status').textContent === 'Polling: answer 1 was authorization_pending.');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#problem-title').textContent(), 'Cancelled');
    assert.equal(await page.locator('#problem-code').textContent(), 'ABORTED');
    assert.equal(await page.locator('#device-status').textContent(), 'Cancelled: polling stopped.');
    const sent = idp.tokenRequests().length;
    await sleep(1500);
    assert.equal(idp.tokenRequests().length, sent, 'no poll after Cancel');
    assert.ok(await getTokenButton(page).isEnabled());
  }));

  test('a provider without CORS: the failure explained in words, then the token through the relay', () => inPage([idpNoCors.issuer], async (page) => {
    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, { 'Token endpoint': idpNoCors.tokenEndpoint, 'Client ID': CC.client_id, 'Client secret': CC.client_secret });
    await getTokenButton(page).click();
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#problem-code').textContent(), 'NETWORK_ERROR');
    const explanation = await page.locator('#cors-explanation').textContent();
    assert.match(explanation, /the endpoint sent no CORS headers/);
    assert.match(explanation, /Keycloak sends no CORS headers for a client with only service accounts enabled/);
    assert.match(explanation, /AADSTS9002326/);
    const [failed] = await trace(page);
    assert.equal(failed.title, '1. token request (client_credentials)');
    assert.match(failed.summary, new RegExp(`^POST ${idpNoCors.tokenEndpoint} → no response: .+ in \\d+ ms$`));
    assert.equal(failed.response, null);
    assert.equal(idpNoCors.tokenRequests().length, 0, 'the browser blocked it at the preflight');
    await assertAccessible(page, 'the CORS explanation');
    await shot(page, 'cors-failure');

    await page.getByRole('button', { name: 'Retry through the relay', exact: true }).click();
    await tokenShown(page);
    assert.ok(await page.getByLabel('Send token requests through the local relay', { exact: true }).isChecked());
    const [exchange, ...more] = await trace(page);
    assert.deepEqual(more, []);
    assert.equal(exchange.relayed, 'via the relay');
    assert.match(exchange.summary, new RegExp(`^POST ${idpNoCors.tokenEndpoint} → HTTP 200 in \\d+ ms$`));
    assert.match(exchange.response, /^x-grantkit-relay: grantkit www, 127\.0\.0\.1:\d+$/m);
    const [sent, ...others] = idpNoCors.tokenRequests();
    assert.deepEqual(others, []);
    assert.equal(sent.headers.origin, undefined, 'the relay, not the browser, sent it');
    assert.equal(sent.body, 'grant_type=client_credentials');
    const token = await copiedToken(page);
    assert.equal(jose.decodeJwt(token).client_id, CC.client_id);
    // The relay logged the request, not its body or any secret.
    assert.match(www.output.stderr, new RegExp(`grantkit www: relay POST ${idpNoCors.tokenEndpoint} -> 200 \\(\\d+ ms\\)\\n`));
    for (const secret of secrets) assert.ok(!www.output.stderr.includes(secret));
    assert.ok(!www.output.stderr.includes('grant_type'));
    await shot(page, 'cors-relay');
  }));

  test('JWT bearer with a key file read in the page', () => inPage([idp.issuer], async (page) => {
    await choose(page, 'Any OAuth server', 'JWT bearer with a key file');
    await type(page, { 'Token endpoint': idp.tokenEndpoint, 'Service account ID': 'svc-fixture', 'Client ID': CLIENTS.serviceAccount.client_id, Scope: 'api:read' });
    // A public key cannot sign: grantkit says so next to the file, before any request.
    const keyFile = page.getByLabel('Private key file', { exact: true });
    await keyFile.setInputFiles(path.join(FIXTURES, 'rsa2048.public.jwk.json'));
    await page.waitForFunction(() => document.getElementById('f-key-error').textContent !== '');
    assert.match(await page.locator('#f-key-error').textContent(), /public/i);
    assert.equal(await keyFile.getAttribute('aria-invalid'), 'true');
    await keyFile.setInputFiles(path.join(FIXTURES, 'rsa2048.jwk.json'));
    await page.waitForFunction(() => document.getElementById('f-key-error').textContent === '');
    assert.equal(await page.locator('#f-key-hint').textContent(), 'Loaded: rsa2048.jwk.json. A JWK (key.jwk) or PEM file. It is read in this page and never uploaded.');
    idp.resetRequests();
    await getTokenButton(page).click();
    await tokenShown(page);
    assert.equal((await claims(page, '#jwt-claims')).sub, 'svc-fixture');
    const [sent] = idp.tokenRequests();
    const assertion = new URLSearchParams(sent.body).get('assertion');
    secrets.add(assertion);
    const [exchange] = await trace(page);
    assert.equal(exchange.title, '1. token request (jwt-bearer)');
    assert.match(exchange.request, /\n\ngrant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=JWT \{.*"sub":"svc-fixture".*\} signature ••••&/);
    assert.ok(!exchange.request.includes(assertion.split('.')[2]), 'the signature is not in the trace');
    // The key never left the page: only the token request went out, and it holds no key material.
    for (const part of [JWK.d, JWK.p, JWK.q]) assert.ok(!sent.body.includes(part));
    await copiedToken(page);
    await shot(page, 'jwt-bearer');
  }));

  test('ACP login through the relay (the session cookie carried by grantkit\'s jar)', () => inPage([acp.platformUrl], async (page) => {
    await choose(page, 'Alauda ACP', 'ACP login');
    await type(page, { 'Platform URL': acp.platformUrl, Username: 'admin', Password: ACP_PASSWORD });
    // Cross-origin, without the relay: grantkit refuses before sending anything.
    const formError = page.locator('#form-error');
    assert.equal(await formError.textContent(), `the ACP login needs the page to be same-origin with the platform: this page is ${www.origin}, the platform is ${acp.platformUrl}; `
      + 'serve the page from the platform, pass a fetch that carries the session cookie (a relay), or run the login in Node, Deno, Bun or a worker runtime Turn on the relay below.');
    await page.getByLabel('Send token requests through the local relay', { exact: true }).check();
    assert.equal(await formError.textContent(), '');
    const before = acp.requests.length;
    await getTokenButton(page).click();
    await tokenShown(page);
    const exchanges = await trace(page);
    assert.equal(exchanges.length, 5);
    exchanges.forEach((e, i) => {
      assert.match(e.title, new RegExp(`^${i + 1}\\. ACP step ${i + 1} \\(.+\\)$`));
      assert.equal(e.relayed, 'via the relay');
    });
    assert.ok(!exchanges[3].request.includes(ACP_PASSWORD));
    const requests = acp.requests.slice(before);
    assert.deepEqual(requests.map((r) => r.response.status), [200, 200, 200, 200, 200]);
    assert.match(requests[4].headers.cookie, new RegExp(`^${FLOW_COOKIE}=`));
    assert.equal(requests[0].headers.origin, undefined);
    const token = await copiedToken(page);
    assert.equal(token, acp.state.tokens.at(-1).access_token);
    assert.equal((await claims(page, '#jwt-claims')).sub, jose.decodeJwt(token).sub);
    await shot(page, 'acp-relay');
  }));

  test('the form: derived endpoints, the provider\'s rules as you type, labels, keyboard', () => inPage([idp.issuer], async (page, session) => {
    await choose(page, 'Keycloak', 'Device authorization');
    await type(page, { 'Base URL': 'https://sso.example.com', Realm: 'ops' });
    assert.equal(await page.getByLabel('Token endpoint', { exact: true }).inputValue(), 'https://sso.example.com/realms/ops/protocol/openid-connect/token');
    await page.waitForFunction(() => document.getElementById('f-deviceAuthorizationEndpoint').value !== '');
    assert.equal(await page.getByLabel('Device authorization endpoint', { exact: true }).inputValue(), 'https://sso.example.com/realms/ops/protocol/openid-connect/auth/device');
    // Entra: client credentials need a scope ending in /.default, checked as you type by grantkit.
    await choose(page, 'Microsoft Entra ID', 'Client credentials');
    await type(page, { Tenant: 'contoso.onmicrosoft.com', 'Client ID': '00000000-0000-0000-0000-000000000000', 'Client secret': 'entra-secret-1', Scope: 'api://reports/read' });
    secrets.add('entra-secret-1');
    assert.equal(await page.getByLabel('Token endpoint', { exact: true }).inputValue(), 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token');
    const scope = page.getByLabel('Scope', { exact: true });
    assert.equal(await page.locator('#f-scope-error').textContent(), 'invalid configuration: scope: Microsoft Entra ID client credentials need a scope ending in /.default (for example api://<app-id>/.default)');
    assert.equal(await scope.getAttribute('aria-invalid'), 'true');
    await scope.fill('api://reports/.default');
    assert.equal(await page.locator('#f-scope-error').textContent(), '');
    assert.equal(await scope.getAttribute('aria-invalid'), null);
    await shot(page, 'entra-rules-360');
    // Each flow shows exactly its fields, each labelled by its accessible name.
    const fields = async () => page.locator('#fields label').allTextContents();
    await choose(page, 'Any OAuth server', 'Password (resource owner)');
    assert.deepEqual(await fields(), ['Token endpoint', 'Client ID', 'Client secret', 'Username', 'Password', 'Scope', 'Revocation endpoint', 'Introspection endpoint']);
    for (const label of await fields()) assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, label);
    await choose(page, 'Any OAuth server', 'Client credentials');
    assert.deepEqual(await fields(), ['Token endpoint', 'Client ID', 'Client secret', 'Client authentication', 'Scope', 'Revocation endpoint', 'Introspection endpoint']);
    await choose(page, 'Any OAuth server', 'Authorization code (PKCE)');
    assert.deepEqual(await fields(), [
      'Authorization endpoint', 'Token endpoint', 'Client ID', 'Client secret', 'Redirect URI', 'Scope', 'Issuer of the ID token', 'JWKS URI', 'Revocation endpoint', 'Introspection endpoint',
    ]);
    for (const label of await fields()) assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, label);
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
    // The openid scope needs the issuer: grantkit says so next to the field it names. Its keys
    // (jwksUri) grantkit reads from the issuer's metadata when the field is empty.
    await type(page, { 'Authorization endpoint': idp.authorizationEndpoint, 'Token endpoint': idp.tokenEndpoint, 'Client ID': CLIENTS.wwwLogin.client_id, Scope: 'openid' });
    assert.match(await page.locator('#f-loginIssuer-error').textContent(), /^invalid configuration: issuer: /);
    assert.equal(await page.getByLabel('Issuer of the ID token', { exact: true }).getAttribute('aria-invalid'), 'true');
    await type(page, { 'Issuer of the ID token': idp.issuer });
    assert.equal(await page.locator('#f-jwksUri-error').textContent(), '');
    assert.equal(await page.locator('#f-loginIssuer-error').textContent(), '');
    await type(page, { 'JWKS URI': 'ftp://keys.example.com/jwks' });
    assert.match(await page.locator('#f-jwksUri-error').textContent(), /^invalid configuration: jwksUri: /);
    await type(page, { 'JWKS URI': idp.jwksUri });
    assert.equal(await page.locator('#form-error').textContent(), '');
    // Keyboard: the sign-in form in order, from the flow to Sign in.
    await page.getByLabel('Flow', { exact: true }).focus();
    const signInOrder = [];
    for (let i = 0; i < 16; i += 1) {
      signInOrder.push(await page.evaluate(() => document.activeElement.id));
      await page.keyboard.press('Tab');
    }
    assert.deepEqual(signInOrder, [
      'flow', 'discover-issuer', 'discover', 'f-authorizationEndpoint', 'f-tokenEndpoint', 'f-clientId', 'f-clientSecret', 'f-redirectUri', 'f-scope',
      'f-loginIssuer', 'f-jwksUri', 'f-revocationEndpoint', 'f-introspectionEndpoint', 'dpop', 'relay', 'run',
    ]);
    await choose(page, 'PingOne Advanced Identity Cloud');
    assert.deepEqual(await fields(), ['Tenant', 'Token endpoint', 'Private key file', 'Service account ID', 'Subject', 'Audience', 'Client ID', 'Scope']);
    await choose(page, 'Alauda ACP');
    assert.deepEqual(await fields(), ['Platform URL', 'Username', 'Password', 'Connector']);
    // AcpLogin takes no dpop option: no switch (hidden, so out of the Tab order too).
    assert.equal(await dpopSwitch(page).isHidden(), true);
    await assertAccessible(page, 'the ACP form');
    // Keyboard only: Tab goes through the form in order, Enter runs it.
    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, {
      'Token endpoint': idp.tokenEndpoint, 'Client ID': CC.client_id, 'Client secret': CC.client_secret, Scope: '', 'Introspection endpoint': idp.introspectionEndpoint,
    });
    await page.getByLabel('Provider', { exact: true }).focus();
    const order = [];
    for (let i = 0; i < 14; i += 1) {
      order.push(await page.evaluate(() => document.activeElement.id));
      await page.keyboard.press('Tab');
    }
    assert.deepEqual(order, [
      'provider', 'flow', 'discover-issuer', 'discover', 'f-tokenEndpoint', 'f-clientId', 'f-clientSecret', 'f-clientAuth', 'f-scope', 'f-revocationEndpoint', 'f-introspectionEndpoint', 'dpop', 'relay', 'run',
    ]);
    assert.equal(await dpopSwitch(page).isVisible(), true);
    idp.resetRequests();
    for (let i = 0; i < 4; i += 1) await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-introspectionEndpoint');
    await page.keyboard.press('Enter'); // in a text field: submits the form
    await tokenShown(page);
    // After the token: its buttons in order, Enter on Introspect asks the server.
    await page.locator('#token').getByRole('button', { name: 'Copy token', exact: true }).focus();
    const tokenOrder = [];
    for (let i = 0; i < 3; i += 1) {
      tokenOrder.push(await page.evaluate(() => document.activeElement.textContent));
      await page.keyboard.press('Tab');
    }
    assert.deepEqual(tokenOrder, ['Copy token', 'Introspect', 'Revoke']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.locator('#token-action-status').filter({ hasText: 'The server says the access token is active.' }).waitFor();
    assert.equal(idp.tokenRequests().length, 1);
    await copiedToken(page);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360);
    await assertClean(session, [idp.issuer]);

    // Non-secret fields are remembered, secrets are not.
    await page.reload();
    await page.locator('#provider option').first().waitFor({ state: 'attached' });
    assert.equal(await page.getByLabel('Provider', { exact: true }).inputValue(), 'generic');
    assert.equal(await page.getByLabel('Token endpoint', { exact: true }).inputValue(), idp.tokenEndpoint);
    assert.equal(await page.getByLabel('Client ID', { exact: true }).inputValue(), CC.client_id);
    assert.equal(await page.getByLabel('Client secret', { exact: true }).inputValue(), '');
  }, { width: 360, height: 800 }));
});

describe('revoking and introspecting the token of a run', () => {
  /** The introspection answer as listed: { member: text }. */
  const introspection = (page) => page.locator('#introspection').evaluate((dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  const button = (page, name) => page.locator('#token').getByRole('button', { name, exact: true });
  const actionStatus = (page, text) => page.locator('#token-action-status').filter({ hasText: text }).waitFor();

  test('client credentials: Introspect says active with its scope; Revoke; Introspect says active: false; both in the trace', () => inPage([idp.issuer], async (page) => {
    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, {
      'Token endpoint': idp.tokenEndpoint, 'Client ID': CC.client_id, 'Client secret': CC.client_secret, Scope: 'api:read', 'Revocation endpoint': idp.revocationEndpoint, 'Introspection endpoint': idp.introspectionEndpoint,
    });
    await getTokenButton(page).click();
    await tokenShown(page);
    const token = await copiedToken(page);
    const { exp, iat } = jose.decodeJwt(token);

    await button(page, 'Introspect').click();
    await actionStatus(page, 'The server says the access token is active.');
    const time = (t) => `${t} (${new Date(t * 1000).toISOString()})`;
    assert.deepEqual(await introspection(page), {
      active: 'true', aud: RESOURCE, client_id: CC.client_id, exp: time(exp), iat: time(iat), iss: idp.issuer, scope: 'api:read', token_type: 'Bearer',
    });
    await assertAccessible(page, 'an introspection answer');
    await shot(page, 'introspect-active');

    await button(page, 'Revoke').click();
    await actionStatus(page, 'Revoked: the server accepted the access token.');
    assert.equal(await page.locator('#introspection').evaluate((dl) => dl.children.length), 0, 'the old answer is gone');
    await button(page, 'Introspect').click();
    await actionStatus(page, 'The server says the access token is not active.');
    assert.deepEqual(await introspection(page), { active: 'false' });
    assert.equal(await page.locator('#token-action-error').textContent(), '');

    const exchanges = await trace(page);
    assert.deepEqual(exchanges.map((e) => e.title), [
      '1. token request (client_credentials)', '2. introspection request', '3. revocation request (access_token)', '4. introspection request',
    ]);
    assert.match(exchanges[1].summary, new RegExp(`^POST ${idp.introspectionEndpoint} → HTTP 200 in \\d+ ms$`));
    assert.match(exchanges[2].summary, new RegExp(`^POST ${idp.revocationEndpoint} → HTTP 200 in \\d+ ms$`));
    for (const exchange of exchanges.slice(1)) {
      assert.match(exchange.request, /^authorization: Basic ••••$/im);
      assert.ok(!JSON.stringify(exchange).includes(token), 'the token is masked in the trace');
    }
    await shot(page, 'introspect-revoked');
  }));

  test('grantkit\'s errors with their codes: no revocation endpoint; an endpoint answering an OAuth error', () => inPage([idp.issuer], async (page) => {
    await choose(page, 'Any OAuth server', 'Client credentials');
    // The token endpoint as the introspection endpoint: it answers 400 invalid_request.
    await type(page, {
      'Token endpoint': idp.tokenEndpoint, 'Client ID': CC.client_id, 'Client secret': CC.client_secret, Scope: 'api:read', 'Introspection endpoint': idp.tokenEndpoint,
    });
    await getTokenButton(page).click();
    await tokenShown(page);
    await copiedToken(page);
    await button(page, 'Revoke').click();
    await page.locator('#token-action-error').filter({ hasText: /^INVALID_CONFIG: / }).waitFor();
    assert.match(await page.locator('#token-action-error').textContent(), /revocationEndpoint/);
    assert.equal((await trace(page)).length, 1, 'nothing was sent');
    await button(page, 'Introspect').click();
    await page.locator('#token-action-error').filter({ hasText: /^OAUTH_ERROR: / }).waitFor();
    assert.equal(await page.locator('#token-action-error').textContent(), 'OAUTH_ERROR: the server answered invalid_request (HTTP 400): missing required parameter \'grant_type\'');
    assert.equal(await page.locator('#token-action-status').textContent(), '');
    assert.equal(await page.locator('#introspection').evaluate((dl) => dl.children.length), 0);
    const [, introspection] = await trace(page);
    assert.match(introspection.summary, / → HTTP 400 invalid_request in \d+ ms$/);
  }));
});

describe('DPoP (RFC 9449): tokens bound to a key pair made in the page', () => {
  /** The DPoP line of an exchange's request, as the trace shows it. */
  const proofLine = (exchange) => /^DPoP: (.*)$/m.exec(exchange.request)?.[1];

  /** A recorded request's proof, verified on the key in its own header (as a server does): header, claims, the key's thumbprint. */
  async function proofOf(request) {
    const { payload, protectedHeader } = await jose.jwtVerify(request.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    secrets.add(request.headers.dpop); // short-lived, but a credential: never shown raw
    return { header: protectedHeader, claims: payload, jkt: await jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256') };
  }

  /** The trace's text of a proof: the core's decoding, members sorted, the signature masked. */
  function decoded({ header, claims: proofClaims }) {
    const sorted = (object) => Object.fromEntries(Object.keys(object).sort().map((name) => [name, object[name]]));
    return `JWT ${JSON.stringify(sorted({ ...header, jwk: sorted(header.jwk) }))} ${JSON.stringify(sorted(proofClaims))} signature ••••`;
  }

  async function clientCredentials(page, server, fields = {}) {
    await choose(page, 'Any OAuth server', 'Client credentials');
    await type(page, { 'Token endpoint': server.tokenEndpoint, 'Client ID': CC.client_id, 'Client secret': CC.client_secret, Scope: 'api:read', ...fields });
  }

  test('client credentials: token_type DPoP; the proof decoded in the trace, never raw; Introspect shows cnf.jkt; an API call with Authorization: DPoP', () => inPage([idp.issuer, rs.origin], async (page) => {
    await clientCredentials(page, idp, { 'Introspection endpoint': idp.introspectionEndpoint });
    assert.equal(await dpopSwitch(page).isChecked(), false, 'off by default');
    await dpopSwitch(page).check();
    assert.equal(await page.locator('#form-error').textContent(), '');
    idp.resetRequests();
    await getTokenButton(page).click();
    await tokenShown(page);
    const token = await copiedToken(page);
    const [sent, ...others] = idp.tokenRequests();
    assert.deepEqual(others, []);
    const proof = await proofOf(sent);
    assert.deepEqual(Object.keys(proof.claims), ['jti', 'htm', 'htu', 'iat']);
    assert.equal(proof.claims.htu, idp.tokenEndpoint);
    assert.equal(await page.locator('#token-type').textContent(), 'DPoP: bound to this page\'s key pair (usable only with a proof signed by that key)');
    assert.deepEqual((await claims(page, '#jwt-claims')).cnf, { jkt: proof.jkt });

    // The trace: the proof decoded as the core decodes assertions, its signature masked; curl takes it from a variable.
    const [exchange] = await trace(page);
    assert.equal(proofLine(exchange), decoded(proof));
    assert.equal(JSON.parse(proofLine(exchange).split(' ')[1]).typ, 'dpop+jwt');
    assert.ok(!JSON.stringify(exchange).includes(sent.headers.dpop.split('.')[2]), 'no signature of the proof in the trace');
    assert.match(exchange.curl, /\$DPOP/);
    await assertAccessible(page, 'a DPoP token');
    await shot(page, 'dpop-token');

    await page.locator('#token').getByRole('button', { name: 'Introspect', exact: true }).click();
    await page.locator('#token-action-status').filter({ hasText: 'The server says the access token is active.' }).waitFor();
    const listed = await page.locator('#introspection').evaluate((dl) => Object.fromEntries([...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    assert.equal(listed.cnf, JSON.stringify({ jkt: proof.jkt }), 'bound to the page\'s key');
    assert.equal(listed.token_type, 'DPoP');

    // authorizedFetch: the token as DPoP, a proof of the call with the token's hash, the same key.
    await page.getByText('Call an API', { exact: true }).click();
    await type(page, { 'API URL': `${rs.url}/reports` });
    await page.getByRole('button', { name: 'Send request', exact: true }).click();
    await page.locator('#api-response').waitFor({ state: 'visible' });
    assert.match(await page.locator('#api-response-status').textContent(), /^HTTP 200 OK in \d+ ms$/);
    const call = rs.calls.at(-1);
    assert.equal(call.headers.authorization, `DPoP ${token}`);
    assert.equal(call.dpop.jkt, proof.jkt);
    assert.equal(call.dpop.claims.htu, `${rs.url}/reports`);
    const exchanges = await trace(page);
    assert.deepEqual(exchanges.map((e) => e.title), ['1. token request (client_credentials)', '2. introspection request', '3. API call']);
    assert.match(exchanges[2].request, /^authorization: DPoP [\w-]{10}…$/im);
    assert.match(proofLine(exchanges[2]), /^JWT \{"alg":"ES256",.*"typ":"dpop\+jwt"\} \{"ath":"[\w-]{43}","htm":"GET",/);
    await shot(page, 'dpop-api-call');
  }));

  test('a server that demands a nonce: the token request once more with it, from the browser and through the relay', () => inPage([idpNonce.issuer], async (page) => {
    await clientCredentials(page, idpNonce);
    await dpopSwitch(page).check();
    for (const viaRelay of [false, true]) {
      await page.getByLabel('Send token requests through the local relay', { exact: true }).setChecked(viaRelay);
      idpNonce.resetRequests();
      await getTokenButton(page).click();
      await tokenShown(page);
      await copiedToken(page);
      assert.match(await page.locator('#token-type').textContent(), /^DPoP: /);
      const [demand, retry, ...more] = await trace(page);
      assert.deepEqual(more, []);
      assert.deepEqual([demand.title, retry.title], ['1. token request (client_credentials)', '2. token request (client_credentials)']);
      assert.deepEqual([demand.relayed, retry.relayed], viaRelay ? ['via the relay', 'via the relay'] : [null, null]);
      assert.match(demand.summary, / → HTTP 400 use_dpop_nonce in \d+ ms$/);
      assert.match(retry.summary, / → HTTP 200 in \d+ ms$/);
      // From the browser the page reads DPoP-Nonce because oidc-provider lists it in
      // Access-Control-Expose-Headers, as RFC 9449 §8 asks of servers.
      const nonce = /^dpop-nonce: (.+)$/im.exec(demand.response)?.[1];
      assert.match(nonce ?? '', /^[\w-]+$/);
      const [first, second, ...again] = idpNonce.tokenRequests();
      assert.deepEqual(again, []);
      assert.equal(second.headers.origin, viaRelay ? undefined : www.origin);
      const [p1, p2] = [await proofOf(first), await proofOf(second)];
      assert.equal(p1.claims.nonce, undefined);
      assert.equal(p2.claims.nonce, nonce);
      assert.equal(p2.jkt, p1.jkt, 'the same key');
      assert.notEqual(p2.claims.jti, p1.claims.jti);
      assert.equal(proofLine(demand), decoded(p1));
      assert.equal(proofLine(retry), decoded(p2));
      await shot(page, `dpop-nonce${viaRelay ? '-relay' : ''}`);
    }
  }));

  test('a nonce the browser may not read (DPoP-Nonce not exposed by CORS): the failure explained, then the token through the relay', () => inPage([idpNonce.issuer], async (page) => {
    // A server that sends DPoP-Nonce without Access-Control-Expose-Headers: the real answer, the header removed in the browser.
    await page.route(idpNonce.tokenEndpoint, async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      assert.match(headers['access-control-expose-headers'] ?? '', /\bDPoP-Nonce\b/i, 'oidc-provider exposes it');
      delete headers['access-control-expose-headers'];
      await route.fulfill({ response, headers });
    });
    await clientCredentials(page, idpNonce);
    await dpopSwitch(page).check();
    idpNonce.resetRequests();
    await getTokenButton(page).click();
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#problem-code').textContent(), 'OAUTH_ERROR · HTTP 400 · use_dpop_nonce');
    assert.equal(await page.locator('#nonce-explanation').textContent(), 'The server demanded a DPoP nonce, but the browser did not let this page read it: '
      + 'for browser clients the server must list DPoP-Nonce in Access-Control-Expose-Headers (RFC 9449 §8). The local relay reads every header.');
    assert.equal(idpNonce.tokenRequests().length, 1, 'no retry without a nonce');
    const [demand, ...more] = await trace(page);
    assert.deepEqual(more, []);
    assert.doesNotMatch(demand.response, /dpop-nonce/i, 'hidden from the page');
    await assertAccessible(page, 'the nonce explanation');
    await shot(page, 'dpop-nonce-hidden');

    await page.getByRole('button', { name: 'Retry through the relay', exact: true }).click();
    await tokenShown(page);
    await copiedToken(page);
    assert.deepEqual((await trace(page)).map((e) => [e.title, e.relayed]), [
      ['1. token request (client_credentials)', 'via the relay'], ['2. token request (client_credentials)', 'via the relay'],
    ]);
  }));

  test('a server that does not bind the token (token_type Bearer): UNSUPPORTED_TOKEN_TYPE; with the switch off the same server is fine', () => inPage([idpNoDpop.issuer], async (page) => {
    await clientCredentials(page, idpNoDpop);
    await dpopSwitch(page).check();
    await getTokenButton(page).click();
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#problem-code').textContent(), 'UNSUPPORTED_TOKEN_TYPE');
    assert.match(await page.locator('#problem-message').textContent(), /^the server issued a token of type "Bearer" where DPoP was asked for: .*turn dpop off to accept Bearer tokens$/);
    assert.equal(await page.locator('#token').isHidden(), true, 'the unbound token is not used');
    await dpopSwitch(page).uncheck();
    await getTokenButton(page).click();
    await tokenShown(page);
    await copiedToken(page);
    assert.equal(await page.locator('#token-type').textContent(), 'Bearer');
    assert.equal(proofLine((await trace(page))[0]), undefined, 'no proof without DPoP');
  }));
});

describe('signing in: the authorization code flow with the page as its redirect target', () => {
  // oidc-provider's own login and consent pages (devInteractions) link a Google Fonts stylesheet.
  const ORIGINS = () => [idp.issuer, 'https://fonts.googleapis.com'];
  const signInButton = (page) => page.getByRole('button', { name: 'Sign in', exact: true });

  /** The sign-in form of "Any OAuth server", its endpoints discovered. */
  async function signInForm(page, fields) {
    await choose(page, 'Any OAuth server', 'Authorization code (PKCE)');
    await page.getByLabel('Issuer', { exact: true }).fill(idp.issuer);
    await page.getByRole('button', { name: 'Discover endpoints', exact: true }).click();
    await page.locator('#discovered dd').first().waitFor();
    await type(page, fields);
  }

  test('Sign in through the provider\'s pages and back: the token and ID token claims, the address bar cleaned, a reload replays nothing', () => inPage(ORIGINS(), async (page) => {
    await choose(page, 'Any OAuth server', 'Authorization code (PKCE)');
    assert.equal(await page.getByLabel('Redirect URI', { exact: true }).inputValue(), www.url, 'the page itself, by default');
    await signInForm(page, { 'Client ID': CLIENTS.wwwLogin.client_id, Scope: 'openid profile' });
    assert.equal(await page.getByLabel('Authorization endpoint', { exact: true }).inputValue(), idp.authorizationEndpoint);
    assert.equal(await page.getByLabel('JWKS URI', { exact: true }).inputValue(), idp.jwksUri, 'filled by discovery');
    assert.equal(await page.getByLabel('Token endpoint', { exact: true }).inputValue(), idp.tokenEndpoint);
    assert.equal(await page.getByLabel('Issuer of the ID token', { exact: true }).inputValue(), idp.issuer);
    assert.equal(await page.getByLabel('Revocation endpoint', { exact: true }).inputValue(), idp.revocationEndpoint);
    assert.equal(await page.locator('#form-error').textContent(), '');
    await assertAccessible(page, 'the sign-in form');
    idp.resetRequests();
    await signInButton(page).click();
    await signInOnProviderPages(page, idp.issuer);
    await tokenShown(page);
    assert.equal(page.url(), www.url, 'the code is gone from the address bar');
    const token = await copiedToken(page);
    assert.equal(jose.decodeJwt(token).sub, ALICE.username);
    const idClaims = await claims(page, '#id-token-claims');
    assert.equal(idClaims.sub, ALICE.username);
    assert.equal(idClaims.aud, CLIENTS.wwwLogin.client_id);
    assert.equal(idClaims.iss, idp.issuer);
    assert.equal(await page.locator('#token-id').textContent(), 'issued (not shown)');
    assert.equal(await page.locator('#problem').isHidden(), true);
    const [sent, ...others] = idp.tokenRequests();
    assert.deepEqual(others, []);
    const body = new URLSearchParams(sent.body);
    assert.deepEqual([...body.keys()], ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id']);
    assert.equal(body.get('redirect_uri'), www.url);
    secrets.add(body.get('code'));
    secrets.add(body.get('code_verifier'));
    assert.deepEqual((await trace(page)).map((e) => e.title), ['1. token request (authorization_code)', '2. issuer keys (jwks_uri)']);
    // The form's fields survived the trip (localStorage); the trip left nothing in sessionStorage.
    assert.equal(await page.getByLabel('Client ID', { exact: true }).inputValue(), CLIENTS.wwwLogin.client_id);
    assert.equal(await page.getByLabel('Scope', { exact: true }).inputValue(), 'openid profile');
    assert.equal(await page.getByLabel('JWKS URI', { exact: true }).inputValue(), idp.jwksUri);
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
    assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), []);
    await assertAccessible(page, 'signed in');
    await shot(page, 'signed-in');

    // A reload does not send the code again: nothing happens.
    await page.reload();
    await page.locator('#provider option').first().waitFor({ state: 'attached' });
    await sleep(500);
    assert.equal(await page.locator('#token').isHidden(), true);
    assert.equal(await page.locator('#problem').isHidden(), true);
    assert.equal(idp.tokenRequests().length, 1);
  }));

  test('a declined consent (error=access_denied): OAUTH_ERROR and the server\'s words, the address bar cleaned', () => inPage(ORIGINS(), async (page) => {
    await signInForm(page, { 'Client ID': CLIENTS.wwwLogin.client_id, Scope: 'openid', 'JWKS URI': idp.jwksUri });
    idp.resetRequests();
    await signInButton(page).click();
    await signInOnProviderPages(page, idp.issuer, { deny: true });
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(page.url(), www.url);
    assert.equal(await page.locator('#problem-title').textContent(), 'The sign-in failed');
    assert.equal(await page.locator('#problem-code').textContent(), 'OAUTH_ERROR · access_denied');
    assert.equal(await page.locator('#problem-message').textContent(), 'the authorization server refused the authorization (access_denied: End-User aborted interaction)');
    assert.equal(await page.locator('#problem-explanation').textContent(), 'The authorization server sent the browser back without a code: the sign-in or the consent was declined.The server says: End-User aborted interaction');
    assert.equal(idp.tokenRequests().length, 0);
    await assertAccessible(page, 'a declined sign-in');
    await shot(page, 'sign-in-denied');
  }));

  test('the server\'s words stay text; a code without this tab\'s pending login is refused', () => inPage(ORIGINS(), async (page) => {
    await signInForm(page, { 'Client ID': CLIENTS.wwwLogin.client_id, Scope: 'openid', 'JWKS URI': idp.jwksUri });
    // A server that answers with markup in error_description (the authorization endpoint stubbed in the browser).
    const markup = '<img src=x id=injected> & <b>bold</b>';
    await page.route(`${idp.authorizationEndpoint}?**`, (route) => {
      const asked = new URL(route.request().url());
      const back = new URL(asked.searchParams.get('redirect_uri'));
      back.search = new URLSearchParams({ error: 'access_denied', error_description: markup, state: asked.searchParams.get('state'), iss: idp.issuer }).toString();
      route.fulfill({ status: 302, headers: { location: back.href } });
    });
    await signInButton(page).click();
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#problem-code').textContent(), 'OAUTH_ERROR · access_denied');
    assert.ok((await page.locator('#problem-explanation q').textContent()).includes('<b>bold</b>'), 'shown as text');
    assert.equal(await page.locator('#injected, #problem b').count(), 0, 'never as markup');
    assert.equal(page.url(), www.url);

    // A redirect this tab did not begin (or a replayed one): grantkit finds no pending login, nothing is sent.
    idp.resetRequests();
    await page.goto(`${www.url}?code=replayed-code&state=AAAAAAAAAAAAAAAAAAAAAA&iss=${encodeURIComponent(idp.issuer)}`);
    await page.locator('#problem').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#problem-code').textContent(), 'AUTHORIZATION_PENDING_INVALID');
    assert.equal(page.url(), www.url);
    assert.equal(idp.tokenRequests().length, 0);
  }));

  test('through the relay, with DPoP: a provider without CORS; the relay carries the token request (its proof) and the keys, the browser the navigation', () => inPage([idpNoCors.issuer, 'https://fonts.googleapis.com'], async (page) => {
    await choose(page, 'Any OAuth server', 'Authorization code (PKCE)');
    await type(page, {
      'Authorization endpoint': idpNoCors.authorizationEndpoint,
      'Token endpoint': idpNoCors.tokenEndpoint,
      'Client ID': CLIENTS.wwwLogin.client_id,
      Scope: 'openid',
      'Issuer of the ID token': idpNoCors.issuer,
      'JWKS URI': idpNoCors.jwksUri,
    });
    await page.getByLabel('Send token requests through the local relay', { exact: true }).check();
    await dpopSwitch(page).check();
    idpNoCors.resetRequests();
    await signInButton(page).click();
    await signInOnProviderPages(page, idpNoCors.issuer);
    await tokenShown(page);
    const token = await copiedToken(page);
    assert.ok(await page.getByLabel('Send token requests through the local relay', { exact: true }).isChecked(), 'the setting survived the trip');
    assert.ok(await dpopSwitch(page).isChecked(), 'so did DPoP');
    assert.match(await page.locator('#token-type').textContent(), /^DPoP: /);
    const [sent, ...others] = idpNoCors.tokenRequests();
    assert.deepEqual(others, []);
    secrets.add(sent.headers.dpop);
    const { protectedHeader } = await jose.jwtVerify(sent.headers.dpop, jose.EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    assert.deepEqual(jose.decodeJwt(token).cnf, { jkt: await jose.calculateJwkThumbprint(protectedHeader.jwk, 'sha256') }, 'the code exchanged with a proof: the token bound to its key');
    const exchanges = await trace(page);
    assert.deepEqual(exchanges.map((e) => [e.title, e.relayed]), [['1. token request (authorization_code)', 'via the relay'], ['2. issuer keys (jwks_uri)', 'via the relay']]);
    assert.match(exchanges[0].request, /^DPoP: JWT \{"alg":"ES256",.*"typ":"dpop\+jwt"\} \{"htm":"POST","htu":"[^"]+\/token",/m);
    assert.equal((await claims(page, '#id-token-claims')).sub, ALICE.username);
  }));

  test('a confidential client: the secret is typed again after the return, never stored', () => inPage(ORIGINS(), async (page) => {
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.wwwLoginConfidential;
    await signInForm(page, { 'Client ID': clientId, 'Client secret': clientSecret, Scope: 'openid offline_access', 'JWKS URI': idp.jwksUri });
    idp.resetRequests();
    await signInButton(page).click();
    await signInOnProviderPages(page, idp.issuer);
    const complete = page.getByRole('button', { name: 'Complete sign-in', exact: true });
    await complete.waitFor();
    assert.equal(page.url(), www.url);
    assert.equal(await page.locator('#sign-in-note').textContent(), 'The authorization server sent you back. Type the client secret again (it is never stored), then press Complete sign-in.');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-clientSecret');
    assert.equal(await page.getByLabel('Client secret', { exact: true }).inputValue(), '');
    assert.equal(idp.tokenRequests().length, 0);
    await page.keyboard.type(clientSecret);
    await complete.click();
    await tokenShown(page);
    await copiedToken(page);
    const [sent] = idp.tokenRequests();
    assert.equal(sent.headers.authorization, `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`);
    assert.equal(await page.locator('#sign-in-note').textContent(), '');
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
    // Introspect and Revoke on the signed-in user's token, as that client (Basic).
    await page.getByRole('button', { name: 'Introspect', exact: true }).click();
    await page.locator('#token-action-status').filter({ hasText: 'The server says the access token is active.' }).waitFor();
    assert.match(await page.locator('#introspection').innerText(), new RegExp(`^active\\s+true\\s.*client_id\\s+${clientId}\\s.*sub\\s+alice\\s`, 's'));
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.locator('#token-action-status').filter({ hasText: 'Revoked: the server accepted the access token.' }).waitFor();
    await page.getByRole('button', { name: 'Introspect', exact: true }).click();
    await page.locator('#token-action-status').filter({ hasText: 'The server says the access token is not active.' }).waitFor();
    assert.deepEqual((await trace(page)).map((e) => e.title), [
      '1. token request (authorization_code)', '2. issuer keys (jwks_uri)', '3. introspection request', '4. revocation request (access_token)', '5. introspection request',
    ]);
  }));
});

describe('the relay of grantkit www', () => {
  const relayToken = async () => /<meta name="grantkit-relay" content="([^"]+)">/.exec(await (await fetch(www.url)).text())[1];
  const call = (pathname, body, headers = {}) => fetch(new URL(pathname, www.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: www.origin, ...headers },
    body: JSON.stringify(body),
  });

  test('answers only its own page: the Origin, the token and the Host are checked', async () => {
    const token = await relayToken();
    const ok = await call('/relay/endpoints', { endpoints: [idp.tokenEndpoint] }, { 'x-grantkit-relay-token': token });
    assert.equal(ok.status, 204);
    const refusals = [
      [await call('/relay/endpoints', { endpoints: [] }), 403, 'the relay token is missing or wrong (reload the page)'],
      [await call('/relay/endpoints', { endpoints: [] }, { 'x-grantkit-relay-token': `${token.slice(1)}x` }), 403, 'the relay token is missing or wrong (reload the page)'],
      [await call('/relay/endpoints', { endpoints: [] }, { 'x-grantkit-relay-token': token, origin: 'https://evil.example' }), 403, 'the relay answers only the page it served'],
      [await call('/relay/endpoints', { endpoints: [] }, { 'x-grantkit-relay-token': token, origin: 'null' }), 403, 'the relay answers only the page it served'],
    ];
    for (const [response, status, error] of refusals) {
      assert.equal(response.status, status);
      assert.deepEqual(await response.json(), { error });
    }
    // A DNS-rebound name: the page itself is not served under it.
    const { port } = new URL(www.url);
    const rebound = await new Promise((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: `rebound.example:${port}` } }, (res) => { res.resume(); resolve(res.statusCode); });
        req.on('error', reject);
        req.end();
      });
    });
    assert.equal(rebound, 421);
  });

  test('forwards only to the registered endpoints, https or loopback, and follows no redirect', async () => {
    const token = await relayToken();
    const auth = { 'x-grantkit-relay-token': token };
    const registered = await call('/relay/endpoints', { endpoints: [`${rs.origin}/redirect-away`] }, auth);
    assert.equal(registered.status, 204);
    const other = await call('/relay', { url: idp.tokenEndpoint, method: 'POST', headers: [], body: 'grant_type=client_credentials' }, auth);
    assert.equal(other.status, 403);
    assert.deepEqual(await other.json(), { error: `${idp.tokenEndpoint} is not an endpoint of this run` });
    const plain = await call('/relay/endpoints', { endpoints: ['http://sso.example.com/token'] }, auth);
    assert.equal(plain.status, 403);
    assert.deepEqual(await plain.json(), { error: 'http://sso.example.com: the relay forwards to https only (plain http to loopback)' });
    const redirect = await call('/relay', { url: `${rs.origin}/redirect-away?to=${encodeURIComponent('https://elsewhere.example/')}`, method: 'GET', headers: [] }, auth);
    assert.equal(redirect.status, 200);
    const answer = await redirect.json();
    assert.equal(answer.status, 302);
    assert.deepEqual(answer.headers.find(([name]) => name === 'location'), ['location', 'https://elsewhere.example/']);
    assert.deepEqual(answer.headers.at(-1), ['x-grantkit-relay', `grantkit www, 127.0.0.1:${new URL(www.url).port}`]);
  });

  test('passes a DPoP proof on and the server\'s DPoP-Nonce back', async () => {
    const auth = { 'x-grantkit-relay-token': await relayToken() };
    assert.equal((await call('/relay/endpoints', { endpoints: [idpNonce.tokenEndpoint] }, auth)).status, 204);
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
    const proof = await new jose.SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: idpNonce.tokenEndpoint })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await jose.exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const { client_id: clientId, client_secret: clientSecret } = CLIENTS.ccPost;
    idpNonce.resetRequests();
    const relayed = await call('/relay', {
      url: idpNonce.tokenEndpoint,
      method: 'POST',
      headers: [['content-type', 'application/x-www-form-urlencoded'], ['DPoP', proof]],
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
    }, auth);
    assert.equal(relayed.status, 200);
    const answer = await relayed.json();
    assert.equal(answer.status, 400);
    assert.equal(JSON.parse(Buffer.from(answer.body, 'base64').toString('utf8')).error, 'use_dpop_nonce');
    assert.match(answer.headers.find(([name]) => name === 'dpop-nonce')?.[1] ?? '', /^[\w-]+$/);
    const [sent] = idpNonce.tokenRequests();
    assert.equal(sent.headers.dpop, proof);
    assert.equal(sent.headers.origin, undefined);
  });
});
