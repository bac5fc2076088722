// Drives TokenGate's OAuth2 endpoints with openid-client (https://github.com/panva/node-openid-client), an independent OAuth2
// client library, and prints what it saw as one JSON object. Run by OAuth2ClientLibraryTests with:
//   TOKENGATE_URL=http://127.0.0.1:PORT/ CLIENT_ID=... CLIENT_SECRET=... RESOURCE_ID=... RESOURCE_SECRET=... node check.js
'use strict';
const { Issuer, errors } = require('openid-client');

async function main() {
  const base = process.env.TOKENGATE_URL;
  const issuer = new Issuer({
    issuer: base,
    token_endpoint: `${base}oauth2/token`,
    introspection_endpoint: `${base}oauth2/introspect`,
    revocation_endpoint: `${base}oauth2/revoke`,
  });
  const client = new issuer.Client({ client_id: process.env.CLIENT_ID, client_secret: process.env.CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' });
  const resourceServer = new issuer.Client({ client_id: process.env.RESOURCE_ID, client_secret: process.env.RESOURCE_SECRET, token_endpoint_auth_method: 'client_secret_basic' });
  const postClient = new issuer.Client({ client_id: process.env.CLIENT_ID, client_secret: process.env.CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post' });

  const tokenSet = await client.grant({ grant_type: 'client_credentials' });
  const viaPost = await postClient.grant({ grant_type: 'client_credentials' });
  const active = await resourceServer.introspect(tokenSet.access_token, 'access_token');
  await client.revoke(tokenSet.access_token, 'access_token');
  const afterRevoke = await resourceServer.introspect(tokenSet.access_token);

  const failure = async (action) => {
    try {
      await action();
      return null;
    } catch (error) {
      return { op: error instanceof errors.OPError, error: error.error, status: error.response && error.response.statusCode };
    }
  };
  const wrongSecret = await failure(() => new issuer.Client({ client_id: process.env.CLIENT_ID, client_secret: 'wrong secret' }).grant({ grant_type: 'client_credentials' }));
  const notResourceServer = await failure(() => client.introspect(viaPost.access_token));
  const wrongGrant = await failure(() => client.grant({ grant_type: 'password', username: 'x', password: 'y' }));

  process.stdout.write(JSON.stringify({
    tokenSet: { access_token: tokenSet.access_token, token_type: tokenSet.token_type, expires_in: tokenSet.expires_in, expired: tokenSet.expired() },
    viaPost: { access_token: viaPost.access_token },
    active,
    afterRevoke,
    wrongSecret,
    notResourceServer,
    wrongGrant,
  }));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack}\n`);
  process.exit(1);
});
