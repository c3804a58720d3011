// The user's side of a sign-in at the local IdP (tests/idp/server.mjs), in
// Chromium: oidc-provider's own login and consent pages (devInteractions),
// typed and clicked as a person would. Shared by the browser tests of
// AuthorizationCode and of the diagnostic page's sign-in.
import { USERS } from '../idp/server.mjs';

/** Signs alice in on the provider's pages of `issuer`; `deny: true` aborts at the consent page. */
export async function signInOnProviderPages(tab, issuer, { deny = false } = {}) {
  await tab.waitForURL(`${issuer}/interaction/**`);
  await tab.fill('input[name="login"]', 'alice');
  await tab.fill('input[name="password"]', USERS.alice.password);
  await tab.click('button[type="submit"]');
  await tab.waitForURL(`${issuer}/interaction/**`);
  if (deny) {
    await tab.click('a[href$="/abort"]');
  } else {
    await tab.click('button[type="submit"]');
  }
}
