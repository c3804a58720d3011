// Servers on 127.0.0.1 for the bundler matrix: a static file server with the
// right MIME types (application/wasm included), or a reverse proxy in front
// of a dev server; both add the headers `headers(url)` returns (a CSP).
import { createServer, request } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".css": "text/css",
};

function listen(server) {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      // closeAllConnections: a page's keep-alive or upgrade socket must not hold close() open.
      const close = () => new Promise((r) => { server.close(r); server.closeAllConnections(); });
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close });
    });
  });
}

/** Serves the files under `root`. */
export function serveStatic(root, headers = () => ({})) {
  return listen(createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    let file = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(normalize(root))) return void res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
        ...headers(url),
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  }));
}

/** Forwards every request to `upstream` (a dev server), adding `headers(url)` to the answers. */
export function serveProxy(upstream, headers = () => ({})) {
  const target = new URL(upstream);
  return listen(createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode, { ...answer.headers, ...headers(url) });
        answer.pipe(res);
      },
    );
    forward.on("error", (e) => res.writeHead(502).end(String(e)));
    req.pipe(forward);
  }));
}

/** A scripted OAuth token server with CORS: client credentials for bundler-app:s3cret only. */
export function serveTokenEndpoint() {
  return listen(createServer((req, res) => {
    const cors = {
      "access-control-allow-origin": req.headers.origin ?? "*",
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "authorization, content-type, accept",
      "access-control-max-age": "600",
      vary: "origin",
    };
    if (req.method === "OPTIONS") return void res.writeHead(204, cors).end();
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const basic = `Basic ${Buffer.from("bundler-app:s3cret").toString("base64")}`;
      const ok = req.method === "POST" && new URL(req.url, "http://x").pathname === "/token"
        && form.get("grant_type") === "client_credentials"
        && (req.headers.authorization === basic || (form.get("client_id") === "bundler-app" && form.get("client_secret") === "s3cret"));
      res.writeHead(ok ? 200 : 400, { ...cors, "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(ok
        ? { access_token: "bundler-token", token_type: "Bearer", expires_in: 300 }
        : { error: "invalid_client", error_description: "unexpected request" }));
    });
  }));
}
