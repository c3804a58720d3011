// The driver's HTTP exchange (src/wasm/driver.rs) in three calls across
// the wasm boundary: send the request, read the response's head (status,
// type and every header as one string), read its body (up to a limit).
// Done from Rust, each step was a call of its own (a header appended, a
// header read, a stream chunk awaited), and these calls were most of the
// driver's cost per token request.
//
// Nothing here decides anything: Rust chooses what is read and names every
// outcome. What a caller's fetch or a hostile Response throws is caught and
// handed back.

// Outcome codes, read by driver.rs.
const OK = 0;
const FAILED = 1;
const HEADER_REFUSED = 2;
const BODY_UNREADABLE = 3;
const TOO_LARGE = 4;

/** A property, or undefined where reading it throws (a hostile getter). */
function prop(target, name) {
  try {
    return target[name];
  } catch {
    return undefined;
  }
}

/**
 * Sends one request.
 *
 * @param {Function | undefined} fetchFn the caller's fetch, or the global one
 * @param {string} url
 * @param {string} method
 * @param {string} headers name, value, name, ... joined by "\0" ("" for none)
 * @param {string | Uint8Array | undefined} body
 * @param {boolean} includeCredentials
 * @param {AbortSignal} signal
 * @returns {Promise<Array>} [OK, what fetch resolved to]; [FAILED, error];
 *   [HEADER_REFUSED, index of the header]
 */
export async function send(fetchFn, url, method, headers, body, includeCredentials, signal) {
  let init;
  try {
    const list = new Headers();
    if (headers !== '') {
      const parts = headers.split('\0');
      for (let i = 0; i + 1 < parts.length; i += 2) {
        try {
          list.append(parts[i], parts[i + 1]);
        } catch {
          return [HEADER_REFUSED, i / 2];
        }
      }
    }
    init = { method, headers: list, redirect: 'manual', signal };
    if (includeCredentials) init.credentials = 'include';
    if (body !== undefined) init.body = body;
  } catch (error) {
    return [FAILED, error];
  }
  let response;
  try {
    response = await (fetchFn === undefined ? fetch(url, init) : fetchFn(url, init));
  } catch (error) {
    return [FAILED, error];
  }
  return [OK, response];
}

/**
 * A response's status, type and headers, read through catching getters:
 * checked by shape, not `instanceof`, since an injected fetch may come from
 * another realm or a polyfill.
 *
 * @param {Response} response
 * @param {number} maxHeaders the most headers (and Set-Cookie values) read
 * @returns {Array} [status (undefined unless a number), type (a string),
 *   headers, setCookies], the last two as `headerText` gives them
 */
export function head(response, maxHeaders) {
  const status = prop(response, 'status');
  const type = prop(response, 'type');
  const list = prop(response, 'headers');
  return [
    typeof status === 'number' ? status : undefined,
    typeof type === 'string' ? type : '',
    headerText(list, maxHeaders),
    setCookies(list, maxHeaders),
  ];
}

/**
 * Reads a response's body through its stream, up to `maxBody` bytes.
 *
 * @param {Response} response
 * @param {number} maxBody
 * @returns {Promise<Array>} [OK, bytes] (a Uint8Array; empty where there is
 *   no body); [FAILED, what read() threw]; [BODY_UNREADABLE]; [TOO_LARGE]
 */
export async function readBody(response, maxBody) {
  const stream = prop(response, 'body');
  if (stream === null || stream === undefined) return [OK, new Uint8Array(0)];
  let reader;
  try {
    reader = stream.getReader();
  } catch {
    return [BODY_UNREADABLE];
  }
  const chunks = [];
  let length = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      return [FAILED, error];
    }
    if (prop(chunk, 'done') === true) break;
    const value = prop(chunk, 'value');
    if (!(value instanceof Uint8Array)) {
      cancel(reader);
      return [BODY_UNREADABLE];
    }
    if (length + value.length > maxBody) {
      cancel(reader);
      return [TOO_LARGE];
    }
    chunks.push(value);
    length += value.length;
  }
  if (chunks.length === 1) return [OK, chunks[0]];
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return [OK, bytes];
}

/** Releases a response's body unread (a redirect, a declared length past the limit). */
export function cancelBody(response) {
  const stream = prop(response, 'body');
  if (stream !== null && typeof stream === 'object') cancel(stream);
}

/** `cancel()` on a stream or reader, whatever it throws or rejects with. */
function cancel(target) {
  try {
    Promise.resolve(target.cancel()).catch(() => {});
  } catch {
    // Nothing to release.
  }
}

/**
 * The pairs of a Headers object (at most `max`) as one string: name, value,
 * name, ... joined by "\0", which no header name or value can hold. What
 * cannot be read is left out.
 *
 * @param {Headers} headers
 * @param {number} max
 * @returns {string}
 */
export function headerText(headers, max) {
  const parts = [];
  try {
    let count = 0;
    for (const entry of headers) {
      if (count++ === max) break;
      const name = prop(entry, 0);
      const value = prop(entry, 1);
      if (typeof name === 'string' && typeof value === 'string') parts.push(name, value);
    }
  } catch {
    // A hostile or broken object: what was read is kept.
  }
  return parts.join('\0');
}

/**
 * The Set-Cookie values (at most `max`) where the runtime exposes them (getSetCookie: Workers,
 * Node, Deno, Bun; browsers hide them from scripts), joined by "\0".
 *
 * @param {Headers} headers
 * @param {number} max
 * @returns {string}
 */
function setCookies(headers, max) {
  try {
    if (typeof headers?.getSetCookie !== 'function') return '';
    const list = headers.getSetCookie();
    if (!Array.isArray(list)) return '';
    return list.slice(0, max).filter((v) => typeof v === 'string').join('\0');
  } catch {
    return '';
  }
}
