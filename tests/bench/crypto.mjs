// RSA in one Node process: RS256 assertions per second (grantkit's Rust
// signer and its WebCrypto signer against jose, node:crypto's bare signature
// as the floor) and PKCS#1 v1.5 encryptions per second (grantkit's
// encryptAcpPassword against node:crypto publicEncrypt), interleaved rounds.
import { execFileSync } from 'node:child_process';
import { constants, createPrivateKey, publicEncrypt, sign as nodeSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as jose from 'jose';

import { FIXTURES, PKG, ROOT, ROUNDS, SECONDS, against, interleave, medians, num, rate, rateSync, table, times } from './lib.mjs';

const { JwtBearer, encryptAcpPassword } = await import(path.join(PKG, 'index.node.js'));

const AUD = 'https://tenant.example.com:443/am/oauth2/access_token';
const pem = readFileSync(path.join(FIXTURES, 'rsa2048.pkcs8.pem'), 'utf8');
const publicPem = readFileSync(path.join(FIXTURES, 'rsa2048.public.pem'), 'utf8');

// The figures ("today"): the Rust signer at 0.033× jose, the
// encryption at 0.2× node:crypto; the targets are 2× and 3× those, read as
// ratios to the same peer in the same run so that they hold on any machine.
const RUST_SIGNER_TODAY = 0.033;
const ENCRYPT_TODAY = 0.2;

export async function signing() {
  const options = { tokenEndpoint: AUD, key: pem, issuer: 'svc-123' };
  const rust = new JwtBearer({ ...options, signer: 'rust' });
  const webcrypto = new JwtBearer({ ...options, signer: 'webcrypto' });
  const joseKey = await jose.importPKCS8(pem, 'RS256');
  const nodeKey = createPrivateKey(pem);
  let counter = 0;
  const contenders = [
    { name: 'grantkit, Rust signer', op: () => rust.createAssertion() },
    { name: 'grantkit, WebCrypto signer', op: () => webcrypto.createAssertion() },
    {
      name: 'jose',
      op: () => new jose.SignJWT({ jti: String(counter++) })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
        .setIssuer('svc-123').setSubject('svc-123').setAudience(AUD)
        .setIssuedAt().setExpirationTime('180s')
        .sign(joseKey),
    },
    { name: 'node:crypto sign (bare signature, floor)', op: async () => nodeSign('sha256', Buffer.from(`header.claims${counter++}`), nodeKey) },
  ];
  for (const c of contenders) await rate(c.op, { seconds: 0.2 }); // warm-up
  const samples = await interleave(contenders, (c) => rate(c.op));
  const m = Object.fromEntries(contenders.map((c) => [c.name, medians(samples[c.name])]));
  const joseRate = m.jose.perSecond;
  const rustRatio = m['grantkit, Rust signer'].perSecond / joseRate;
  const webcryptoRatio = m['grantkit, WebCrypto signer'].perSecond / joseRate;
  const detail = table(
    ['RS256 assertion (2048-bit key)', 'per second (median)', 'rounds (per second)', '÷ jose'],
    contenders.map((c) => [c.name, num(m[c.name].perSecond), samples[c.name].map((s) => num(s.perSecond)).join(', '), times(m[c.name].perSecond / joseRate)]),
  );
  return {
    detail: `### RS256 assertions per second (one Node process, ${ROUNDS} interleaved rounds of ${SECONDS} s)\n\n${detail}`,
    figures: [
      {
        figure: 'pure-Rust RS256 signer (`signer: "rust"`), assertions/s',
        measured: `${num(m['grantkit, Rust signer'].perSecond)}/s = ${times(rustRatio)} jose`,
        target: `≥ 2× today (${RUST_SIGNER_TODAY}× jose) = ${times(2 * RUST_SIGNER_TODAY)} jose`,
        ...against(rustRatio, 2 * RUST_SIGNER_TODAY),
      },
      {
        figure: 'WebCrypto signer (`signer: "webcrypto"`), assertions/s',
        measured: `${num(m['grantkit, WebCrypto signer'].perSecond)}/s = ${times(webcryptoRatio)} jose`,
        target: '(none; jose signs with WebCrypto too)',
        ratio: '—',
        verdict: '—',
      },
    ],
  };
}

export async function encryption() {
  const ts = '1700000000123';
  const password = 'Adm1n-pass!';
  const plaintext = Buffer.from(JSON.stringify({ ts, password }));
  const contenders = [
    { name: 'grantkit encryptAcpPassword (JSON + encrypt + base64)', op: () => encryptAcpPassword({ publicKey: publicPem, ts, password }) },
    { name: 'node:crypto publicEncrypt (+ base64)', op: () => publicEncrypt({ key: publicPem, padding: constants.RSA_PKCS1_PADDING }, plaintext).toString('base64') },
  ];
  // The thing measured is right: the ACP test server's decryption helper
  // (Python's cryptography) decrypts grantkit's output to the exact JSON.
  const helper = execFileSync('python3', [path.join(ROOT, 'tests', 'acp', 'rsa_decrypt.py')], {
    encoding: 'utf8',
    input: `${JSON.stringify({ private_key_pem: readFileSync(path.join(FIXTURES, 'rsa2048.pkcs8.pem'), 'utf8') })}\n${JSON.stringify({ id: 1, ciphertext: contenders[0].op() })}\n`,
  }).trim().split('\n');
  const decrypted = Buffer.from(JSON.parse(helper.at(-1)).plaintext ?? '', 'base64').toString();
  if (decrypted !== plaintext.toString()) throw new Error(`grantkit's ciphertext decrypted to ${decrypted}`);

  for (const c of contenders) rateSync(c.op, 0.2); // warm-up
  const samples = await interleave(contenders, async (c) => rateSync(c.op));
  const [gk, node] = contenders.map((c) => medians(samples[c.name]).perSecond);
  const ratio = gk / node;
  const detail = table(
    ['PKCS#1 v1.5 encryption (2048-bit key)', 'per second (median)', 'rounds (per second)', '÷ node:crypto'],
    contenders.map((c, i) => [c.name, num([gk, node][i]), samples[c.name].map((s) => num(s.perSecond)).join(', '), times([gk, node][i] / node)]),
  );
  return {
    detail: `### PKCS#1 v1.5 encryptions per second (one Node process, ${ROUNDS} interleaved rounds of ${SECONDS} s; grantkit's output checked by decrypting it with Python's cryptography, tests/acp/rsa_decrypt.py)\n\n${detail}`,
    figures: [{
      figure: 'PKCS#1 v1.5 encryption (`encryptAcpPassword`), per second',
      measured: `${num(gk)}/s = ${times(ratio)} node:crypto`,
      target: `≥ 3× today (${ENCRYPT_TODAY}× node:crypto) = ${times(3 * ENCRYPT_TODAY)} node:crypto`,
      ...against(ratio, 3 * ENCRYPT_TODAY),
    }],
  };
}
