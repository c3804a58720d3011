// For the Node setting: the examples read secrets from these variables and
// assume they are set (the usual way to type process.env).
declare namespace NodeJS {
  interface ProcessEnv {
    KC_SECRET: string;
    ENTRA_SECRET: string;
    ALICE_PASSWORD: string;
    ACP_PASSWORD: string;
  }
}
// The page's location, which the browser examples (AuthorizationCode in an
// admin console) read; the DOM setting has the real one.
declare const location: { readonly pathname: string; readonly href: string; assign(url: string): void };
