// For the DOM setting only (no @types/node): what the README's examples use
// of Node.
declare module "node:fs" {
  export function readFileSync(path: string, encoding: "utf8"): string;
}
declare const process: { env: Record<string, string> };
