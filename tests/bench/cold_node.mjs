// One fresh Node process to its first RS256 assertion (run.mjs starts it,
// once per sample): `node tests/bench/cold_node.mjs grantkit|grantkit-rust|jose|none`
// loads the library, imports the key (the JWK of tests/fixtures/rsa2048, as
// PingOne's key.jwk), signs one assertion and prints one JSON line of
// milliseconds since the process started (performance.now()):
//   start     Node's own start, until this script's first line runs
//   loaded    the library's modules loaded (and grantkit's wasm compiled)
//   imported  the key imported
//   signed    the first assertion signed: the figure
// Reading the key file falls between `start` and `loaded`, the same for
// every contender.
import { readFileSync } from 'node:fs';

const start = performance.now();
const which = process.argv[2];
const fixture = new URL('../fixtures/rsa2048.jwk.json', import.meta.url);
const jwk = JSON.parse(readFileSync(fixture, 'utf8'));
const AUD = 'https://tenant.example.com:443/am/oauth2/access_token';
const stamps = { start };

if (which === 'grantkit' || which === 'grantkit-rust') {
  const { JwtBearer } = await import(new URL('../../pkg/index.node.js', import.meta.url));
  stamps.loaded = performance.now();
  const flow = new JwtBearer({ tokenEndpoint: AUD, key: jwk, issuer: 'svc-123', ...(which === 'grantkit-rust' ? { signer: 'rust' } : {}) });
  stamps.imported = performance.now();
  await flow.createAssertion();
  stamps.signed = performance.now();
} else if (which === 'jose') {
  const jose = await import('jose');
  stamps.loaded = performance.now();
  const key = await jose.importJWK(jwk, 'RS256');
  stamps.imported = performance.now();
  await new jose.SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer('svc-123').setSubject('svc-123').setAudience(AUD)
    .setIssuedAt().setExpirationTime('180s')
    .sign(key);
  stamps.signed = performance.now();
} else if (which !== 'none') {
  throw new Error(`unknown contender ${which}`);
}
process.stdout.write(`${JSON.stringify(stamps)}\n`);
