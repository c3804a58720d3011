#!/usr/bin/env python3
"""RSA PKCS#1 v1.5 decryption helper of the reference ACP server (tests/acp/server.mjs).

An implementation independent of the code under test (and of node:crypto, which
refuses PKCS#1 v1.5 decryption on Node 20+): Python `cryptography`.

Protocol: JSON lines on stdin / stdout.
  first line in:  {"private_key_pem": "-----BEGIN PRIVATE KEY-----..."}
  first line out: {"ready": true}
  then in:        {"id": 1, "ciphertext": "<standard base64>"}
  out:            {"id": 1, "ok": true, "plaintext": "<standard base64 of the decrypted bytes>"}
              or  {"id": 1, "ok": false, "error": "..."}
Exits on end of input.

Note: cryptography (OpenSSL 3.2+) applies implicit rejection to PKCS#1 v1.5
decryption: a ciphertext with bad padding usually decrypts to pseudo-random
bytes instead of raising. The server treats anything that is not the expected
JSON as an invalid password encoding.
"""
import base64
import binascii
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    first = sys.stdin.readline()
    if not first:
        return
    key = serialization.load_pem_private_key(json.loads(first)["private_key_pem"].encode("ascii"), password=None)
    reply({"ready": True})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg_id = None
        try:
            msg = json.loads(line)
            msg_id = msg.get("id")
            ct = base64.b64decode(msg["ciphertext"], validate=True)
            pt = key.decrypt(ct, padding.PKCS1v15())
            reply({"id": msg_id, "ok": True, "plaintext": base64.b64encode(pt).decode("ascii")})
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            reply({"id": msg_id, "ok": False, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
