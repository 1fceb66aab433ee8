// A real OpenID Provider for tests/oidc.rs: the certified `oidc-provider`
// package, on loopback, with one confidential client (Afisha) and no login
// page: the person who "signs in" at the next interaction is set by the test
// with `POST /control/account` (JSON: sub, email, email_verified, name,
// groups). A fresh RSA signing key (new `kid`) at every start, so restarting
// the process on the same port is a key rotation.
//
// `POST /control/tamper` (JSON: {"mode": …}) spoils the ID token of the
// next token response: "signature" (signed by another key under the same
// kid), "audience", "expired" or "nonce" (re-signed by the real key).
//
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI.
// Prints "ready <issuer>" on stdout when it listens.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import { SignJWT, decodeJwt } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

let account = null;
let tamper = null;

async function spoil(idToken, mode) {
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === 'signature') key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  if (mode === 'audience') claims.aud = 'someone-else';
  if (mode === 'expired') { claims.iat = now - 7200; claims.exp = now - 3600; }
  if (mode === 'nonce') claims.nonce = 'not-the-nonce';
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(key);
}

// Rewrites the JSON body of a token response on its way out.
function spoilTokenResponse(res, mode) {
  const chunks = [];
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  res.end = (chunk, ...rest) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    const body = JSON.parse(Buffer.concat(chunks).toString());
    spoil(body.id_token, mode).then((token) => {
      body.id_token = token;
      const text = JSON.stringify(body);
      res.setHeader('content-length', Buffer.byteLength(text));
      write(text);
      end();
    });
    return res;
  };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The claims of the scopes in the ID token itself (Afisha reads no
  // userinfo endpoint).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['afisha-test-cookie-key'] },
  async findAccount(ctx, sub) {
    if (!account || account.sub !== sub) return undefined;
    const claims = { ...account };
    return { accountId: sub, claims: async () => claims };
  },
});

const callback = provider.callback();

function body(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/control/account') {
      account = JSON.parse(await body(req));
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/control/tamper') {
      tamper = JSON.parse(await body(req)).mode;
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url.startsWith('/token') && tamper) {
      spoilTokenResponse(res, tamper);
      tamper = null;
    }
    if (req.url.startsWith('/interaction/')) {
      // Sign the chosen person in and grant every scope asked for.
      const details = await provider.interactionDetails(req, res);
      if (!account) {
        await provider.interactionFinished(req, res, {
          error: 'access_denied',
          error_description: 'no account chosen by the test',
        });
        return;
      }
      const grant = new provider.Grant({ accountId: account.sub, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, {
        login: { accountId: account.sub },
        consent: { grantId },
      }, { mergeWithLastSubmission: false });
      return;
    }
    callback(req, res);
  } catch (e) {
    process.stderr.write(`provider: ${e.stack || e}\n`);
    res.writeHead(500).end(String(e));
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
