// Independent JWT verification for the integration tests: Node's own crypto (OpenSSL), no
// code shared with the Rust signer. Prints {"valid", "header", "payload", "errors"} as JSON.
//
// usage: node verify-jwt.mjs <jwks-url> <token> <expected-aud> <expected-iss>
import { createPublicKey, verify } from 'node:crypto';

const [jwksUrl, token, aud, iss] = process.argv.slice(2);
const errors = [];
const [h, p, s] = token.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
const jwks = await (await fetch(jwksUrl)).json();
const jwk = jwks.keys.find((k) => k.kid === header.kid);
let valid = false;
if (!jwk) {
  errors.push(`no key ${header.kid} in the JWKS`);
} else if (header.alg !== jwk.alg) {
  errors.push(`alg ${header.alg} does not match the key's ${jwk.alg}`);
} else {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  if (header.alg === 'ES256') {
    valid = verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } else if (header.alg === 'EdDSA') {
    valid = verify(null, data, key, signature);
  } else if (header.alg === 'RS256') {
    valid = verify('sha256', data, key, signature);
  } else {
    errors.push(`unexpected alg ${header.alg}`);
  }
  if (!valid) errors.push('bad signature');
}
const now = Math.floor(Date.now() / 1000);
if (payload.aud !== aud) errors.push(`aud ${payload.aud} != ${aud}`);
if (payload.iss !== iss) errors.push(`iss ${payload.iss} != ${iss}`);
if (!(payload.exp > now)) errors.push('expired');
if (!(payload.nbf <= now + 30)) errors.push('not yet valid');
console.log(JSON.stringify({ valid: valid && errors.length === 0, header, payload, errors }));
