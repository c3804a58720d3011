// The page's side of the relay of `grantkit www` (bin/www.js): a `fetch`
// for the flows' `fetch` option that hands each request to the local server,
// which makes it from this machine, where no CORS rule applies.
//
// The server wrote a random token into the page; every relay call carries
// it. The endpoints of a run are registered first: the relay forwards to
// nothing else.

const token = document.querySelector('meta[name="grantkit-relay"]')?.content ?? "";

/** True when the page was served by `grantkit www` (which has the relay). */
export const relayAvailable = token !== "";

/** The header the relay adds to each answer it carried. */
export const RELAY_HEADER = "x-grantkit-relay";

async function call(path, payload, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-grantkit-relay-token": token },
    body: JSON.stringify(payload),
    cache: "no-store",
    signal,
  });
  if (response.status === 204) return undefined;
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    // A TypeError, as a fetch that got no response throws: grantkit reports NETWORK_ERROR with this message.
    throw new TypeError(`the relay: ${typeof answer.error === "string" ? answer.error : `HTTP ${response.status}`}`);
  }
  return answer;
}

/** Tells the relay the endpoints of this run: exact URLs, and prefixes (the ACP platform). */
export function registerEndpoints({ endpoints = [], prefixes = [] }) {
  return call("/relay/endpoints", { endpoints, prefixes });
}

/**
 * fetch(url, init) through the relay. Resolves to a response-shaped object
 * (status, headers, body), the shape grantkit's driver reads: its headers
 * carry the upstream Set-Cookie values too (a browser Response cannot), so
 * grantkit's own cookie jar carries the ACP login's session, as in Node.
 */
export async function relayFetch(url, init = {}) {
  const body = typeof init.body === "string" || init.body === undefined || init.body === null
    ? init.body ?? undefined
    : { base64: base64(new Uint8Array(init.body)) };
  const answer = await call("/relay", {
    url: String(url),
    method: init.method ?? "GET",
    // grantkit hands over a Headers object of its own: Cookie stays in it.
    headers: [...new Headers(init.headers ?? {})],
    body,
  }, init.signal);
  const headers = new Headers();
  for (const [name, value] of answer.headers) headers.append(name, value);
  for (const cookie of answer.setCookies) headers.append("set-cookie", cookie);
  const bytes = Uint8Array.from(atob(answer.body), (c) => c.charCodeAt(0));
  return { status: answer.status, type: "basic", headers, body: new Blob([bytes]).stream() };
}

function base64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
