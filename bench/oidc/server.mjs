// The peer a user would pick instead of control-plane: node-oidc-provider's client_credentials
// token endpoint issuing ES256 JWT access tokens (RFC 9068) for one resource server.
// Usage: node server.mjs <port>
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 18183);
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-1' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'wl-a',
    client_secret: 'bench-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'offers:sync trader:purchase',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  scopes: ['offers:sync', 'trader:purchase'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:tessera:wl-b',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'offers:sync trader:purchase',
        audience: 'wl-b',
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.listen(port, () => console.log(`oidc-provider listening on ${port}`));
