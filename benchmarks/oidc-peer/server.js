// The peer of TokenGate's load benchmarks: oidc-provider (an OpenID-certified Node.js authorization server) serving
// client_credentials grants (POST /token) and RFC 7662 introspection (POST /token/introspection) on loopback.
//
// Set up as a fair production peer, not its quick-start mode: its own signing key (not the development keystore), no
// development interactions, and a storage adapter that keeps every token (a Map, not the bundled 1000-entry LRU, which
// would forget tokens under load and make introspection answer "inactive" cheaply).
//
// Environment: PORT (required), CLIENT_ID and CLIENT_SECRET (the one client, authenticating with client_secret_basic).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error('PORT must be set to the port to listen on.');
  process.exit(2);
}

const clientId = process.env.CLIENT_ID ?? 'bench';
const clientSecret = process.env.CLIENT_SECRET;
if (!clientSecret) {
  console.error('CLIENT_SECRET must be set.');
  process.exit(2);
}

// Every stored object (tokens and any other model), kept until it is destroyed: nothing is evicted.
const storage = new Map();

class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload) {
    storage.set(this.key(id), payload);
    if (payload.uid) {
      storage.set(`uid:${payload.uid}`, id);
    }
    if (payload.userCode) {
      storage.set(`userCode:${payload.userCode}`, id);
    }
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const members = storage.get(grantKey) ?? new Set();
      members.add(this.key(id));
      storage.set(grantKey, members);
    }
  }

  async find(id) {
    return storage.get(this.key(id));
  }

  async findByUid(uid) {
    const id = storage.get(`uid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = storage.get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storage.get(this.key(id));
    if (payload) {
      payload.consumed = Math.floor(Date.now() / 1000);
    }
  }

  async destroy(id) {
    storage.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of storage.get(grantKey) ?? []) {
      storage.delete(key);
    }
    storage.delete(grantKey);
  }
}

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    clientCredentials: { enabled: true },
    // A client may introspect only the tokens issued to it.
    introspection: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
    devInteractions: { enabled: false },
  },
  jwks: { keys: [signingKey] },
  scopes: ['api'],
  // Tokens live 12 hours, as TokenGate's.
  ttl: { ClientCredentials: 43200 },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${issuer} ready (client ${clientId})`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
