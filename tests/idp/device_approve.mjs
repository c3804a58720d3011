// Approves (or denies) a device flow user code (RFC 8628 §3.3) at the local
// IdP the way a person with a browser would: only through the provider's own
// HTML pages, no back door into oidc-provider.
//
//   import { approveDevice } from './device_approve.mjs';
//   await approveDevice({ verificationUri, userCode, username: 'alice', password: 'wonderland-42' });
//
//   node tests/idp/device_approve.mjs --uri URI [--code USER_CODE] --user NAME [--deny]
//     URI is verification_uri (then --code is required) or
//     verification_uri_complete (it carries the user code). The password is
//     $APPROVE_PASSWORD, else the fixture USERS entry of NAME. Prints
//     `approved` (or `denied`) once the provider's final page is shown and
//     exits 0; on any failure prints the reason to stderr and exits 1 (2 for
//     bad arguments).
//
// The pages, in order (oidc-provider 9 deviceFlow + devInteractions):
//   GET  /device                  user-code form (#op.deviceInputForm: xsrf, user_code)
//        /device?user_code=...    or an auto-submitting form with both filled in
//   POST /device                  confirm page (#op.deviceConfirmForm: xsrf, user_code, confirm;
//                                 its Abort button adds abort=yes)
//   POST /device (confirm)        -> /interaction/:uid
//   GET  /interaction/:uid        login form (prompt=login, login, password)
//   POST /interaction/:uid        -> GET /device/:uid (resume) -> /interaction/:uid2
//   GET  /interaction/:uid2       consent form (prompt=consent)
//   POST /interaction/:uid2       -> GET /device/:uid2 -> "Sign-in Success" page
// (-> is a redirect, followed by hand with the cookies the pages set.)
// Denying (Abort on the confirm page) ends on the user-code form saying
// "The Sign-in request was interrupted"; the device code then polls access_denied.
// Every step is bounded (MAX_STEPS, a timeout per fetch) so nothing hangs; an
// unexpected page throws an Error naming the page.

import { isMain } from '../tools/standalone.mjs';

const MAX_STEPS = 20;
const DEFAULT_TIMEOUT_MS = 10_000;

const ENTITIES = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0',
};

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Attributes of one start tag ('<input type="hidden" name="x" value="y"/>'). */
function attributes(tag) {
  const out = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** The forms of a page: { id, action, method, fields: [[name, value]] }, in order. */
function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[0].slice(0, m[0].indexOf('>') + 1));
    const fields = [];
    for (const input of m[1].matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(input[0]);
      if (a.name !== undefined) fields.push([a.name, a.value ?? '', (a.type ?? 'text').toLowerCase()]);
    }
    forms.push({
      id: attrs.id, action: attrs.action, method: (attrs.method ?? 'get').toUpperCase(), fields,
    });
  }
  return forms;
}

function pageTitle(html) {
  const m = /<title>([\s\S]*?)<\/title>/i.exec(html);
  return m ? decodeEntities(m[1]).trim() : '';
}

/** A short plain-text summary of a page for error messages. */
function pageText(html) {
  const body = /<body\b[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  const text = decodeEntities(body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** Just enough of a cookie jar for one host: name, value, path, expiry. */
class CookieJar {
  #cookies = new Map(); // `${host} ${path} ${name}` -> { host, name, value, path, expires }

  store(url, response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      // Default path: the request path up to its last '/' (RFC 6265 §5.1.4).
      let cookiePath = url.pathname.lastIndexOf('/') > 0 ? url.pathname.slice(0, url.pathname.lastIndexOf('/')) : '/';
      let expires = Infinity;
      let maxAgeSeen = false;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const key = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i === -1 ? '' : attr.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) cookiePath = val;
        else if (key === 'max-age' && /^-?\d+$/.test(val)) {
          maxAgeSeen = true;
          expires = Date.now() + Number(val) * 1000;
        } else if (key === 'expires' && !maxAgeSeen) {
          const t = Date.parse(val);
          if (Number.isFinite(t)) expires = t;
        }
      }
      const key = `${url.host} ${cookiePath} ${name}`;
      if (expires <= Date.now()) this.#cookies.delete(key);
      else this.#cookies.set(key, { host: url.host, name, value, path: cookiePath, expires });
    }
  }

  header(url) {
    const now = Date.now();
    const matching = [...this.#cookies.values()]
      .filter((c) => c.host === url.host && c.expires > now && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length); // longer paths first (RFC 6265 §5.4)
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

const normalizeCode = (code) => String(code).toUpperCase().replace(/[^0-9A-Z]/g, '');

/**
 * Approve (or deny, with deny: true) the user code through the provider's
 * pages, logging in as username/password. verificationUri is the
 * verification_uri (userCode then required) or verification_uri_complete
 * (userCode may be omitted). The password defaults to the fixture USERS entry.
 * Resolves to { outcome: 'approved' | 'denied', pages: [visited URLs] } once
 * the provider's final page is shown; rejects with an Error saying which page
 * was not what was expected.
 */
export async function approveDevice({
  verificationUri, userCode, username, password, deny = false, timeoutMs = DEFAULT_TIMEOUT_MS,
} = {}) {
  if (typeof verificationUri !== 'string' || verificationUri === '') throw new TypeError('verificationUri is required');
  if (typeof username !== 'string' || username === '') throw new TypeError('username is required');
  const start = new URL(verificationUri);
  const codeInUri = start.searchParams.get('user_code');
  if (userCode === undefined || userCode === null || userCode === '') {
    if (!codeInUri) throw new TypeError('userCode is required unless verificationUri is verification_uri_complete (has user_code)');
  } else if (codeInUri && normalizeCode(codeInUri) !== normalizeCode(userCode)) {
    throw new Error(`userCode ${userCode} differs from the user_code in ${verificationUri}`);
  }
  const secret = password ?? await fixturePassword(username);

  const jar = new CookieJar();
  const pages = [];
  let request = { method: 'GET', url: start, body: undefined };
  const submitted = { code: false, confirm: false, login: false, consent: false };

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const { url } = request;
    pages.push(`${request.method} ${url.href}`);
    const headers = { accept: 'text/html' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (request.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    let res;
    try {
      res = await fetch(url, {
        method: request.method, headers, body: request.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new Error(`device approval: ${request.method} ${url.href} failed: ${err.message}`, { cause: err });
    }
    jar.store(url, res);

    if ([301, 302, 303, 307, 308].includes(res.status)) {
      await res.arrayBuffer(); // drain, keep-alive
      const location = res.headers.get('location');
      if (!location) throw new Error(`device approval: ${res.status} without Location at ${url.href}`);
      const next = new URL(location, url);
      if (next.origin !== start.origin) throw new Error(`device approval: redirected away from the provider to ${next.href}`);
      const keep = res.status === 307 || res.status === 308;
      request = keep ? { ...request, url: next } : { method: 'GET', url: next, body: undefined };
      continue;
    }

    const html = await res.text();
    const title = pageTitle(html);
    const forms = parseForms(html);
    const form = (pred) => forms.find(pred);
    const unexpected = (what) => new Error(
      `device approval: ${what} (HTTP ${res.status} at ${request.method} ${url.href}, page "${title}": ${pageText(html)})`,
    );
    const submit = (f, fields) => {
      const action = new URL(f.action ?? url.href, url);
      if (action.origin !== start.origin) throw unexpected(`a form posts away from the provider to ${action.href}`);
      request = { method: f.method, url: action, body: new URLSearchParams(fields.map(([n, v]) => [n, v])).toString() };
      if (f.method === 'GET') request = { method: 'GET', url: new URL(`?${request.body}`, action), body: undefined };
    };

    if (res.status === 200 && /Sign-in Success/i.test(title)) {
      if (deny) throw unexpected('the code was approved although deny was asked for');
      return { outcome: 'approved', pages };
    }
    if (res.status === 401 && /Sign-in failed/i.test(title)) {
      throw new Error(`device approval: the provider refused the login of ${username} (wrong username or password)`);
    }

    const input = form((f) => f.id === 'op.deviceInputForm');
    if (input) {
      if (/The Sign-in request was interrupted/i.test(html)) {
        if (deny && submitted.confirm) return { outcome: 'denied', pages };
        throw unexpected('the sign-in request was interrupted');
      }
      if (/The code you entered is incorrect/i.test(html)) {
        throw unexpected(`the provider did not accept user code ${userCode ?? codeInUri} (unknown, expired or already used)`);
      }
      if (/There was an error processing your request/i.test(html)) throw unexpected('the provider reported an error');
      if (submitted.code) throw unexpected('the user-code form came back after the code was submitted');
      submitted.code = true;
      submit(input, input.fields.map(([n, v]) => [n, n === 'user_code' ? (userCode ?? codeInUri) : v]));
      continue;
    }

    const confirm = form((f) => f.id === 'op.deviceConfirmForm');
    if (confirm) {
      if (submitted.confirm) throw unexpected('the confirm page came back after it was submitted');
      submitted.code = true;
      submitted.confirm = true;
      submit(confirm, deny ? [...confirm.fields, ['abort', 'yes']] : confirm.fields);
      continue;
    }

    const promptOf = (f) => f.fields.find(([n, , t]) => n === 'prompt' && t === 'hidden')?.[1];
    const login = form((f) => promptOf(f) === 'login');
    if (login) {
      if (submitted.login) throw unexpected('the login form came back after the login was submitted');
      submitted.login = true;
      const names = new Set(login.fields.map(([n]) => n));
      if (!names.has('login') || !names.has('password')) throw unexpected('the login form has no login/password fields');
      submit(login, login.fields.map(([n, v]) => {
        if (n === 'login') return [n, username];
        if (n === 'password') return [n, secret];
        return [n, v];
      }));
      continue;
    }
    const consent = form((f) => promptOf(f) === 'consent');
    if (consent) {
      if (submitted.consent) throw unexpected('the consent page came back after consent was given');
      submitted.consent = true;
      submit(consent, consent.fields);
      continue;
    }

    // The auto-submitting form of verification_uri_complete (oidc-provider's
    // form_post page: JavaScript submits it in a browser).
    const autoSubmit = forms.length === 1 && /Submitting Callback/i.test(title) ? forms[0] : undefined;
    if (autoSubmit && autoSubmit.fields.some(([n]) => n === 'user_code')) {
      if (submitted.code) throw unexpected('the user code was submitted twice');
      submitted.code = true;
      submit(autoSubmit, autoSubmit.fields);
      continue;
    }

    throw unexpected('unexpected page');
  }
  throw new Error(`device approval: no final page after ${MAX_STEPS} steps (${pages.join(' -> ')})`);
}

async function fixturePassword(username) {
  // Imported only when needed: it loads oidc-provider.
  const { USERS } = await import('./server.mjs');
  if (!Object.hasOwn(USERS, username)) throw new Error(`no password given and ${username} is not a fixture user`);
  return USERS[username].password;
}

function parseArgs(argv) {
  const out = { deny: false };
  const names = { '--uri': 'uri', '--code': 'code', '--user': 'user' };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name === '--deny' && eq === -1) out.deny = true;
    else if (name === '--help' || name === '-h') out.help = true;
    else if (Object.hasOwn(names, name)) {
      let value;
      if (eq !== -1) value = arg.slice(eq + 1);
      else {
        i += 1;
        if (i >= argv.length) throw new Error(`${name} needs a value`);
        value = argv[i];
      }
      out[names[name]] = value;
    } else {
      throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!out.help) {
    if (!out.uri) throw new Error('--uri is required');
    if (!out.user) throw new Error('--user is required');
  }
  return out;
}

async function main() {
  const usage = 'usage: node tests/idp/device_approve.mjs --uri VERIFICATION_URI[_COMPLETE] [--code USER_CODE] --user NAME [--deny]\n'
    + '  password: $APPROVE_PASSWORD, else the fixture user\'s\n';
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`device_approve: ${e.message}\n${usage}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(usage);
    return;
  }
  try {
    const password = process.env.APPROVE_PASSWORD || undefined;
    const { outcome } = await approveDevice({
      verificationUri: args.uri, userCode: args.code, username: args.user, password, deny: args.deny,
    });
    process.stdout.write(`${outcome}\n`);
  } catch (e) {
    process.stderr.write(`device_approve: ${e.message}\n`);
    process.exitCode = 1;
  }
}

if (isMain(import.meta.url)) {
  await main();
}

// The page readers, for tests/idp/browser_login.mjs (the authorization code
// flow goes through the same login and consent pages).
export { CookieJar, pageText, pageTitle, parseForms };
