// AuthorizationCode in Chromium: a tiny page of a test server imports the
// PACKED package's browser entry, calls authorizationUrl() and navigates; the
// user signs in through oidc-provider's own login and consent pages (typed by
// playwright); the redirect page calls complete() and shows the outcome. The
// pending login lives in sessionStorage only, and is gone once used.
//
//   make test-www      (builds target/npm/grantkit.tgz, runs tests/www/setup.sh, then this)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { CLIENTS, startIdp } from '../idp/server.mjs';
import { signInOnProviderPages } from './provider_pages.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TARBALL = path.join(ROOT, 'target', 'npm', 'grantkit.tgz');
const SCRATCH = path.join(HERE, '.tmp-authcode');
const CHROMIUM = '/usr/bin/chromium';
const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };

let idp;
let site;
let browser;

/** The page of both ends: begins a login on /start, completes it on /callback. */
function page(config, script) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>login test</title></head><body>
<pre id="out">working</pre>
<script type="module">
import { AuthorizationCode } from "/pkg/index.browser.js";
const config = ${JSON.stringify(config)};
const out = document.getElementById("out");
try {
  ${script}
} catch (e) {
  out.dataset.error = e.code ?? String(e);
  out.textContent = "failed";
}
</script></body></html>`;
}

/** A test site on 127.0.0.1 serving the installed package at /pkg/. */
async function startSite(pkgDir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const config = {
      authorizationEndpoint: idp.authorizationEndpoint,
      tokenEndpoint: idp.tokenEndpoint,
      issuer: idp.issuer,
      jwksUri: idp.jwksUri,
      clientId: CLIENTS.loginPublic.client_id,
      redirectUri: `http://127.0.0.1:${server.address().port}/callback`,
      scope: url.searchParams.get('scope') ?? 'openid profile',
      authorizationResponseIssParameterSupported: true,
    };
    if (url.pathname === '/start') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page(config, 'location.assign(await new AuthorizationCode(config).authorizationUrl());'));
    } else if (url.pathname === '/callback') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page(config, `
  const tokens = await new AuthorizationCode(config).complete();
  const claims = JSON.parse(atob(tokens.id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  out.dataset.sub = claims.sub;
  out.dataset.accessToken = tokens.access_token;
  out.textContent = "signed in";`));
    } else if (url.pathname === '/blank') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>blank</title>');
    } else if (url.pathname.startsWith('/pkg/')) {
      const file = path.join(pkgDir, path.normalize(url.pathname.slice('/pkg/'.length)));
      if (!file.startsWith(pkgDir) || !fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) };
}

before(async () => {
  fs.rmSync(SCRATCH, { recursive: true, force: true });
  fs.mkdirSync(SCRATCH, { recursive: true });
  fs.writeFileSync(path.join(SCRATCH, 'package.json'), '{ "name": "grantkit-authcode-scratch", "version": "0.0.0", "private": true }\n');
  execFileSync('npm', ['install', '--prefix', SCRATCH, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', TARBALL], { stdio: ['ignore', 'ignore', 'inherit'] });
  idp = await startIdp();
  site = await startSite(path.join(SCRATCH, 'node_modules', 'grantkit'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
});

after(async () => {
  await Promise.all([browser?.close(), site?.close(), idp?.close()]);
});

describe('AuthorizationCode in Chromium', () => {
  test('authorizationUrl(), the provider\'s login and consent pages, complete() on the redirect page', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const errors = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(`${site.origin}/start`);
    await signInOnProviderPages(tab, idp.issuer);
    await tab.waitForURL(`${site.origin}/callback?**`);
    const out = tab.locator('#out');
    await out.filter({ hasText: /signed in|failed/ }).waitFor();
    assert.equal(await out.getAttribute('data-error'), null, `error: ${await out.getAttribute('data-error')} ${errors}`);
    assert.equal(await out.getAttribute('data-sub'), 'alice');
    assert.ok(await out.getAttribute('data-access-token'));
    // The pending login was taken out of sessionStorage when used; nothing
    // else was kept anywhere.
    const storage = await tab.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }));
    assert.deepEqual(storage, { session: 0, local: 0 });

    // Reloading the redirect page finds no pending login: the code is not reused.
    await tab.reload();
    await out.filter({ hasText: /signed in|failed/ }).waitFor();
    assert.equal(await out.getAttribute('data-error'), 'AUTHORIZATION_PENDING_INVALID');
    await context.close();
  });

  test('while the user is away, sessionStorage holds one pending login under its state', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`${site.origin}/start`);
    await tab.waitForURL(`${idp.issuer}/interaction/**`);
    await tab.goto(`${site.origin}/blank`); // the site's origin, where its sessionStorage is
    const keys = await tab.evaluate(() => Object.keys(sessionStorage));
    assert.equal(keys.length, 1);
    assert.match(keys[0], /^grantkit:login:[A-Za-z0-9_-]{22}$/);
    const value = await tab.evaluate((k) => sessionStorage.getItem(k), keys[0]);
    assert.match(value, /^gk1\./);
    await context.close();
  });

  test('a denied consent comes back as OAUTH_ERROR', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`${site.origin}/start`);
    await signInOnProviderPages(tab, idp.issuer, { deny: true });
    await tab.waitForURL(`${site.origin}/callback?**`);
    const out = tab.locator('#out');
    await out.filter({ hasText: /signed in|failed/ }).waitFor();
    assert.equal(await out.getAttribute('data-error'), 'OAUTH_ERROR');
    await context.close();
  });
});
