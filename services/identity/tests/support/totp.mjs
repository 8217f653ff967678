// An independent RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) on Node's crypto, so tests do not
// check the service's TOTP with its own code path.
// Usage: node totp.mjs <base32-secret> [unix-seconds]  → prints the code.
import { createHmac } from "node:crypto";

const [secret, at] = process.argv.slice(2);
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
let bits = "";
for (const ch of secret.replace(/=+$/, "").toUpperCase()) {
  const v = alphabet.indexOf(ch);
  if (v < 0) throw new Error(`not base32: ${ch}`);
  bits += v.toString(2).padStart(5, "0");
}
const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
const t = Math.floor((at ? Number(at) : Date.now() / 1000) / 30);
const msg = Buffer.alloc(8);
msg.writeBigUInt64BE(BigInt(t));
const mac = createHmac("sha1", key).update(msg).digest();
const off = mac[mac.length - 1] & 0xf;
const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
process.stdout.write(String(bin).padStart(6, "0"));
