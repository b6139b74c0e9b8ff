// A real OpenID Provider for Tentabo's integration tests: panva's certified `oidc-provider`
// (installed by tests/oidc/oidc.sh, which starts this file) with static accounts, a minimal
// login form, automatic consent and a few /__test/ control endpoints.
//
// Environment:
//   OIDC_PORT           port on 127.0.0.1 (default 0 = any free port)
//   OIDC_ISSUER_PATH    optional issuer path, e.g. /tenant-a (default empty); the issuer is
//                       http://127.0.0.1:<port><OIDC_ISSUER_PATH> and the provider's endpoints
//                       (/.well-known/openid-configuration, /auth, /token, /jwks, /me, ...)
//                       live under it; /interaction/ and /__test/ always live at the root
//   OIDC_CLIENT_ID      (default tentabo)      the single, confidential client:
//   OIDC_CLIENT_SECRET  (default tentabo-secret) client_secret_basic, authorization_code,
//   OIDC_REDIRECT_URIS  (required, comma separated) response_type code, PKCE S256 required,
//                       RS256 ID Tokens
//   OIDC_MODULES_DIR    where node_modules/oidc-provider is (set by oidc.sh)
//
// stdout carries exactly one line, `READY <port>`, once listening; all logs go to stderr.
//
// Login: GET /interaction/<uid> answers the form
//   <form method="post" action="/interaction/<uid>/login">
//     input name/id `login` (label "Username"), input name/id `password` (label "Password"),
//     button id `submit` ("Sign in")
// POST /interaction/<uid>/login (urlencoded): wrong credentials -> 200 with the form again and
// "Invalid username or password"; right ones -> 303 back to the authorization endpoint.
// Consent is granted automatically (no page): GET /interaction/<uid> answers 303.
//
// Control endpoints (test only):
//   POST /__test/rotate  -> {"kid": "..."}: new RSA signing key, the old one leaves the JWKS
//   POST /__test/tamper  {"mode": M} -> {"mode": M}: corrupt the id_token of the NEXT token
//        response only; M = wrong_aud | wrong_nonce | expired | unknown_kid | alg_none |
//        wrong_iss | future_iat | off
//   GET  /__test/health  -> 200 "ok"

// stdout is reserved for the READY line, but oidc-provider prints its notices with
// console.info: send every console output to stderr (the package is imported below, after this).
console.log = console.info = console.debug = (...args) => console.error(...args);

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const log = (...args) => console.error('[oidc]', ...args);

// ---------------------------------------------------------------------------------------------
// Configuration

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODULES_DIR = process.env.OIDC_MODULES_DIR || path.join(ROOT, '.dev', 'oidc');
const PORT = Number(process.env.OIDC_PORT || 0);
// '/x/' -> '/x', 'x' -> '/x', '' -> ''
const ISSUER_PATH = (process.env.OIDC_ISSUER_PATH || '').replace(/^\/*/, '/').replace(/\/+$/, '');
const CLIENT_ID = process.env.OIDC_CLIENT_ID || 'tentabo';
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET || 'tentabo-secret';
const REDIRECT_URIS = (process.env.OIDC_REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (REDIRECT_URIS.length === 0) {
  log('OIDC_REDIRECT_URIS is required (comma separated)');
  process.exit(2);
}

// ESM ignores NODE_PATH: resolve the package from the install directory explicitly.
const requireFromModules = createRequire(path.join(MODULES_DIR, 'package.json'));
const oidc = await import(pathToFileURL(requireFromModules.resolve('oidc-provider')).href);
const Provider = oidc.Provider ?? oidc.default; // 9.x exports { Provider }, 8.x a default export

// ---------------------------------------------------------------------------------------------
// Accounts (static). The accountId is the `sub`; logins are looked up by username.

const TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

const ACCOUNTS = [
  {
    login: 'alice',
    password: 'alice-pw',
    claims: {
      sub: 'sub-alice',
      email: 'alice@partner-a.test',
      email_verified: true,
      name: 'Alice Martin',
      given_name: 'Alice',
      family_name: 'Martin',
      preferred_username: 'alice@partner-a.test',
      groups: ['tentabo-partner-a-sales'],
      roles: ['Tentabo.PartnerSales'],
      oid: 'a11ce000-0000-4000-8000-000000000001',
      tid: TENANT_ID,
    },
  },
  {
    login: 'amelie',
    password: 'amelie-pw',
    claims: {
      sub: 'sub-amelie',
      email: 'amelie@tentabo.test',
      email_verified: true,
      name: 'Amélie Dupré-Lefèvre',
      given_name: 'Amélie',
      family_name: 'Dupré-Lefèvre',
      preferred_username: 'amelie@tentabo.test',
      groups: ['tentabo-admins'],
      roles: ['Tentabo.Admin'],
      oid: 'a3e11e00-0000-4000-8000-000000000002',
      tid: TENANT_ID,
    },
  },
  {
    // Same groups/roles as alice: only the unverified email differs.
    login: 'victor',
    password: 'victor-pw',
    claims: {
      sub: 'sub-victor',
      email: 'victor@partner-a.test',
      email_verified: false,
      name: 'Victor Moreau',
      given_name: 'Victor',
      family_name: 'Moreau',
      preferred_username: 'victor@partner-a.test',
      groups: ['tentabo-partner-a-sales'],
      roles: ['Tentabo.PartnerSales'],
      oid: 'f1c70400-0000-4000-8000-000000000003',
      tid: TENANT_ID,
    },
  },
  {
    login: 'nobody',
    password: 'nobody-pw',
    claims: {
      sub: 'sub-nobody',
      email: 'nobody@elsewhere.test',
      email_verified: true,
      name: 'Nobody Elsewhere',
      given_name: 'Nobody',
      family_name: 'Elsewhere',
      preferred_username: 'nobody@elsewhere.test',
      groups: [],
      roles: [],
      oid: 'b0d1e500-0000-4000-8000-000000000004',
      tid: TENANT_ID,
    },
  },
];
const BY_LOGIN = new Map(ACCOUNTS.map((a) => [a.login, a]));
const BY_SUB = new Map(ACCOUNTS.map((a) => [a.claims.sub, a]));

// oidc-provider filters these by the granted scopes/claims, for the ID Token and userinfo alike.
async function findAccount(ctx, sub) {
  const account = BY_SUB.get(sub);
  if (!account) return undefined;
  return { accountId: sub, claims: async () => structuredClone(account.claims) };
}

// ---------------------------------------------------------------------------------------------
// Keys and JWTs (node:crypto; RS256 = RSASSA-PKCS1-v1_5 with SHA-256)

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unb64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

function newRsaKey(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

let keyCounter = 0;
const newSigningKey = () => newRsaKey(`test-key-${++keyCounter}-${crypto.randomBytes(4).toString('hex')}`);

function signRs256(header, payload, key) {
  const input = `${b64json({ ...header, alg: 'RS256', kid: key.kid })}.${b64json(payload)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------
// ID Token tampering (one shot, applied to the next token endpoint response)

const TAMPER_MODES = new Set(['wrong_aud', 'wrong_nonce', 'expired', 'unknown_kid', 'alg_none',
  'wrong_iss', 'future_iat', 'off']);
let tamperMode = 'off';

function tamperIdToken(idToken, mode) {
  const [headerPart, payloadPart] = idToken.split('.');
  const header = unb64json(headerPart);
  const claims = unb64json(payloadPart);
  const now = Math.floor(Date.now() / 1000);
  let key = current.key; // re-signed with the provider's current key unless said otherwise
  switch (mode) {
    case 'wrong_aud': claims.aud = 'someone-else'; break;
    case 'wrong_nonce': claims.nonce = 'not-the-nonce'; break;
    case 'expired': claims.iat = now - 1200; claims.exp = now - 600; break;
    case 'future_iat': claims.iat = now + 3600; claims.exp = now + 7200; break;
    case 'wrong_iss': claims.iss = 'http://127.0.0.1:1/evil'; break;
    case 'unknown_kid': key = newRsaKey('rogue-key'); break; // never published in the JWKS
    case 'alg_none': return `${b64json({ alg: 'none' })}.${b64json(claims)}.`;
    default: throw new Error(`unknown tamper mode ${mode}`);
  }
  return signRs256(header, claims, key);
}

// Koa middleware run before oidc-provider's own routes; rewrites the finished token response.
async function tamperMiddleware(ctx, next) {
  await next();
  if (tamperMode === 'off' || ctx.method !== 'POST' || ctx.path !== '/token') return;
  if (ctx.status !== 200 || typeof ctx.body?.id_token !== 'string') return;
  const mode = tamperMode;
  tamperMode = 'off';
  ctx.body = { ...ctx.body, id_token: tamperIdToken(ctx.body.id_token, mode) };
  log(`tampered the id_token (${mode})`);
}

// ---------------------------------------------------------------------------------------------
// Provider

// Fixed for the process so sessions and interactions survive a key rotation (new instance).
const COOKIE_KEYS = [crypto.randomBytes(32).toString('base64url')];

const htmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function renderError(ctx, out, error) {
  log('error page:', out.error, out.error_description ?? '', error?.message ?? '');
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Error</title></head><body>
<h1 id="error">${htmlEscape(out.error)}</h1><p id="error_description">${htmlEscape(out.error_description ?? '')}</p>
</body></html>`;
}

function buildProvider(issuer, key) {
  // oidc-provider consumes (deletes) `jwks` and `clients` from the object: build it anew each time.
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: REDIRECT_URIS,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [structuredClone(key.jwk)] },
    findAccount,
    // Scope -> claims. The custom claims ride on `openid`, so `scope=openid email profile`
    // yields everything; conformIdTokenClaims: false puts them in the ID Token too (no userinfo
    // call needed, though /me still answers them).
    claims: {
      openid: ['sub', 'groups', 'roles', 'oid', 'tid'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    conformIdTokenClaims: false,
    // Plain http on 127.0.0.1: SameSite=None cookies without Secure are dropped by browsers.
    cookies: {
      keys: COOKIE_KEYS,
      long: { signed: true, sameSite: 'lax' },
      short: { signed: true, sameSite: 'lax' },
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { methods: ['S256'], required: () => true },
    // Lifetimes in seconds (explicit: the defaults print notices). ID Tokens live one hour.
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Grant: 86400,
      Session: 86400,
    },
    renderError,
  });
  provider.use(tamperMiddleware);
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error',
    'end_session.error']) {
    provider.on(event, (ctx, err) => log(`${event}:`, err.error ?? err.name, err.error_description ?? err.message));
  }
  return provider;
}

// The instance the HTTP server delegates to; replaced on /__test/rotate. The in-memory adapter's
// storage is module-level, so sessions, interactions, grants and codes survive the swap.
let current = null; // { key, provider, handler }
let ISSUER = null;

function installProvider(key) {
  const provider = buildProvider(ISSUER, key);
  current = { key, provider, handler: provider.callback() };
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

function send(res, status, type, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
const sendJson = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));
const sendText = (res, status, text) => send(res, status, 'text/plain; charset=utf-8', text);

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Interactions (replace oidc-provider's devInteractions)

function loginPage(res, uid, error) {
  const message = error ? `<p id="error" role="alert">${htmlEscape(error)}</p>\n` : '';
  send(res, 200, 'text/html; charset=utf-8', `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in</h1>
${message}<form method="post" action="/interaction/${encodeURIComponent(uid)}/login">
<label for="login">Username</label> <input id="login" name="login" type="text" autocomplete="username" autofocus>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button id="submit" type="submit">Sign in</button>
</form>
</body></html>
`);
}

// Grant whatever the request asks for, as a user clicking "Allow" would.
async function autoConsent(provider, req, res, details) {
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function handleInteraction(req, res, pathname) {
  const match = pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return sendText(res, 404, 'not found');
  const [, uid, login] = match;
  const { provider } = current;
  // Found through the signed `_interaction` cookie (path /interaction/<uid>).
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return sendText(res, 400, 'interaction cookie does not match the URL');
  const prompt = details.prompt.name;

  if (req.method === 'GET' && !login) {
    if (prompt === 'login') return loginPage(res, uid);
    if (prompt === 'consent') return autoConsent(provider, req, res, details);
    return sendText(res, 400, `unsupported prompt ${prompt}`);
  }
  if (req.method === 'POST' && login) {
    if (prompt !== 'login') return sendText(res, 400, `expected the login prompt, got ${prompt}`);
    const form = new URLSearchParams(await readBody(req));
    const account = BY_LOGIN.get(form.get('login') ?? '');
    if (!account || account.password !== form.get('password')) {
      log(`login failed for ${JSON.stringify(form.get('login'))}`);
      return loginPage(res, uid, 'Invalid username or password');
    }
    log(`login ${account.login} (${account.claims.sub})`);
    return provider.interactionFinished(req, res, { login: { accountId: account.claims.sub } },
      { mergeWithLastSubmission: false });
  }
  return sendText(res, 405, 'method not allowed');
}

// ---------------------------------------------------------------------------------------------
// Test control endpoints

async function handleControl(req, res, pathname) {
  if (req.method === 'GET' && pathname === '/__test/health') return sendText(res, 200, 'ok');
  if (req.method === 'POST' && pathname === '/__test/rotate') {
    const key = newSigningKey();
    installProvider(key);
    log(`rotated the signing key, kid ${key.kid}`);
    return sendJson(res, 200, { kid: key.kid });
  }
  if (req.method === 'POST' && pathname === '/__test/tamper') {
    let mode;
    try {
      ({ mode } = JSON.parse(await readBody(req)));
    } catch {
      return sendJson(res, 400, { error: 'expected a JSON body {"mode": "..."}' });
    }
    if (!TAMPER_MODES.has(mode)) {
      return sendJson(res, 400, { error: `unknown mode ${JSON.stringify(mode)}`, modes: [...TAMPER_MODES] });
    }
    tamperMode = mode;
    log(`next id_token tamper mode: ${mode}`);
    return sendJson(res, 200, { mode });
  }
  return sendText(res, 404, 'not found');
}

// ---------------------------------------------------------------------------------------------
// Server

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  res.on('finish', () => log(`${req.method} ${pathname} ${res.statusCode}`));
  try {
    if (pathname.startsWith('/__test/')) return await handleControl(req, res, pathname);
    if (!current) return sendText(res, 503, 'starting');
    if (pathname.startsWith('/interaction/')) return await handleInteraction(req, res, pathname);
    if (ISSUER_PATH) {
      if (pathname !== ISSUER_PATH && !pathname.startsWith(`${ISSUER_PATH}/`)) {
        return sendText(res, 404, 'not found');
      }
      // Mounted like express' app.use(path, ...): oidc-provider reads the prefix from originalUrl.
      req.originalUrl = req.url;
      req.url = req.url.slice(ISSUER_PATH.length) || '/';
    }
    return await current.handler(req, res);
  } catch (err) {
    // Mostly SessionNotFound from interactionDetails (missing/expired interaction cookie).
    log('request failed:', err.error ?? err.name, err.error_description ?? err.message);
    if (!res.headersSent) {
      sendText(res, err.statusCode ?? err.status ?? 500,
        `${err.error ?? 'server_error'}: ${err.error_description ?? err.message}`);
    }
  }
});

server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  ISSUER = `http://127.0.0.1:${port}${ISSUER_PATH}`;
  installProvider(newSigningKey());
  log(`issuer ${ISSUER}, client ${CLIENT_ID}, redirect_uris ${REDIRECT_URIS.join(' ')}`);
  process.stdout.write(`READY ${port}\n`);
});

function shutdown(signal) {
  log(`${signal}: closing`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
