// `grantkit www [--port N]`: serves the diagnostic page (the package's www/
// folder and its browser entry) on 127.0.0.1, with a relay that makes the
// page's token requests from this machine, for identity providers that send
// no CORS headers.
//
// The relay is not an open proxy. It answers only the page it served: the
// Host must be this server, the Origin this server's own, and every call
// carries a random token the server wrote into the page (other web pages can
// read neither; a DNS-rebound name fails the Host check). It forwards only to
// the endpoints the page registered for the current run, over https (plain
// http to loopback only), never follows redirects, and logs one line per
// request without query string or body.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { gzipSync } from "node:zlib";

const DEFAULT_PORT = 8737;
/** The header the relay adds to every answer it forwards; the page (www/relay.js) marks those exchanges. */
const RELAY_HEADER = "x-grantkit-relay";
const TOKEN_HEADER = "x-grantkit-relay-token";
/** The driver reads at most 1 MiB; one byte more lets it report RESPONSE_TOO_LARGE. */
const MAX_RESPONSE_BYTES = (1 << 20) + 1;
const MAX_REQUEST_BYTES = 256 * 1024;
const UPSTREAM_TIMEOUT_MS = 30_000;

const PACKAGE = new URL("../", import.meta.url);
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
};
// The package's browser entry that streams the .wasm file, and what it imports
// (with the snippets/ directory, added by loadFiles).
const PACKAGE_FILES = ["index.url.js", "token_source.js", "grantkit.js", "wasm_load_error.js", "grantkit_bg.wasm"];
// Headers a relayed request never carries: the browser's own, hop-by-hop
// ones, and the ones fetch sets itself. The rest go as grantkit set them,
// Authorization and a DPoP proof (RFC 9449) included.
const DROPPED_REQUEST_HEADERS = new Set([
  "host", "origin", "referer", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
  "content-length", "accept-encoding", "proxy-authorization", "proxy-connection",
]);
// Response headers that describe the upstream connection, not the body the page gets
// (fetch has decoded the body already). The rest come back, DPoP-Nonce and
// WWW-Authenticate included, whatever the server's CORS headers expose.
const DROPPED_RESPONSE_HEADERS = new Set(["set-cookie", "content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"]);

class Refused extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Starts the page server on 127.0.0.1 (port 0: any free port).
 * Resolves to { url, port, close() }; `log` gets one line per relayed request.
 */
export async function startWww({ port = DEFAULT_PORT, log = () => {} } = {}) {
  const relayToken = randomBytes(32).toString("base64url");
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actualPort = server.address().port;
  const hosts = new Set([`127.0.0.1:${actualPort}`, `localhost:${actualPort}`]);
  const files = loadFiles(relayToken);
  const csp = `${files.get("/").csp}; frame-ancestors 'none'`;
  // The endpoints of the page's current run: exact URLs (without query), and
  // prefixes (the ACP platform, whose five calls lie under it).
  let registered = { endpoints: new Set(), prefixes: [] };

  server.on("request", (req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) {
        const status = error instanceof Refused ? error.status : 500;
        res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      }
      res.end(JSON.stringify({ error: error instanceof Refused ? error.message : "internal error" }));
    });
  });

  async function handle(req, res) {
    // A name that resolves here by DNS rebinding would otherwise be same-origin with the page.
    if (!hosts.has(req.headers.host ?? "")) {
      throw new Refused(421, `open http://127.0.0.1:${actualPort}/`);
    }
    const { pathname } = new URL(req.url, "http://127.0.0.1");
    if (req.method === "POST" && (pathname === "/relay" || pathname === "/relay/endpoints")) {
      checkCaller(req);
      const body = await readJson(req);
      if (pathname === "/relay/endpoints") {
        registered = register(body);
        res.writeHead(204, { "cache-control": "no-store" }).end();
      } else {
        await relay(req, res, body);
      }
      return;
    }
    const file = files.get(pathname);
    if (!file || (req.method !== "GET" && req.method !== "HEAD")) throw new Refused(404, "not found");
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    const body = gzip ? file.gzip : file.raw;
    res.writeHead(200, {
      "content-type": file.type,
      "content-length": body.length,
      ...(gzip ? { "content-encoding": "gzip" } : {}),
      vary: "accept-encoding",
      // The page holds the relay token: never cached.
      "cache-control": pathname === "/" ? "no-store" : "no-cache",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  function checkCaller(req) {
    if (req.headers.origin !== `http://${req.headers.host}`) throw new Refused(403, "the relay answers only the page it served");
    const given = Buffer.from(String(req.headers[TOKEN_HEADER] ?? ""));
    const expected = Buffer.from(relayToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new Refused(403, "the relay token is missing or wrong (reload the page)");
    }
  }

  function relayable(target) {
    const url = endpointUrl(target);
    const at = url.origin + url.pathname;
    if (!registered.endpoints.has(at) && !registered.prefixes.some((prefix) => at.startsWith(prefix))) {
      throw new Refused(403, `${at} is not an endpoint of this run`);
    }
    return url;
  }

  async function relay(req, res, { url: target, method, headers, body }) {
    const url = relayable(target);
    if (method !== "GET" && method !== "POST") throw new Refused(400, "the relay forwards GET and POST only");
    const started = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), UPSTREAM_TIMEOUT_MS);
    // The page gave up (its own time limit or Cancel): so does the relay.
    res.on("close", () => abort.abort());
    let upstream;
    let bytes;
    try {
      upstream = await fetch(url, {
        method,
        headers: forwardedHeaders(headers),
        body: method === "POST" ? decodeBody(body) : undefined,
        redirect: "manual",
        signal: abort.signal,
      });
      bytes = await readCapped(upstream.body, MAX_RESPONSE_BYTES);
    } catch (error) {
      const reason = abort.signal.aborted ? "no answer in time" : (error.cause?.code ?? error.message);
      log(`relay ${method} ${url.origin}${url.pathname}: ${reason}`);
      throw new Refused(502, `could not reach ${url.origin}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
    log(`relay ${method} ${url.origin}${url.pathname} -> ${upstream.status} (${Date.now() - started} ms)`);
    const forwarded = [...upstream.headers].filter(([name]) => !DROPPED_RESPONSE_HEADERS.has(name));
    forwarded.push([RELAY_HEADER, `grantkit www, 127.0.0.1:${actualPort}`]);
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", [RELAY_HEADER]: "1" });
    res.end(JSON.stringify({
      status: upstream.status,
      headers: forwarded,
      setCookies: upstream.headers.getSetCookie(),
      body: Buffer.from(bytes).toString("base64"),
    }));
  }

  return {
    url: `http://127.0.0.1:${actualPort}/`,
    port: actualPort,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The page's files (www/*) and the package's browser entry, read once, each also gzipped. */
function loadFiles(relayToken) {
  const files = new Map();
  const add = (path, relative, transform = (bytes) => bytes) => {
    const raw = transform(readFileSync(new URL(relative, PACKAGE)));
    const type = TYPES[relative.slice(relative.lastIndexOf("."))];
    files.set(path, { raw, gzip: gzipSync(raw, { level: 9 }), type });
  };
  for (const name of readdirSync(new URL("www/", PACKAGE))) {
    if (name === "index.html" || !/^[a-z_]+\.(css|js|svg)$/.test(name)) continue;
    add(`/${name}`, `www/${name}`);
  }
  for (const name of PACKAGE_FILES) add(`/grantkit/${name}`, name);
  // The JavaScript that grantkit.js imports from the Rust crate (wasm-bindgen's snippets).
  for (const name of readdirSync(new URL("snippets/", PACKAGE), { recursive: true })) {
    if (name.endsWith(".js")) add(`/grantkit/snippets/${name}`, `snippets/${name}`);
  }
  // The page carries the relay token in a meta element, and its CSP in another,
  // which the server also sends as a header (with frame-ancestors, which a meta cannot set).
  add("/", "www/index.html", (bytes) => Buffer.from(bytes.toString("utf8").replace(
    '<meta name="grantkit-relay" content="">',
    `<meta name="grantkit-relay" content="${relayToken}">`,
  )));
  const html = files.get("/").raw.toString("utf8");
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  if (!csp || !html.includes(relayToken)) throw new Error("www/index.html lacks its CSP or relay meta element");
  files.get("/").csp = csp;
  return files;
}

/** An absolute https URL, or http to a loopback host; no credentials. */
function endpointUrl(text) {
  let url;
  try {
    url = new URL(String(text));
  } catch {
    throw new Refused(400, "not an absolute URL");
  }
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Refused(403, `${url.origin}: the relay forwards to https only (plain http to loopback)`);
  }
  if (url.username || url.password) throw new Refused(400, "a URL with credentials");
  return url;
}

function register({ endpoints = [], prefixes = [] }) {
  if (!Array.isArray(endpoints) || !Array.isArray(prefixes) || endpoints.length + prefixes.length > 16) {
    throw new Refused(400, "endpoints and prefixes are lists of at most 16 URLs");
  }
  return {
    endpoints: new Set(endpoints.map((text) => {
      const url = endpointUrl(text);
      return url.origin + url.pathname;
    })),
    prefixes: prefixes.map((text) => {
      const url = endpointUrl(text);
      return url.origin + (url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`);
    }),
  };
}

function forwardedHeaders(pairs) {
  if (!Array.isArray(pairs)) throw new Refused(400, "headers must be a list of [name, value]");
  const headers = new Headers();
  for (const [name, value] of pairs) {
    const lower = String(name).toLowerCase();
    if (!DROPPED_REQUEST_HEADERS.has(lower) && !lower.startsWith("sec-")) headers.append(lower, String(value));
  }
  return headers;
}

function decodeBody(body) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return body;
  if (typeof body?.base64 === "string") return Buffer.from(body.base64, "base64");
  throw new Refused(400, "body must be a string or { base64 }");
}

async function readCapped(stream, limit) {
  const chunks = [];
  let size = 0;
  if (!stream) return new Uint8Array();
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

async function readJson(req) {
  if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) throw new Refused(415, "JSON expected");
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) throw new Refused(413, "request too large");
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  throw new Refused(400, "a JSON object expected");
}

/** The `grantkit www` command: serves until interrupted. */
export async function main({ port }) {
  if (port !== undefined && !/^(0|[1-9][0-9]{0,4})$/.test(port)) throw new Error("--port takes a port number");
  const chosen = port === undefined ? DEFAULT_PORT : Number(port);
  let server;
  try {
    server = await startWww({ port: chosen, log: (line) => process.stderr.write(`grantkit www: ${line}\n`) });
  } catch (error) {
    if (error.code === "EADDRINUSE") throw new Error(`port ${chosen} is in use; choose another with --port N`);
    throw error;
  }
  process.stdout.write(`grantkit www: the diagnostic page is at ${server.url} (Ctrl-C stops it)\n`);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
  return 0;
}
