// RSA PKCS#1 v1.5 encryptions per second in one Node process: grantkit's
// wasm encryption of the ACP password (encryptAcpPassword: JSON + encrypt +
// base64) against node:crypto publicEncrypt of the same plaintext.
// Run with `make bench`.
import { constants, publicEncrypt } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const publicKey = readFileSync(`${root}tests/fixtures/rsa2048.public.pem`, "utf8");
const { encryptAcpPassword } = await import(`${root}pkg/index.node.js`);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

function rate(fn) {
  for (let i = 0; i < 10; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

const plaintext = Buffer.from(JSON.stringify({ ts: "1700000000123", password: "Adm1n-pass!" }));
const wasm = rate(() => encryptAcpPassword({ publicKey, ts: "1700000000123", password: "Adm1n-pass!" }));
const node = rate(() => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, plaintext).toString("base64"));

// The output is right: Python's cryptography decrypts it to the exact JSON.
const sample = encryptAcpPassword({ publicKey, ts: "1700000000123", password: "Adm1n-pass!" });
const decrypted = execFileSync("python3", ["-c", `
import base64, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
print(key.decrypt(base64.b64decode(sys.argv[2]), padding.PKCS1v15()).decode(), end="")
`, `${root}tests/fixtures/rsa2048.pkcs8.pem`, sample], { encoding: "utf8" });
if (decrypted !== '{"ts":"1700000000123","password":"Adm1n-pass!"}') throw new Error(`decrypted to ${decrypted}`);

console.log(`RSA-2048 PKCS#1 v1.5 encryptions per second, one Node ${process.version} process, ${SECONDS} s each:`);
console.log(`  grantkit wasm (rsa 0.9, encryptAcpPassword)  ${wasm.toFixed(0).padStart(7)}/s   ${(wasm / node).toFixed(3)}x node:crypto`);
console.log(`  node:crypto publicEncrypt                    ${node.toFixed(0).padStart(7)}/s   1.000x`);
console.log("  (output checked: Python cryptography decrypts it to the exact JSON)");
