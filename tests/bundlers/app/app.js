// The app proper: a static import of grantkit, a client constructed as soon
// as the module runs (constructors are synchronous), and the checks main.js runs.
import { ClientCredentials, decodeJwt } from "grantkit";

// The scripted token server (run.mjs) is named in the query string: ?idp=http://127.0.0.1:PORT
const idp = new URLSearchParams(location.search).get("idp");
const client = new ClientCredentials({ tokenEndpoint: `${idp}/token`, clientId: "bundler-app", clientSecret: "s3cret" });

const b64url = (value) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

export const scenarios = {
  decodeJwt() {
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: "bundler-app", exp: 2000000000 })}.`;
    const decoded = decodeJwt(token);
    expect(decoded.claims?.sub === "bundler-app", `decoded ${JSON.stringify(decoded)}`);
  },
  async getToken() {
    const tokens = await client.getToken();
    expect(tokens.access_token === "bundler-token", `got ${JSON.stringify(tokens)}`);
  },
  invalidConfig() {
    try {
      new ClientCredentials({ clientId: "no-endpoint" });
    } catch (e) {
      expect(e.name === "GrantkitError" && e.code === "INVALID_CONFIG", `threw ${e.name} ${e.code}`);
      return;
    }
    throw new Error("no error thrown");
  },
};
