// RSA PKCS#1 v1.5 decryption helper of the reference ACP server, the Node
// alternative to rsa_decrypt.py (same JSON-lines protocol). Node 20+ refuses
// PKCS#1 v1.5 private decryption (CVE-2023-46809) unless this process is
// started with --security-revert=CVE-2023-46809, which server.mjs does.
import * as crypto from 'node:crypto';
import * as readline from 'node:readline';

const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
let key;
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  if (!key) {
    key = crypto.createPrivateKey(JSON.parse(line).private_key_pem);
    reply({ ready: true });
    return;
  }
  let id = null;
  try {
    const msg = JSON.parse(line);
    id = msg.id ?? null;
    if (typeof msg.ciphertext !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(msg.ciphertext) || msg.ciphertext.length % 4 !== 0) {
      throw new Error('ciphertext is not standard base64');
    }
    const pt = crypto.privateDecrypt({ key, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from(msg.ciphertext, 'base64'));
    reply({ id, ok: true, plaintext: pt.toString('base64') });
  } catch (e) {
    reply({ id, ok: false, error: String(e?.message ?? e) });
  }
});
rl.on('close', () => process.exit(0));
