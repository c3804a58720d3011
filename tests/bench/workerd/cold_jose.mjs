// workerd, fresh isolate: the first request imports the key (the JWK of
// tests/fixtures/rsa2048) and signs one RS256 assertion with jose. Bundled by esbuild.
import { SignJWT, importJWK } from 'jose';
import jwk from '../../fixtures/rsa2048.jwk.json';

const AUD = 'https://tenant.example.com:443/am/oauth2/access_token';

export default {
  async fetch() {
    const t0 = performance.now();
    const key = await importJWK(jwk, 'RS256');
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer('svc-123').setSubject('svc-123').setAudience(AUD)
      .setIssuedAt().setExpirationTime('180s')
      .sign(key);
    const first = performance.now() - t0;
    return Response.json({ first, length: assertion.length });
  },
};
