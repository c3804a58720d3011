// Signs a user in at the local IdP the way a browser would, for the
// authorization code flow: follows the authorization URL through the
// provider's own login and consent pages (devInteractions) until the
// provider redirects away from itself, to the client's redirect URI. No back
// door into oidc-provider.
//
//   const { callbackUrl } = await signIn({ url, username: 'alice' });
//   // follow: true also requests the redirect URI (the CLI's loopback
//   // listener) and returns its answer: { callbackUrl, status, body }
//
// The pages (oidc-provider 9 devInteractions):
//   GET  /auth?...              -> /interaction/:uid (login form, prompt=login)
//   POST /interaction/:uid      -> /auth/:uid -> /interaction/:uid2 (consent form)
//   POST /interaction/:uid2     -> /auth/:uid2 -> redirect_uri?code=..&state=..&iss=..
// An error (access denied, an invalid request) also ends at the redirect URI,
// with error=...; `deny: true` aborts at the consent page.

import { CookieJar, pageText, pageTitle, parseForms } from './device_approve.mjs';

const MAX_STEPS = 20;

export async function signIn({
  url, username, password, follow = false, deny = false, timeoutMs = 10_000,
} = {}) {
  const start = new URL(url);
  const secret = password ?? (await import('./server.mjs')).USERS[username]?.password;
  const jar = new CookieJar();
  let request = { method: 'GET', url: start, body: undefined };
  const submitted = { login: false, consent: false };
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const headers = { accept: 'text/html' };
    const cookie = jar.header(request.url);
    if (cookie) headers.cookie = cookie;
    if (request.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(request.url, {
      method: request.method, headers, body: request.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
    });
    jar.store(request.url, res);
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      await res.arrayBuffer();
      const next = new URL(res.headers.get('location'), request.url);
      if (next.origin !== start.origin) {
        // The redirect to the client: the authorization response.
        if (!follow) return { callbackUrl: next.href };
        const answer = await fetch(next, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        return { callbackUrl: next.href, status: answer.status, body: await answer.text() };
      }
      request = { method: 'GET', url: next, body: undefined };
      continue;
    }
    const html = await res.text();
    const forms = parseForms(html);
    const promptOf = (f) => f.fields.find(([n, , t]) => n === 'prompt' && t === 'hidden')?.[1];
    const submit = (f, fields) => {
      request = {
        method: f.method, url: new URL(f.action ?? request.url.href, request.url), body: new URLSearchParams(fields.map(([n, v]) => [n, v])).toString(),
      };
    };
    const login = forms.find((f) => promptOf(f) === 'login');
    if (login && !submitted.login) {
      submitted.login = true;
      submit(login, login.fields.map(([n, v]) => [n, n === 'login' ? username : n === 'password' ? secret : v]));
      continue;
    }
    const consent = forms.find((f) => promptOf(f) === 'consent');
    if (consent && !submitted.consent) {
      submitted.consent = true;
      if (deny) {
        // devInteractions' consent page has an abort link: /interaction/:uid/abort.
        request = { method: 'GET', url: new URL(`${new URL(consent.action, request.url).pathname}/abort`, request.url), body: undefined };
      } else {
        submit(consent, consent.fields);
      }
      continue;
    }
    throw new Error(`sign-in: unexpected page (HTTP ${res.status} at ${request.method} ${request.url.href}, "${pageTitle(html)}": ${pageText(html)})`);
  }
  throw new Error(`sign-in: no redirect to the client after ${MAX_STEPS} steps`);
}
