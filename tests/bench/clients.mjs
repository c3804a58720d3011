// The client-credentials contenders: one configured client each (made once,
// as an application would) whose acquire() sends one token request (client
// secret in a Basic header, RFC 6749 §2.3.1) and resolves with the access
// token. The runtime's global fetch carries all of them. Runs in Node
// (acquire.mjs) and bundled into a worker (workerd/acquire.mjs): the caller
// passes the grantkit module its runtime loads.
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants before base64. */
const formEncode = (s) => new URLSearchParams({ s }).toString().slice(2);

/**
 * @param {{ClientCredentials: Function}} grantkitModule
 * @param {{tokenEndpoint: string, clientId: string, clientSecret: string, scope: string}} server
 */
export function clientCredentialsContenders({ ClientCredentials }, server) {
  const { tokenEndpoint, clientId, clientSecret, scope } = server;
  const issuer = new URL(tokenEndpoint).origin;

  const grantkit = new ClientCredentials({ tokenEndpoint, clientId, clientSecret, scope });

  const as = { issuer, token_endpoint: tokenEndpoint };
  const o4wClient = { client_id: clientId };
  const o4wAuth = oauth.ClientSecretBasic(clientSecret);
  const o4wOptions = { [oauth.allowInsecureRequests]: true };

  const openidConfig = new openid.Configuration(as, clientId, clientSecret, openid.ClientSecretBasic(clientSecret));
  openid.allowInsecureRequests(openidConfig);

  const basic = `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope }).toString();

  return [
    { name: 'grantkit', acquire: async () => (await grantkit.getToken()).access_token },
    {
      name: 'oauth4webapi',
      acquire: async () => {
        const response = await oauth.clientCredentialsGrantRequest(as, o4wClient, o4wAuth, new URLSearchParams({ scope }), o4wOptions);
        return (await oauth.processClientCredentialsResponse(as, o4wClient, response)).access_token;
      },
    },
    { name: 'openid-client', acquire: async () => (await openid.clientCredentialsGrant(openidConfig, { scope })).access_token },
    {
      // The floor: what a hand-written client does, no checks beyond these.
      name: 'bare fetch',
      acquire: async () => {
        const res = await fetch(tokenEndpoint, {
          method: 'POST',
          redirect: 'manual',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
          body,
        });
        const json = JSON.parse(await res.text());
        if (res.status !== 200 || typeof json.access_token !== 'string') throw new Error(`token request answered ${res.status}`);
        return json.access_token;
      },
    },
  ];
}
