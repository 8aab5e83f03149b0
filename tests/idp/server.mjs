// Portcullis test identity provider.
//
// A real OpenID provider (npm `oidc-provider` 9.x) that the C# integration tests start as a child process:
//
//   IDP_CONFIG='{"port":5101}' node tests/idp/server.mjs
//
// It prints exactly one line `IDP_LISTENING <issuer>` on stdout once it accepts connections, binds to
// 127.0.0.1 only and exits on SIGTERM/SIGINT. Everything is kept in memory and a restart starts from scratch, unless
// IDP_CONFIG.stateDirectory names a directory: then every model (grants, sessions, tokens, codes) is one JSON file in it,
// written through before the provider answers, the signing keys (jwks.json) and cookie keys are created once and kept,
// and the recorded events and tokens survive too. A process killed (SIGKILL) and started again with the same
// configuration then honours every grant, token and session it had issued, as a real provider with a database would.
//
// Besides the standard OpenID endpoints (discovery at <issuer>/.well-known/openid-configuration) it serves:
//   GET  /interaction/:uid        our own minimal login page (no external resources)
//   POST /interaction/:uid/login  username/password check (password is `password` for every user)
//   GET  /test/events             recorded events (token, revocation, end_session, backchannel, grant_revoked, ...)
//   GET  /test/tokens             every token response the token endpoint returned
//   POST /test/reset              clears events and tokens
//   POST /test/sign               {"payload", "header"?}: a JWS signed with the provider's key (forged-token tests)
//   POST /test/rewrite-token-answer {"grantType", "patch"? | "body"?}: the next successful token answer of that grant
//                                 type gets `patch` merged into it or is replaced by `body` (odd provider answers)
//   POST /test/forge-id-token     {"mode", "foreignKey"?, "grantType"?}: the next code exchange (or refresh, with
//                                 grantType "refresh_token") answers with a forged id_token
//   GET  /test/signing-key        the provider's private signing key as a JWK (to mint "foreign" tokens elsewhere)
//   POST /test/userinfo-extra     {"claims"}: every userinfo answer from now on also carries these claims (claim-source tests)
//   POST /test/outage             {"mode":"up"|"down"|"hang"}: simulated outage of the protocol endpoints
//   POST /test/revoke-grant       {"accountId"}: revokes every grant (and its tokens) of that account
//   POST /test/backchannel-logout {"accountId","clientId"}: sends real logout tokens to the client
//
// oidc-provider on Node 20 prints an "unsupported runtime" warning on stderr; that is expected.

import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import Provider, { errors } from 'oidc-provider';

const PASSWORD = 'password';

// ---------------------------------------------------------------------------------------------------------
// Configuration (env IDP_CONFIG, JSON)
// ---------------------------------------------------------------------------------------------------------

const DEFAULT_CLIENTS = [{
  client_id: 'bff',
  client_secret: 'bff-secret',
  token_endpoint_auth_method: 'client_secret_basic',
  redirect_uris: ['http://localhost:5000/bff/callback/main'],
  post_logout_redirect_uris: ['http://localhost:5000/'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
}];

const DEFAULT_USERS = {
  alice: {
    name: 'Alice Example',
    given_name: 'Alice',
    family_name: 'Example',
    email: 'alice@example.com',
    email_verified: true,
  },
  bob: {
    name: 'Bob Example',
    given_name: 'Bob',
    family_name: 'Example',
    email: 'bob@example.com',
    email_verified: true,
  },
};

function readConfig() {
  let raw;
  try {
    raw = JSON.parse(process.env.IDP_CONFIG || '{}');
  } catch (err) {
    throw new Error(`IDP_CONFIG is not valid JSON: ${err.message}`);
  }
  const port = Number(raw.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error('IDP_CONFIG.port (number) is required');
  }
  return {
    port,
    issuer: raw.issuer || `http://127.0.0.1:${port}`,
    accessTokenTtl: raw.accessTokenTtl ?? 120,
    // Lifetime of access tokens from the refresh_token grant; defaults to accessTokenTtl. Storm tests give the
    // refreshed token a long life so that a storm outlasting the first token's due time cannot make it due again.
    refreshedAccessTokenTtl: raw.refreshedAccessTokenTtl ?? raw.accessTokenTtl ?? 120,
    idTokenTtl: raw.idTokenTtl ?? 3600,
    refreshTokenTtl: raw.refreshTokenTtl ?? 86400,
    rotateRefreshToken: raw.rotateRefreshToken ?? true,
    clients: raw.clients ?? DEFAULT_CLIENTS,
    users: raw.users ?? DEFAULT_USERS,
    // Authentication context classes this provider can satisfy; a login reports the first requested one it
    // supports (acr_values), else the first of these.
    acrValues: raw.acrValues ?? ['urn:portcullis:loa:1', 'urn:portcullis:loa:2'],
    // Overrides merged into oidc-provider's `features` by name, e.g. {"pushedAuthorizationRequests":{"enabled":true,
    // "requirePushedAuthorizationRequests":true},"dPoP":{"nonceSecret":"<32 bytes hex>"}}. PAR is off unless asked for.
    features: raw.features ?? {},
    // DPoP nonces demanded on every token endpoint call (features.dPoP.requireNonce) when true.
    requireDPoPNonce: raw.requireDPoPNonce ?? false,
    // Opt-in persistence across restarts (see the header); null: memory only.
    stateDirectory: raw.stateDirectory ?? null,
    // Resource servers (RFC 8707) by resource indicator, e.g. {"https://orders.test/": {"scope": "api",
    // "accessTokenFormat": "jwt", "audience": "orders"}}; scope defaults to "api", the format to "jwt" and the audience
    // to the indicator. Null: resource indicators off, every access token opaque and good at userinfo.
    resources: raw.resources ?? null,
    // RFC 8693 token exchange (grant type urn:ietf:params:oauth:grant-type:token-exchange) of this provider's own access
    // tokens for a JWT access token of one of `resources`; a client must list the grant type to use it. Off unless true.
    tokenExchange: raw.tokenExchange ?? false,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Persistence (IDP_CONFIG.stateDirectory): one JSON file per model, replaced atomically on every write
// ---------------------------------------------------------------------------------------------------------

/** Writes `value` as JSON to `file` so that a process killed at any moment leaves the old or the new file, never half. */
function writeJsonAtomically(file, value) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(value));
  fs.renameSync(temporary, file);
}

function readJsonFile(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return fallback;
    throw err;
  }
}

/**
 * An oidc-provider adapter that keeps one model's entries in `<directory>/<model>.json`: in memory for reads, written
 * through synchronously before the call returns, so whatever the provider answered is on disk when the answer leaves
 * (a rotated refresh token is saved before its response is sent, as with a real provider's database).
 */
function fileAdapterFactory(directory) {
  return class FileAdapter {
    constructor(model) {
      this.model = model;
      this.file = path.join(directory, `${model}.json`);
      this.entries = readJsonFile(this.file, {}); // id -> { payload, expiresAt (ms, or null) }
    }

    save() {
      const now = Date.now();
      for (const [id, entry] of Object.entries(this.entries)) {
        if (entry.expiresAt !== null && entry.expiresAt <= now) delete this.entries[id];
      }
      writeJsonAtomically(this.file, this.entries);
    }

    live(id) {
      const entry = id === undefined ? undefined : this.entries[id];
      if (!entry || (entry.expiresAt !== null && entry.expiresAt <= Date.now())) return undefined;
      return entry;
    }

    async upsert(id, payload, expiresIn) {
      this.entries[id] = { payload, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null };
      this.save();
    }

    async find(id) {
      const entry = this.live(id);
      return entry ? structuredClone(entry.payload) : undefined;
    }

    async findByUid(uid) {
      const id = Object.keys(this.entries).find((key) => this.live(key)?.payload.uid === uid);
      return this.find(id);
    }

    async findByUserCode(userCode) {
      const id = Object.keys(this.entries).find((key) => this.live(key)?.payload.userCode === userCode);
      return this.find(id);
    }

    async consume(id) {
      const entry = this.live(id);
      if (!entry) return;
      entry.payload.consumed = Math.floor(Date.now() / 1000);
      this.save();
    }

    async destroy(id) {
      delete this.entries[id];
      this.save();
    }

    async revokeByGrantId(grantId) {
      for (const [id, entry] of Object.entries(this.entries)) {
        if (entry.payload.grantId === grantId) delete this.entries[id];
      }
      this.save();
    }

    /** Every live entry as [id, payload] (to rebuild the per-account bookkeeping after a restart). */
    payloads() {
      return Object.keys(this.entries).filter((id) => this.live(id)).map((id) => [id, this.entries[id].payload]);
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// What the tests can observe: events, issued tokens, grants and sessions per account
// ---------------------------------------------------------------------------------------------------------

const recorded = { events: [], tokens: [] };
// With a state directory the record is written through, so a test's view spans provider restarts.
const recordFile = { path: null };

function loadRecord(directory) {
  recordFile.path = path.join(directory, 'recorded.json');
  Object.assign(recorded, readJsonFile(recordFile.path, recorded));
}

function saveRecord() {
  if (recordFile.path) writeJsonAtomically(recordFile.path, recorded);
}
const grantsByAccount = new Map(); // accountId -> Set<grantId>
// session uid (stable, unlike the session id which is rotated on login) -> { accountId, authorizations }
// where authorizations is { clientId: { sid, grantId } }
const sessions = new Map();

function recordEvent(type, details = {}) {
  recorded.events.push({ type, at: new Date().toISOString(), ...details });
  saveRecord();
}

function sha256Hex(value) {
  return createHash('sha256').update(String(value)).digest('hex');
}

// Provider events keep our bookkeeping of grants/sessions (the memory adapter cannot be queried by account)
// and record what the tests want to see.
function trackProviderEvents(provider) {
  provider.on('grant.saved', (grant) => {
    if (!grantsByAccount.has(grant.accountId)) grantsByAccount.set(grant.accountId, new Set());
    grantsByAccount.get(grant.accountId).add(grant.jti);
  });
  provider.on('grant.destroyed', (grant) => grantsByAccount.get(grant.accountId)?.delete(grant.jti));
  provider.on('grant.revoked', (_ctx, grantId) => recordEvent('grant_revoked', { grantId, via: 'provider' }));

  provider.on('session.saved', (session) => {
    sessions.set(session.uid, { accountId: session.accountId, authorizations: session.authorizations || {} });
  });
  provider.on('session.destroyed', (session) => sessions.delete(session.uid));

  provider.on('end_session.success', (ctx) => recordEvent('end_session', {
    outcome: 'success', client_id: ctx.oidc.client?.clientId,
  }));
  provider.on('end_session.error', (ctx, err) => recordEvent('end_session', {
    outcome: 'error', client_id: ctx.oidc.client?.clientId, error: err.error || err.message,
  }));

  provider.on('backchannel.success', (_ctx, client, accountId, sid) => recordEvent('backchannel', {
    outcome: 'success', client_id: client.clientId, accountId, sid,
  }));
  provider.on('backchannel.error', (_ctx, err, client, accountId, sid) => recordEvent('backchannel', {
    outcome: 'error', client_id: client.clientId, accountId, sid, error: err.message,
  }));

  // Unexpected server errors are worth seeing in the test output.
  provider.on('server_error', (_ctx, err) => console.error('[idp] server_error', err));
}

// ---------------------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------------------

function findAccountFactory(users) {
  return async function findAccount(_ctx, accountId) {
    const claims = users[accountId];
    if (!claims) return undefined;
    return {
      accountId,
      // oidc-provider filters these down to what the granted scopes/claims allow.
      async claims() {
        return { sub: accountId, ...claims };
      },
    };
  };
}

// The provider's one signing key, kept so /test/sign can issue tokens "as the provider" for attack tests.
const signingKey = {};

function generateSigningJwks() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `rsa-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' }] };
}

/** The signing JWKS: new on every start, or with a state directory created once (jwks.json) and kept across restarts. */
function signingJwks(stateDirectory) {
  const file = stateDirectory && path.join(stateDirectory, 'jwks.json');
  let jwks = file ? readJsonFile(file, null) : null;
  if (!jwks) {
    jwks = generateSigningJwks();
    if (file) writeJsonAtomically(file, jwks);
  }
  const [jwk] = jwks.keys;
  signingKey.privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  signingKey.kid = jwk.kid;
  return jwks;
}

/** Keys signing the provider's own cookies (its login session): kept with the state, so a restart keeps sessions too. */
function cookieKeys(stateDirectory) {
  const file = stateDirectory && path.join(stateDirectory, 'cookie-keys.json');
  let keys = file ? readJsonFile(file, null) : null;
  if (!keys) {
    keys = [randomBytes(32).toString('hex')];
    if (file) writeJsonAtomically(file, keys);
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------------------
// Forged ID tokens (POST /test/forge-id-token): the next authorization-code exchange answers with the real token
// response, its id_token replaced by a forgery derived from the real one (so everything else, nonce included, is
// right unless the forgery is about it). Each mode is one attack a relying party must refuse.
// ---------------------------------------------------------------------------------------------------------

const forge = { mode: null, foreignKey: null, grantType: 'authorization_code' };

// Odd but possible token answers (POST /test/rewrite-token-answer): the next answer to a token request of `grantType`
// has `patch` merged into its JSON (a null value stays null: servers whose serializers write every field), or is
// replaced by `body` verbatim. The real answer was made first, so a refresh token it rotated is spent all the same.
const rewrite = { grantType: null, patch: null, body: null };

// Claims added to every userinfo answer (POST /test/userinfo-extra): a provider whose userinfo claims more than it
// should, e.g. `scope` or `acr`, which must not count as granted scopes or as the authentication's strength.
const userinfoExtra = { claims: null };

const encodeJson = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodePayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

function forgeIdToken(original, mode, foreignKey) {
  const payload = decodePayload(original);
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'bad-signature': {
      const [h, p, sig] = original.split('.');
      const bytes = Buffer.from(sig, 'base64url');
      bytes[bytes.length - 1] ^= 0x01;
      return `${h}.${p}.${bytes.toString('base64url')}`;
    }
    case 'alg-none':
      return `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson({ ...payload, sub: 'mallory' })}.`;
    case 'hs256-with-public-key': {
      // The classic confusion: HMAC keyed with the RSA public key, which anyone can fetch from the JWKS.
      const secret = createPublicKey(signingKey.privateKey).export({ format: 'pem', type: 'spki' });
      const input = `${encodeJson({ alg: 'HS256', kid: signingKey.kid })}.${encodeJson({ ...payload, sub: 'mallory' })}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    }
    case 'wrong-iss': return signWithProviderKey({ ...payload, iss: 'https://evil.example' });
    case 'wrong-aud': return signWithProviderKey({ ...payload, aud: 'another-client' });
    case 'wrong-azp': return signWithProviderKey({ ...payload, aud: [payload.aud, 'another-client'], azp: 'another-client' });
    case 'wrong-nonce': return signWithProviderKey({ ...payload, nonce: 'forged-nonce' });
    case 'expired': return signWithProviderKey({ ...payload, iat: now - 600, exp: now - 300 });
    case 'future-iat': return signWithProviderKey({ ...payload, iat: now + 3600, exp: now + 7200 });
    // A provider that writes auth_time in milliseconds: read as seconds, past the year 9999.
    case 'auth-time-in-milliseconds': return signWithProviderKey({ ...payload, auth_time: Date.now() });
    case 'other-sub': return signWithProviderKey({ ...payload, sub: 'bob' });
    case 'unpublished-key-other-sub': {
      // Another user's token under a key the provider never published: a gateway that cannot check the signature
      // (it may be a key rollover it has not read yet) still must not take it for this user's.
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const input = `${encodeJson({ alg: 'RS256', kid: 'never-published' })}.${encodeJson({ ...payload, sub: 'bob' })}`;
      return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    }
    case 'foreign': {
      // Minted by another provider the gateway also trusts (mix-up): its key, its issuer, this login's nonce.
      const key = createPrivateKey({ key: foreignKey.jwk, format: 'jwk' });
      const input = `${encodeJson({ alg: 'RS256', kid: foreignKey.jwk.kid })}.${encodeJson({ ...payload, iss: foreignKey.issuer })}`;
      return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
    }
    default: throw new Error(`unknown forge mode ${mode}`);
  }
}

/** A compact JWS (RS256) over `payload`, signed with the provider's own key; `header` adds or overrides header members. */
function signWithProviderKey(payload, header = {}) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'RS256', kid: signingKey.kid, ...header })}.${encode(payload)}`;
  const signature = sign('sha256', Buffer.from(input), signingKey.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

/**
 * offline_access without prompt=consent.
 *
 * oidc-provider follows OIDC Core 11 literally: in lib/actions/authorization/scopes.js (checkScope) it
 * silently removes `offline_access` from the authorization request's scope unless `prompt` contains
 * `consent`. The code (and therefore the refresh-token decision at the token endpoint) only carries the
 * scopes left in the request, so no refresh token would ever be issued to a BFF that does not send
 * prompt=consent - unlike most real providers.
 *
 * The provider calls every `extraParams` validator on every authorization request *after* checkScope
 * (checkExtraParams), with ctx.oidc.params already parsed. We use that hook to put `offline_access` back
 * when the raw request asked for it, the client may use the refresh_token grant, the client's `scope`
 * metadata (if any) allows it and the request is not prompt=none (a silent request cannot obtain new
 * consent). The parameter name itself is never sent by anyone. Our automatic consent (see interactions)
 * then grants offline_access, it ends up in the code and issueRefreshToken (below) issues a refresh token.
 * Covers GET and POST to the authorization endpoint (not PAR, which Portcullis does not use).
 */
async function restoreOfflineAccess(ctx) {
  if (ctx.oidc.route !== 'authorization') return;
  const raw = ctx.method === 'POST' ? ctx.oidc.body : ctx.query;
  const requested = String(raw?.scope ?? '').split(' ');
  const { client, params } = ctx.oidc;
  const scopes = new Set(String(params.scope ?? '').split(' ').filter(Boolean));

  if (!requested.includes('offline_access') || scopes.has('offline_access')) return;
  if (ctx.oidc.prompts.has('none')) return;
  if (!client.grantTypeAllowed('refresh_token')) return;
  if (client.scope && !client.scope.split(' ').includes('offline_access')) return;

  scopes.add('offline_access');
  params.scope = [...scopes].join(' ');
}

/**
 * Refresh tokens: issued whenever the client may use the refresh_token grant and offline_access is part of
 * the code/refresh token's scope (guaranteed by restoreOfflineAccess above for requests that asked for it).
 * This is the library default made explicit so the rule is visible here; the refresh_token grant uses
 * `rotateRefreshToken`, not this function, to decide whether to hand out a new one.
 */
async function issueRefreshToken(_ctx, client, code) {
  return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
}

function resourceIndicators(resources) {
  if (!resources) return { enabled: false };
  return {
    enabled: true,
    defaultResource: async () => undefined,
    useGrantedResource: async () => false,
    getResourceServerInfo: async (_ctx, indicator) => {
      const server = resources[indicator];
      if (!server) throw new errors.InvalidTarget();
      return {
        scope: server.scope ?? 'api',
        audience: server.audience ?? indicator,
        accessTokenFormat: server.accessTokenFormat ?? 'jwt',
        ...(server.accessTokenTTL ? { accessTokenTTL: server.accessTokenTTL } : {}),
      };
    },
  };
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * RFC 8693 token exchange, as far as the gateway's tests need it: the subject token must be an access token this provider
 * issued to the same client and still valid (read through the provider's own AccessToken model); the new token is a JWT
 * for the one resource named by `resource` (or `audience`), in the subject's grant, so revoking the grant ends it too.
 */
function registerTokenExchange(provider, resources) {
  const info = resourceIndicators(resources).getResourceServerInfo;
  provider.registerGrantType(TOKEN_EXCHANGE, async (ctx) => {
    const { params, client } = ctx.oidc;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('subject_token_type must be an access token');
    const subject = await provider.AccessToken.find(String(params.subject_token ?? ''));
    if (!subject || subject.isExpired) throw new errors.InvalidGrant('subject token is invalid or expired');
    if (subject.clientId !== client.clientId) throw new errors.InvalidGrant('subject token was issued to another client');
    const indicator = params.resource ?? params.audience;
    const server = new provider.ResourceServer(indicator, await info(ctx, indicator));
    const token = new provider.AccessToken({
      accountId: subject.accountId,
      client,
      grantId: subject.grantId,
      gty: 'token-exchange',
      scope: server.scope,
      sessionUid: subject.sessionUid,
      sid: subject.sid,
      expiresWithSession: subject.expiresWithSession,
    });
    token.resourceServer = server;
    const value = await token.save();
    ctx.body = { access_token: value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: token.expiration, scope: token.scope };
  }, ['subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience']);
}

function buildProviderConfig(cfg) {
  const config = baseProviderConfig(cfg);
  for (const [name, overrides] of Object.entries(cfg.features)) {
    config.features[name] = { ...(config.features[name] ?? {}), ...overrides };
  }
  return config;
}

function baseProviderConfig(cfg) {
  return {
    clients: cfg.clients,
    findAccount: findAccountFactory(cfg.users),
    acrValues: cfg.acrValues,
    jwks: signingJwks(cfg.stateDirectory),
    ...(cfg.stateDirectory ? { adapter: cfg.adapter } : {}),

    responseTypes: ['code'],
    pkce: { required: () => true }, // S256 is the only supported method in oidc-provider 9
    clockTolerance: 0,
    scopes: ['openid', 'profile', 'email', 'offline_access', 'api'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    // Put the profile/email claims into the ID token too (like most real providers), not only userinfo.
    conformIdTokenClaims: false,

    extraParams: { portcullis_restore_offline_access: restoreOfflineAccess },
    issueRefreshToken,
    rotateRefreshToken: cfg.rotateRefreshToken,

    ttl: {
      // `gty` ends with refresh_token on tokens issued by the refresh_token grant (oidc-provider appends it).
      AccessToken: (_ctx, token) => (token.gty?.endsWith('refresh_token') ? cfg.refreshedAccessTokenTtl : cfg.accessTokenTtl),
      ClientCredentials: cfg.accessTokenTtl,
      IdToken: cfg.idTokenTtl,
      RefreshToken: cfg.refreshTokenTtl,
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: 86400,
      Grant: Math.max(cfg.refreshTokenTtl, 86400),
    },

    // Plain http on loopback: koa only adds `secure` to cookies on https requests, so nothing to disable;
    // keys make the interaction/session cookies signed.
    cookies: { keys: cookieKeys(cfg.stateDirectory) },

    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },

    features: {
      devInteractions: { enabled: false },
      // Off unless IDP_CONFIG.resources lists resource servers; a request naming none still gets an opaque token
      // that userinfo accepts (no default resource, a refresh without `resource` does not reuse a granted one).
      resourceIndicators: resourceIndicators(cfg.resources),
      revocation: { enabled: true }, // client authentication is always required by the endpoint
      introspection: { enabled: true }, // likewise
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      // RFC 9207 `iss` in the authorization response is always on in oidc-provider 9 (no feature flag);
      // discovery advertises authorization_response_iss_parameter_supported: true.
      // PAR is off unless a test turns it on (features override): most tests exercise the plain authorization request.
      pushedAuthorizationRequests: { enabled: false },
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => cfg.requireDPoPNonce,
      },
    },

    renderError,

    // oidc-provider 9 passes an SSRF-protecting undici dispatcher to outgoing requests that kills connections
    // to special-use addresses - loopback included. Back-channel logout tokens go to the BFF under test on
    // 127.0.0.1, so this test provider drops that dispatcher (it only ever talks to loopback anyway).
    fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
  };
}

// ---------------------------------------------------------------------------------------------------------
// HTML (no external resources: the test machines have no internet)
// ---------------------------------------------------------------------------------------------------------

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function loginPage(uid, { clientId, error, username = '' }) {
  return page('Sign in', `
<p>Signing in to <span id="client">${escapeHtml(clientId)}</span></p>
${error ? `<p id="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" id="login-form">
  <label for="username">Username</label>
  <input name="username" id="username" autocomplete="username" value="${escapeHtml(username)}" autofocus>
  <label for="password">Password</label>
  <input name="password" id="password" type="password" autocomplete="current-password">
  <button id="login" type="submit">Sign in</button>
</form>`);
}

// `form` is the provider's hidden form (id op.logoutForm, with the xsrf field); our buttons submit it.
async function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page('Sign out', `
${form}
<button id="logout-confirm" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button id="logout-cancel" type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p id="signed-out">You have been signed out.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Error', Object.entries(out)
    .map(([key, value]) => `<p class="${escapeHtml(key)}">${escapeHtml(key)}: ${escapeHtml(value)}</p>`)
    .join('\n'));
}

// ---------------------------------------------------------------------------------------------------------
// Small koa helpers (the Provider is itself a Koa app; provider.use() runs before its own routes)
// ---------------------------------------------------------------------------------------------------------

async function readBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function readForm(ctx) {
  return Object.fromEntries(new URLSearchParams(await readBody(ctx)));
}

async function readJson(ctx) {
  const text = await readBody(ctx);
  return text ? JSON.parse(text) : {};
}

function sendJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

// ---------------------------------------------------------------------------------------------------------
// Interactions: our login page, automatic consent
// ---------------------------------------------------------------------------------------------------------

function interactionRoutes(provider, users, acrValues) {
  // Grants every scope and claim the request asked for (including offline_access) and finishes the
  // interaction: there is no consent page in this test provider.
  async function autoConsent(ctx, interaction) {
    const { prompt: { details }, params, session, grantId } = interaction;
    const grant = (grantId && await provider.Grant.find(grantId))
      || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });

    if (params.scope) grant.addOIDCScope(params.scope);
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const savedGrantId = await grant.save();

    const result = { consent: grantId ? {} : { grantId: savedGrantId } };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
  }

  async function show(ctx, uid) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid) throw new Error('interaction uid mismatch');
    if (interaction.prompt.name === 'consent') {
      await autoConsent(ctx, interaction);
      return;
    }
    ctx.type = 'html';
    ctx.body = loginPage(uid, { clientId: interaction.params.client_id });
  }

  async function login(ctx, uid) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid || interaction.prompt.name !== 'login') {
      throw new Error('not a login interaction');
    }
    const { username = '', password = '' } = await readForm(ctx);
    if (!Object.hasOwn(users, username) || password !== PASSWORD) {
      recordEvent('login', { outcome: 'error', username });
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = loginPage(uid, {
        clientId: interaction.params.client_id, error: 'Invalid username or password.', username,
      });
      return;
    }
    recordEvent('login', { outcome: 'success', username });
    const requestedAcr = String(interaction.params.acr_values ?? '').split(' ').filter(Boolean);
    const acr = requestedAcr.find((value) => acrValues.includes(value)) ?? acrValues[0];
    const result = { login: { accountId: username, amr: ['pwd'], acr } };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  }

  return async function interactions(ctx, next) {
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (!match) return next();
    const [, uid, isLogin] = match;
    ctx.set('cache-control', 'no-store');
    try {
      if (ctx.method === 'GET' && !isLogin) return await show(ctx, uid);
      if (ctx.method === 'POST' && isLogin) return await login(ctx, uid);
      ctx.status = 405;
    } catch (err) {
      // Expired/unknown interaction (e.g. cookie missing): a readable page rather than a 500.
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Interaction error', `<p id="error">${escapeHtml(err.message)}</p>`);
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Observation of the provider's own endpoints (runs around them)
// ---------------------------------------------------------------------------------------------------------

function observeEndpoints(provider) {
  const tokenPath = new URL(provider.urlFor('token')).pathname;
  const revocationPath = new URL(provider.urlFor('revocation')).pathname;
  // The PAR route exists only when the feature is on.
  const parPath = provider.features?.pushedAuthorizationRequests?.enabled === false ? null : safePath(provider, 'pushed_authorization_request');

  const userinfoPath = new URL(provider.urlFor('userinfo')).pathname;
  const jwksPath = safePath(provider, 'jwks');

  return async function observe(ctx, next) {
    await next();
    if (ctx.path === userinfoPath && userinfoExtra.claims && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...ctx.body, ...userinfoExtra.claims };
    }
    // Every read of the signing keys: how often a client fetches them is part of what tests judge.
    if (ctx.method === 'GET' && ctx.path === jwksPath) recordEvent('jwks');
    if (ctx.method !== 'POST') return;
    if (ctx.path === tokenPath && forge.mode && ctx.body?.id_token && (ctx.oidc?.params?.grant_type === forge.grantType)) {
      ctx.body = { ...ctx.body, id_token: forgeIdToken(ctx.body.id_token, forge.mode, forge.foreignKey) };
      recordEvent('forged_id_token', { mode: forge.mode });
      forge.mode = null;
    }
    if (ctx.path === tokenPath) recordTokenRequest(ctx);
    else if (ctx.path === revocationPath) recordRevocation(ctx);
    else if (parPath && ctx.path === parPath) recordEvent('par', { client_id: ctx.oidc?.client?.clientId, ...clientAuthOf(ctx), ...outcomeOf(ctx) });
    // After the record: tests compare what the gateway did with the provider's real answer.
    if (ctx.path === tokenPath && rewrite.grantType && ctx.status === 200 && ctx.oidc?.params?.grant_type === rewrite.grantType) {
      if (rewrite.body !== null) {
        ctx.body = rewrite.body;
        ctx.type = 'application/json';
      } else {
        ctx.body = { ...ctx.body, ...rewrite.patch };
      }
      recordEvent('rewritten_token_answer', { grantType: rewrite.grantType });
      rewrite.grantType = null;
    }
  };
}

function safePath(provider, name) {
  try { return new URL(provider.urlFor(name)).pathname; } catch { return null; }
}

function outcomeOf(ctx) {
  const ok = ctx.status >= 200 && ctx.status < 300;
  return ok ? { outcome: 'success' } : { outcome: 'error', error: errorCodeOf(ctx.body) };
}

function errorCodeOf(body) {
  if (!body) return undefined;
  if (typeof body === 'object') return body.error;
  try { return JSON.parse(body).error; } catch { return String(body); }
}

// How the client authenticated (what the provider was sent), and whether a DPoP proof came along.
function clientAuthOf(ctx) {
  const body = ctx.oidc?.body || {};
  const dpop = ctx.get('dpop') ? { dpop: true, dpop_jkt: proofThumbprint(ctx.get('dpop')) } : { dpop: false };
  if (body.client_assertion) {
    const [header] = String(body.client_assertion).split('.');
    const { alg, kid } = JSON.parse(Buffer.from(header, 'base64url').toString());
    return { client_auth: 'private_key_jwt', client_assertion_type: body.client_assertion_type, client_assertion_alg: alg, client_assertion_kid: kid, ...dpop };
  }
  if (String(ctx.get('authorization')).startsWith('Basic ')) return { client_auth: 'client_secret_basic', ...dpop };
  if (body.client_secret) return { client_auth: 'client_secret_post', ...dpop };
  return { client_auth: 'none', ...dpop };
}

// RFC 7638 thumbprint of the EC key in a DPoP proof's header (what the token is bound to), as the proof came, unchecked:
// the provider itself validates the proof; this only says which key the gateway used.
function proofThumbprint(proof) {
  try {
    const { jwk } = JSON.parse(Buffer.from(String(proof).split('.')[0], 'base64url').toString());
    if (jwk?.kty !== 'EC') return undefined;
    const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    return createHash('sha256').update(canonical).digest('base64url');
  } catch {
    return undefined;
  }
}

function recordTokenRequest(ctx) {
  const params = ctx.oidc?.params || ctx.oidc?.body || {};
  const grantType = params.grant_type ?? ctx.oidc?.body?.grant_type;
  const clientId = ctx.oidc?.client?.clientId ?? params.client_id;
  const result = outcomeOf(ctx);
  // The W3C trace context the client sent, so tests can check the gateway carries its trace to the provider.
  recordEvent('token', { grant_type: grantType, client_id: clientId, resource: params.resource ?? params.audience ?? undefined, traceparent: ctx.get('traceparent') || undefined, ...clientAuthOf(ctx), ...result });

  if (result.outcome === 'success' && ctx.body && typeof ctx.body === 'object') {
    const { access_token, refresh_token, id_token, expires_in, scope, token_type } = ctx.body;
    recorded.tokens.push({
      grant_type: grantType,
      client_id: clientId,
      access_token,
      refresh_token,
      id_token,
      expires_in,
      scope,
      token_type,
      at: new Date().toISOString(),
    });
    saveRecord();
  }
}

function recordRevocation(ctx) {
  const params = ctx.oidc?.params || ctx.oidc?.body || {};
  const token = params.token ?? ctx.oidc?.body?.token;
  recordEvent('revocation', {
    client_id: ctx.oidc?.client?.clientId ?? params.client_id,
    token_type_hint: params.token_type_hint,
    token,
    token_sha256: token ? sha256Hex(token) : undefined,
    ...clientAuthOf(ctx),
    ...outcomeOf(ctx),
  });
}

// ---------------------------------------------------------------------------------------------------------
// /test/* endpoints (this test IdP only; the server listens on loopback only)
// ---------------------------------------------------------------------------------------------------------

async function revokeGrantsOf(provider, accountId) {
  const grantIds = [...(grantsByAccount.get(accountId) || [])];
  const models = [provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode];
  for (const grantId of grantIds) {
    await Promise.all(models.map((model) => model.revokeByGrantId(grantId)));
    await provider.Grant.adapter.destroy(grantId);
    recordEvent('grant_revoked', { grantId, accountId, via: 'test' });
  }
  grantsByAccount.delete(accountId);
  return grantIds;
}

async function sendBackchannelLogout(provider, accountId, clientId) {
  const client = await provider.Client.find(clientId);
  if (!client) return { status: 404, body: { error: 'unknown client' } };
  if (!client.backchannelLogoutUri) return { status: 400, body: { error: 'client has no backchannel_logout_uri' } };

  const deliveries = [];
  for (const session of sessions.values()) {
    const authorization = session.authorizations?.[clientId];
    if (session.accountId !== accountId || !authorization) continue;
    const { sid } = authorization;
    try {
      await client.backchannelLogout(accountId, sid);
      recordEvent('backchannel', { outcome: 'success', client_id: clientId, accountId, sid, via: 'test' });
      deliveries.push({ sid, outcome: 'success' });
    } catch (err) {
      recordEvent('backchannel', { outcome: 'error', client_id: clientId, accountId, sid, error: err.message, via: 'test' });
      deliveries.push({ sid, outcome: 'error', error: err.message });
    }
  }
  return { status: 200, body: { deliveries } };
}

const outage = { mode: 'up' };

function testRoutes(provider) {
  return async function testEndpoints(ctx, next) {
    if (!ctx.path.startsWith('/test/')) return next();
    const route = `${ctx.method} ${ctx.path}`;
    try {
      switch (route) {
        case 'GET /test/events':
          return sendJson(ctx, 200, recorded.events);
        case 'GET /test/tokens':
          return sendJson(ctx, 200, recorded.tokens);
        case 'POST /test/reset':
          recorded.events.length = 0;
          recorded.tokens.length = 0;
          saveRecord();
          return sendJson(ctx, 200, { ok: true });
        case 'POST /test/sign': {
          const { payload, header } = await readJson(ctx);
          if (!payload) return sendJson(ctx, 400, { error: 'payload is required' });
          return sendJson(ctx, 200, { jws: signWithProviderKey(payload, header) });
        }
        case 'POST /test/forge-id-token': {
          const { mode, foreignKey, grantType } = await readJson(ctx);
          forge.mode = mode;
          forge.foreignKey = foreignKey ?? null;
          forge.grantType = grantType ?? 'authorization_code';
          return sendJson(ctx, 200, { mode });
        }
        case 'POST /test/rewrite-token-answer': {
          const { grantType, patch, body } = await readJson(ctx);
          rewrite.grantType = grantType ?? 'refresh_token';
          rewrite.patch = patch ?? {};
          rewrite.body = body ?? null;
          return sendJson(ctx, 200, { grantType: rewrite.grantType });
        }
        case 'POST /test/userinfo-extra': {
          const { claims } = await readJson(ctx);
          userinfoExtra.claims = claims ?? null;
          return sendJson(ctx, 200, { claims: userinfoExtra.claims });
        }
        case 'GET /test/signing-key': {
          const jwk = signingKey.privateKey.export({ format: 'jwk' });
          return sendJson(ctx, 200, { jwk: { ...jwk, kid: signingKey.kid }, issuer: provider.issuer });
        }
        case 'POST /test/outage': {
          const { mode } = await readJson(ctx);
          if (!['up', 'down', 'hang'].includes(mode)) return sendJson(ctx, 400, { error: 'mode must be up, down or hang' });
          outage.mode = mode;
          recordEvent('outage', { mode });
          return sendJson(ctx, 200, { mode });
        }
        case 'POST /test/revoke-grant': {
          const { accountId } = await readJson(ctx);
          if (!accountId) return sendJson(ctx, 400, { error: 'accountId is required' });
          return sendJson(ctx, 200, { revoked: await revokeGrantsOf(provider, accountId) });
        }
        case 'POST /test/backchannel-logout': {
          const { accountId, clientId } = await readJson(ctx);
          if (!accountId || !clientId) return sendJson(ctx, 400, { error: 'accountId and clientId are required' });
          const { status, body } = await sendBackchannelLogout(provider, accountId, clientId);
          return sendJson(ctx, status, body);
        }
        default:
          return sendJson(ctx, 404, { error: `no such test endpoint: ${route}` });
      }
    } catch (err) {
      return sendJson(ctx, 500, { error: err.message });
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------------------

/** After a restart with a state directory: the per-account bookkeeping the provider's events would have built. */
function rebuildBookkeeping(Adapter) {
  for (const [grantId, grant] of new Adapter('Grant').payloads()) {
    if (!grantsByAccount.has(grant.accountId)) grantsByAccount.set(grant.accountId, new Set());
    grantsByAccount.get(grant.accountId).add(grantId);
  }
  for (const [, session] of new Adapter('Session').payloads()) {
    sessions.set(session.uid, { accountId: session.accountId, authorizations: session.authorizations || {} });
  }
}

function main() {
  const cfg = readConfig();
  if (cfg.stateDirectory) {
    fs.mkdirSync(cfg.stateDirectory, { recursive: true });
    loadRecord(cfg.stateDirectory);
    cfg.adapter = fileAdapterFactory(cfg.stateDirectory);
    rebuildBookkeeping(cfg.adapter);
  }
  const provider = new Provider(cfg.issuer, buildProviderConfig(cfg));
  provider.proxy = false;
  if (cfg.tokenExchange) registerTokenExchange(provider, cfg.resources ?? {});

  trackProviderEvents(provider);
  provider.use(testRoutes(provider));
  provider.use(interactionRoutes(provider, cfg.users, cfg.acrValues));
  provider.use(observeEndpoints(provider));

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    // Simulated outage (POST /test/outage): the provider keeps its grants and sessions, but its protocol endpoints
    // drop the connection (`down`) or never answer (`hang`); /test/* stays reachable so tests can end the outage.
    if (outage.mode !== 'up' && !req.url.startsWith('/test/')) {
      if (outage.mode === 'down') req.socket.destroy();
      return;
    }
    callback(req, res);
  });
  server.on('error', (err) => {
    console.error(`[idp] cannot listen on 127.0.0.1:${cfg.port}: ${err.message}`);
    process.exit(1);
  });
  server.listen(cfg.port, '127.0.0.1', () => {
    process.stdout.write(`IDP_LISTENING ${cfg.issuer}\n`);
  });

  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

try {
  main();
} catch (err) {
  console.error(`[idp] failed to start: ${err.stack || err.message}`);
  process.exit(1);
}
