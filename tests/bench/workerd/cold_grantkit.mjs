// workerd, fresh isolate: the first request imports the key (the JWK of
// tests/fixtures/rsa2048, as PingOne's key.jwk) and signs one RS256
// assertion with grantkit (its default signer). Bundled by esbuild with the
// package's workerd entry; the wasm stays a module of its own, as a deploy has it.
import { JwtBearer } from 'grantkit';
import jwk from '../../fixtures/rsa2048.jwk.json';

const AUD = 'https://tenant.example.com:443/am/oauth2/access_token';

export default {
  async fetch() {
    const t0 = performance.now();
    const flow = new JwtBearer({ tokenEndpoint: AUD, key: jwk, issuer: 'svc-123' });
    const assertion = await flow.createAssertion();
    const first = performance.now() - t0;
    return Response.json({ first, length: assertion.length });
  },
};
