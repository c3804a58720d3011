// Hostile transports against the installed package (JS API and CLI), over
// 127.0.0.1: bodies over 1 MiB and endless ones, trickled bytes, compression
// bombs, framing lies, and every 3xx status pointing at another server.
// Each case: the exact code, no trap, no hang past the limit, no secret in the
// error or the terminal, no raw control characters from the server.
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import {
  assertNoSecrets, json, loadGrantkit, runCli, show, startScriptedServer,
} from './helpers.mjs';
import {
  assertHostileError, assertNoSecretText, assertNoTrapOnTerminal, assertOneCleanLine, assertWithin, startRawServer, timedRejection,
} from './hostile_helpers.mjs';

const ID = 'transport-client';
const SECRET = 'tr4nsport-s3cret:+%&é/x';
const TOKEN = 'AT-TRANSPORT-1234567890abcdef';
const MIB = 1024 * 1024;

let gk;
let srv; // the token endpoint
let other; // where redirects point: must never be asked anything
let raw; // a raw TCP server for framing lies

before(async () => {
  gk = await loadGrantkit();
  srv = await startScriptedServer();
  other = await startScriptedServer();
  raw = await startRawServer();
});
after(async () => {
  await srv?.close();
  await other?.close();
  await raw?.close();
});

function cc(extra = {}, url = srv.url()) {
  return new gk.ClientCredentials({ tokenEndpoint: url, clientId: ID, clientSecret: SECRET, timeoutMs: 5000, ...extra });
}

/** The CLI's client-credentials against `url`, the secret from the environment. */
function cli(url, extraArgs = []) {
  return runCli(['client-credentials', '--token-endpoint', url, '--client-id', ID, '--client-secret-env', 'HOSTILE_SECRET', ...extraArgs], {
    env: { HOSTILE_SECRET: SECRET }, timeoutMs: 15_000,
  });
}

/** A CLI run that failed with `code` on one clean line, and leaked nothing. */
function assertCliFailed(r, code) {
  assert.equal(r.code, 1, show(r));
  assert.equal(r.signal, null, show(r));
  assert.equal(r.stdout, '', show(r));
  assert.ok(r.stderr.startsWith(`grantkit: ${code}: `), show(r));
  assertOneCleanLine(r.stderr);
  assertNoTrapOnTerminal(r.stderr, 'stderr');
  assertNoSecretText(r.stderr + r.stdout, [SECRET, TOKEN], 'the CLI output');
}

/**
 * Write `chunk` to res until it closes or `maxBytes` went out (so a client
 * that never stops reading still ends the test), then end.
 */
function pump(res, chunk, maxBytes = 64 * MIB) {
  let sent = 0;
  let closed = false;
  res.on('close', () => { closed = true; });
  res.on('error', () => {});
  const go = () => {
    while (!closed && sent < maxBytes) {
      sent += chunk.length;
      if (!res.write(chunk)) { res.once('drain', go); return; }
    }
    if (!closed) res.end();
  };
  go();
}

/** Send one byte every `everyMs` (at most `max` bytes), until the client goes away. */
function trickle(res, text, everyMs = 200, max = 100) {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= Math.min(text.length, max) || res.destroyed) { clearInterval(timer); res.destroy(); return; }
    res.write(text[i]);
    i += 1;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
  res.on('error', () => {});
}

const tokenBody = JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 300 });

describe('bodies too large', () => {
  test('Content-Length 1 MiB + 1 (a complete JSON token response) -> RESPONSE_TOO_LARGE', async () => {
    const pad = MIB + 1 - tokenBody.length - ',"pad":""'.length;
    const body = `${tokenBody.slice(0, -1)},"pad":"${'p'.repeat(pad)}"}`;
    assert.equal(Buffer.byteLength(body), MIB + 1);
    srv.script((_req, res) => json(res, 200, body));
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('a chunked body of 1 MiB + 1 without Content-Length -> RESPONSE_TOO_LARGE', async () => {
    const pad = MIB + 1 - tokenBody.length - ',"pad":""'.length;
    const body = `${tokenBody.slice(0, -1)},"pad":"${'q'.repeat(pad)}"}`;
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      for (let i = 0; i < body.length; i += 4096) res.write(body.slice(i, i + 4096));
      res.end();
    });
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('Content-Length of 8 GiB and a body that never stops -> RESPONSE_TOO_LARGE, long before the time limit', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(8 * 1024 * MIB) });
      res.write('{"access_token":"');
      pump(res, 'A'.repeat(64 * 1024));
    });
    const { err, ms } = await timedRejection(cc({ timeoutMs: 20_000 }).getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertWithin(ms, 10_000, 'the rejection');
    assertNoSecrets(err, [SECRET]);
  });

  test('an endless chunked body (streamed forever) -> RESPONSE_TOO_LARGE, long before the time limit', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"');
      pump(res, 'B'.repeat(16 * 1024));
    });
    const { err, ms } = await timedRejection(cc({ timeoutMs: 20_000 }).getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertWithin(ms, 10_000, 'the rejection');
    assertNoSecrets(err, [SECRET]);
  });

  test('an endless error body (500, text/html) -> RESPONSE_TOO_LARGE', async () => {
    srv.script((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      pump(res, `<p>${SECRET}</p>`.repeat(1000));
    });
    const { err, ms } = await timedRejection(cc({ timeoutMs: 20_000 }).getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertWithin(ms, 10_000, 'the rejection');
    assertNoSecrets(err, [SECRET]);
  });

  test('CLI: an endless body -> exit 1, one clean RESPONSE_TOO_LARGE line', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"');
      pump(res, 'C'.repeat(16 * 1024));
    });
    const r = await cli(srv.url(), ['--timeout', '20000']);
    assertCliFailed(r, 'RESPONSE_TOO_LARGE');
  });
});

describe('trickled bytes', () => {
  test('a valid token body at one byte per 200 ms, timeoutMs 800 -> TIMEOUT within the limit', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(tokenBody.length) });
      trickle(res, tokenBody);
    });
    const { err, ms } = await timedRejection(cc({ timeoutMs: 800 }).getToken());
    assertHostileError(err, 'TIMEOUT');
    assertWithin(ms, 800 + 2000, 'the rejection');
    assert.ok(ms >= 700, `TIMEOUT after only ${ms} ms`);
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('the status line and headers at one byte per 200 ms, timeoutMs 600 -> TIMEOUT within the limit', async () => {
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${tokenBody.length}\r\n\r\n${tokenBody}`;
    raw.script((socket) => {
      let i = 0;
      const timer = setInterval(() => {
        if (i >= 100 || socket.destroyed) { clearInterval(timer); socket.destroy(); return; }
        socket.write(head[i]);
        i += 1;
      }, 200);
      socket.on('close', () => clearInterval(timer));
    });
    const { err, ms } = await timedRejection(cc({ timeoutMs: 600 }, raw.url()).getToken());
    assertHostileError(err, 'TIMEOUT');
    assertWithin(ms, 600 + 2000, 'the rejection');
    assertNoSecrets(err, [SECRET]);
  });

  test('an error body at one byte per 200 ms (400 JSON), timeoutMs 700 -> TIMEOUT within the limit', async () => {
    const body = JSON.stringify({ error: 'invalid_client', error_description: `bad ${SECRET}` });
    srv.script((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      trickle(res, body);
    });
    const { err, ms } = await timedRejection(cc({ timeoutMs: 700 }).getToken());
    assertHostileError(err, 'TIMEOUT');
    assertWithin(ms, 700 + 2000, 'the rejection');
    assertNoSecrets(err, [SECRET]);
  });

  test('CLI --timeout 800 against a trickled body -> exit 1, one clean TIMEOUT line, within the limit', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      trickle(res, tokenBody);
    });
    const t0 = Date.now();
    const r = await cli(srv.url(), ['--timeout', '800']);
    assertCliFailed(r, 'TIMEOUT');
    assertWithin(Date.now() - t0, 800 + 4000, 'the CLI (process start included)');
  });
});

describe('compression bombs', () => {
  // 16 MiB of JSON string content that compresses to a few KiB.
  const inflated = Buffer.concat([Buffer.from('{"access_token":"'), Buffer.alloc(16 * MIB, 'A'), Buffer.from('","token_type":"Bearer"}')]);
  const bombs = {
    gzip: zlib.gzipSync(inflated, { level: 9 }),
    deflate: zlib.deflateSync(inflated, { level: 9 }),
    br: zlib.brotliCompressSync(inflated, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }),
  };

  for (const encoding of ['gzip', 'deflate', 'br']) {
    test(`Content-Encoding ${encoding}: ${Math.round(bombs[encoding].length / 1024)} KiB that inflate to 16 MiB -> RESPONSE_TOO_LARGE`, async () => {
      assert.ok(bombs[encoding].length < MIB, 'the bomb itself is small');
      srv.script((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': String(bombs[encoding].length) });
        res.end(bombs[encoding]);
      });
      const { err } = await timedRejection(cc().getToken());
      assertHostileError(err, 'RESPONSE_TOO_LARGE');
      assertNoSecrets(err, [SECRET]);
    });
  }

  test('Content-Encoding "gzip, gzip" (a bomb inside a bomb) on a 400 error -> RESPONSE_TOO_LARGE', async () => {
    const errorBody = Buffer.concat([Buffer.from('{"error":"invalid_client","error_description":"'), Buffer.alloc(8 * MIB, 'e'), Buffer.from('"}')]);
    const twice = zlib.gzipSync(zlib.gzipSync(errorBody, { level: 9 }), { level: 9 });
    srv.script((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json', 'content-encoding': 'gzip, gzip' });
      res.end(twice);
    });
    const { err } = await timedRejection(cc().getToken());
    assertHostileError(err, 'RESPONSE_TOO_LARGE');
    assertNoSecrets(err, [SECRET]);
  });

  test('CLI: a br bomb -> exit 1, one clean RESPONSE_TOO_LARGE line', async () => {
    srv.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
      res.end(bombs.br);
    });
    assertCliFailed(await cli(srv.url()), 'RESPONSE_TOO_LARGE');
  });
});

describe('framing lies', () => {
  test('Content-Length larger than the body, then the connection closes -> NETWORK_ERROR', async () => {
    raw.script((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${tokenBody.length + 500}\r\n\r\n${tokenBody}`);
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('Content-Length smaller than the body (cut inside the token) -> RESPONSE_NOT_JSON, the token prefix not quoted', async () => {
    const cut = tokenBody.indexOf(TOKEN) + 10;
    raw.script((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${cut}\r\nconnection: close\r\n\r\n${tokenBody}`);
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 200 });
    assert.ok(!err.message.includes(TOKEN.slice(0, 10)), `the 2xx body is quoted: ${err.message}`);
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('chunked with a chunk size that is not hex -> NETWORK_ERROR', async () => {
    raw.script((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"acc\r\nzz\r\n${tokenBody.slice(5)}\r\n0\r\n\r\n`);
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('chunked with a chunk longer than its size line -> NETWORK_ERROR', async () => {
    raw.script((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n4\r\n${tokenBody}\r\n0\r\n\r\n`);
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('chunked body cut off by close before the last chunk -> NETWORK_ERROR', async () => {
    raw.script((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${tokenBody.length.toString(16)}\r\n${tokenBody}\r\n`);
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('both Content-Length and Transfer-Encoding: chunked (smuggling shape) -> NETWORK_ERROR', async () => {
    raw.script((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n${tokenBody.length.toString(16)}\r\n${tokenBody}\r\n0\r\n\r\n`);
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('no status line at all (HTTP/0.9-style bare body) -> NETWORK_ERROR', async () => {
    raw.script((socket) => { socket.end(tokenBody); });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    assertHostileError(err, 'NETWORK_ERROR');
    assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
  });

  test('a Content-Type with ESC, C1 and bidi bytes on a non-JSON 502 -> RESPONSE_NOT_JSON, message escaped', async () => {
    // Header bytes 0x1b (ESC), 0x9b (C1 CSI), 0x85 (NEL) and UTF-8 of U+202E (RLO).
    const ct = Buffer.concat([Buffer.from('text/html\x1b[31m'), Buffer.from([0x9b, 0x85]), Buffer.from('\u202e', 'utf8'), Buffer.from('x')]);
    raw.script((socket) => {
      socket.end(Buffer.concat([
        Buffer.from('HTTP/1.1 502 Bad Gateway\r\ncontent-type: '), ct, Buffer.from('\r\ncontent-length: 9\r\nconnection: close\r\n\r\nbad gate!'),
      ]));
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    if (err.code === 'NETWORK_ERROR') {
      // The runtime's HTTP parser may refuse such a header outright; that is fine too.
      assertHostileError(err, 'NETWORK_ERROR');
    } else {
      assertHostileError(err, 'RESPONSE_NOT_JSON', { status: 502 });
    }
    assertNoSecrets(err, [SECRET]);
  });
});

describe('redirects are never followed, whatever the 3xx', () => {
  for (const status of [300, 301, 302, 303, 304, 305, 307, 308]) {
    test(`${status} with Location on another server -> UNEXPECTED_REDIRECT; the other server gets no request`, async () => {
      srv.script((_req, res) => {
        res.writeHead(status, { location: other.url('/token?code=REDIRECT-CODE-123'), 'content-type': 'application/json' });
        res.end(status === 304 ? undefined : tokenBody);
      });
      other.script((req, res) => json(res, 200, tokenBody));
      const { err } = await timedRejection(cc().getToken());
      assertHostileError(err, 'UNEXPECTED_REDIRECT', { status });
      assert.equal(srv.hits.length, 1);
      assert.equal(other.hits.length, 0, `${status}: the redirect was followed`);
      assert.ok(!err.message.includes('REDIRECT-CODE-123'), `the Location's query is in the message: ${err.message}`);
      assertNoSecrets(err, [SECRET], { messageOnly: [TOKEN] });
    });
  }

  test('a Location with ESC and bidi bytes -> UNEXPECTED_REDIRECT, the message escaped', async () => {
    raw.script((socket) => {
      socket.end(Buffer.concat([
        Buffer.from('HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/\x1b]8;;evil\x07x'),
        Buffer.from('\u202egnp.exe', 'utf8'),
        Buffer.from('\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'),
      ]));
    });
    const { err } = await timedRejection(cc({}, raw.url()).getToken());
    if (err.code === 'NETWORK_ERROR') {
      assertHostileError(err, 'NETWORK_ERROR');
    } else {
      assertHostileError(err, 'UNEXPECTED_REDIRECT', { status: 302 });
    }
    assertNoSecrets(err, [SECRET]);
  });

  test('CLI: 307 to another server -> exit 1, one clean UNEXPECTED_REDIRECT line; the other server gets nothing', async () => {
    srv.script((_req, res) => { res.writeHead(307, { location: other.url('/token') }); res.end(); });
    other.script((req, res) => json(res, 200, tokenBody));
    const r = await cli(srv.url());
    assertCliFailed(r, 'UNEXPECTED_REDIRECT');
    assert.equal(other.hits.length, 0, 'the redirect was followed');
  });
});
