// Smoke test of the test IdP: `node tests/idp/smoke.mjs` (after `npm ci` in tests/idp).
//
// Starts server.mjs the way the C# tests do (child process, IDP_CONFIG env, wait for IDP_LISTENING) and plays
// a non-browser client: fetch with manual redirects and a per-host cookie jar. Exits 0 when every check
// passes, 1 with the failing check otherwise.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLIENT = { id: 'bff', secret: 'bff-secret' };
const REDIRECT_URI = 'http://localhost:5000/bff/callback/main';
const POST_LOGOUT_URI = 'http://localhost:5000/';
const SCOPE = 'openid profile email offline_access api';

let passed = 0;
function check(condition, message, detail) {
  if (!condition) {
    const extra = detail === undefined ? '' : `\n  got: ${JSON.stringify(detail, null, 2)}`;
    throw new Error(`CHECK FAILED: ${message}${extra}`);
  }
  passed += 1;
  console.log(`ok - ${message}`);
}

// ------------------------------------------------------------------------------------------ processes

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Starts the IdP and resolves with { child, issuer } once it printed its IDP_LISTENING line.
function startIdp(config) {
  const child = spawn(process.execPath, [path.join(HERE, 'server.mjs')], {
    env: { ...process.env, IDP_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d) => process.stderr.write(`[idp stderr] ${d}`));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`IdP did not print IDP_LISTENING within 20s; stdout: ${out}`)), 20000);
    child.once('exit', (code) => reject(new Error(`IdP exited early with code ${code}; stdout: ${out}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const match = /^IDP_LISTENING (\S+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, issuer: match[1], stdout: () => out });
      }
    });
  });
}

function stopIdp(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 5000);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    child.kill('SIGTERM');
  });
}

// A back-channel logout receiver standing in for the BFF.
function startBackchannelReceiver(port) {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ path: req.url, params: Object.fromEntries(new URLSearchParams(body)) });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, received })));
}

// ------------------------------------------------------------------------------------------ HTTP client

// Cookies per host:port (deliberately ignoring path, like a simple non-browser client).
class CookieJar {
  #byHost = new Map();

  store(url, response) {
    const host = new URL(url).host;
    if (!this.#byHost.has(host)) this.#byHost.set(host, new Map());
    const jar = this.#byHost.get(host);
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const expired = attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && new Date(a.slice(8)) < new Date()));
      if (expired || value === '') jar.delete(name); else jar.set(name, value);
    }
  }

  header(url) {
    const jar = this.#byHost.get(new URL(url).host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }
}

async function request(jar, url, { method = 'GET', headers = {}, body } = {}) {
  const cookie = jar.header(url);
  const response = await fetch(url, {
    method,
    redirect: 'manual',
    headers: { ...(cookie ? { cookie } : {}), ...headers },
    body,
  });
  jar.store(url, response);
  return response;
}

// Follows redirects until one leaves for `stopPrefix` (the RP, which does not exist here) or a page is served.
async function follow(jar, response, currentUrl, stopPrefix) {
  let url = currentUrl;
  for (let hops = 0; hops < 20; hops += 1) {
    if (response.status < 300 || response.status >= 400) {
      return { url, response, html: await response.text() };
    }
    url = new URL(response.headers.get('location'), url).href;
    if (url.startsWith(stopPrefix)) return { url, redirectedTo: new URL(url) };
    response = await request(jar, url);
  }
  throw new Error('too many redirects');
}

function formAction(html, baseUrl, formId) {
  const re = formId ? new RegExp(`<form[^>]*id="${formId.replace('.', '\\.')}"[^>]*>`, 'i') : /<form[^>]*>/i;
  const tag = re.exec(html)?.[0];
  if (!tag) throw new Error(`no form in page:\n${html}`);
  const action = /action="([^"]*)"/i.exec(tag)[1].replace(/&amp;/g, '&');
  return new URL(action, baseUrl).href;
}

function hiddenInputs(html) {
  const inputs = {};
  for (const [tag] of html.matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
    if (name) inputs[name] = value;
  }
  return inputs;
}

const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT.id)}:${encodeURIComponent(CLIENT.secret)}`).toString('base64')}`;
const form = (obj) => new URLSearchParams(obj).toString();
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

async function postClient(jar, url, params) {
  const res = await request(jar, url, { method: 'POST', headers: { ...FORM_HEADERS, authorization: basicAuth }, body: form(params) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

const b64url = (buf) => buf.toString('base64url');
const decodeJwt = (jwt) => jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));

// ------------------------------------------------------------------------------------------ flows

function authorizationUrl(meta, { state, challenge, extra = {} }) {
  const url = new URL(meta.authorization_endpoint);
  url.search = form({
    client_id: CLIENT.id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    state,
    nonce: b64url(randomBytes(16)),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  return url.href;
}

// Runs the authorization request; logs in with the given credentials when the login page shows up.
// Returns the callback URL the IdP redirected to.
async function authorize(jar, meta, { username, password, extra } = {}) {
  const state = b64url(randomBytes(16));
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const start = authorizationUrl(meta, { state, challenge, extra });

  let step = await follow(jar, await request(jar, start), start, 'http://localhost:5000/');
  let sawLoginPage = false;
  if (!step.redirectedTo) {
    check(step.html.includes('id="username"') && step.html.includes('id="password"') && step.html.includes('id="login"'),
      'login page has username, password and login button', step.html);
    check(!/https?:\/\/(?!127\.0\.0\.1|localhost)/.test(step.html), 'login page loads no external resources');
    sawLoginPage = true;
    const action = formAction(step.html, step.url);
    const res = await request(jar, action, { method: 'POST', headers: FORM_HEADERS, body: form({ username, password }) });
    step = await follow(jar, res, action, 'http://localhost:5000/');
  }
  return { ...step, state, verifier, sawLoginPage };
}

async function redeemCode(jar, meta, callback, verifier) {
  return postClient(jar, meta.token_endpoint, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code'),
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

async function testEvents(issuer) {
  return (await fetch(`${issuer}/test/events`)).json();
}

async function testTokens(issuer) {
  return (await fetch(`${issuer}/test/tokens`)).json();
}

// ------------------------------------------------------------------------------------------ the checks

async function checkDiscovery(issuer) {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  check(meta.issuer === issuer, 'discovery issuer matches', meta.issuer);
  check(meta.authorization_response_iss_parameter_supported === true, 'discovery advertises RFC 9207 iss');
  check(JSON.stringify(meta.response_types_supported) === '["code"]', 'only response_type=code', meta.response_types_supported);
  check(meta.code_challenge_methods_supported.includes('S256'), 'PKCE S256 supported');
  for (const key of ['introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint', 'userinfo_endpoint']) {
    check(typeof meta[key] === 'string', `discovery has ${key}`);
  }
  return meta;
}

async function checkWrongPassword(meta) {
  const jar = new CookieJar();
  const result = await authorize(jar, meta, { username: 'alice', password: 'wrong' });
  check(!result.redirectedTo && result.html.includes('id="error"') && result.html.includes('id="username"'),
    'wrong password shows the login page again with an error');
}

async function loginAlice(jar, meta, issuer, label, extra = {}) {
  const result = await authorize(jar, meta, { username: 'alice', password: 'password', extra });
  check(result.redirectedTo?.href.startsWith(REDIRECT_URI), `${label}: redirected to the client's redirect_uri`, result.html ?? result.url);
  const params = result.redirectedTo.searchParams;
  check(params.get('code'), `${label}: authorization response has code`, result.url);
  check(params.get('state') === result.state, `${label}: authorization response has the state`);
  check(params.get('iss') === issuer, `${label}: authorization response has iss (RFC 9207)`, params.get('iss'));

  const { status, json } = await redeemCode(jar, meta, result.redirectedTo, result.verifier);
  check(status === 200, `${label}: code redeemed`, json);
  check(json.access_token && json.refresh_token && json.id_token, `${label}: access, refresh and ID token returned (no prompt=consent)`, json);
  check(json.scope?.split(' ').includes('offline_access'), `${label}: granted scope includes offline_access`, json.scope);
  return { tokens: json, sawLoginPage: result.sawLoginPage };
}

async function checkTokens(meta, tokens) {
  const [header, claims] = decodeJwt(tokens.id_token);
  check(header.alg === 'RS256', 'ID token is RS256', header);
  check(claims.sub === 'alice' && claims.sid, 'ID token has sub and sid', claims);

  const userinfo = await (await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  check(userinfo.sub === 'alice' && userinfo.name === 'Alice Example' && userinfo.email === 'alice@example.com',
    'userinfo returns alice\'s claims', userinfo);

  const jar = new CookieJar();
  const unauth = await request(jar, meta.introspection_endpoint, { method: 'POST', headers: FORM_HEADERS, body: form({ token: tokens.access_token }) });
  check(unauth.status === 401 || unauth.status === 400, 'introspection without client authentication is refused', unauth.status);
  const intro = await postClient(jar, meta.introspection_endpoint, { token: tokens.access_token });
  check(intro.json.active === true && intro.json.scope.includes('api'), 'introspection: access token active with api scope', intro.json);
}

async function checkRefreshRotation(meta, tokens) {
  const jar = new CookieJar();
  const first = await postClient(jar, meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  check(first.status === 200 && first.json.access_token, 'refresh succeeds', first.json);
  check(first.json.refresh_token && first.json.refresh_token !== tokens.refresh_token, 'refresh rotated the refresh token');

  const reuse = await postClient(jar, meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  check(reuse.status === 400 && reuse.json.error === 'invalid_grant', 'reusing the old refresh token fails with invalid_grant', reuse.json);

  const afterReuse = await postClient(jar, meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token });
  check(afterReuse.json.error === 'invalid_grant', 'reuse detection revoked the whole grant (new refresh token dead too)', afterReuse.json);
  return first.json;
}

async function checkRevocation(meta, tokens) {
  const jar = new CookieJar();
  const revoked = await postClient(jar, meta.revocation_endpoint, { token: tokens.refresh_token, token_type_hint: 'refresh_token' });
  check(revoked.status === 200, 'revocation of the refresh token returns 200', revoked);
  const refresh = await postClient(jar, meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  check(refresh.json.error === 'invalid_grant', 'revoked refresh token is refused', refresh.json);
  const intro = await postClient(jar, meta.introspection_endpoint, { token: tokens.access_token });
  check(intro.json.active === false, 'revoking the refresh token also ended its grant\'s access token', intro.json);
}

// prompt=login and max_age=0 must show the login page although the IdP session is alive, and still give a
// refresh token (offline_access survives a prompt parameter without `consent`).
async function checkForcedLogin(meta, issuer, jar) {
  for (const extra of [{ prompt: 'login' }, { max_age: '0' }]) {
    const label = `login with ${form(extra)}`;
    const { sawLoginPage, tokens } = await loginAlice(jar, meta, issuer, label, extra);
    check(sawLoginPage, `${label}: login page shown despite the IdP session`);
    const [, claims] = decodeJwt(tokens.id_token);
    check(typeof claims.auth_time === 'number', `${label}: ID token has auth_time`, claims);
  }
}

async function checkRecording(issuer, { first, refreshed, second }) {
  const events = await testEvents(issuer);
  const tokenEvents = events.filter((e) => e.type === 'token');
  const has = (pred) => tokenEvents.some(pred);
  check(has((e) => e.grant_type === 'authorization_code' && e.outcome === 'success' && e.client_id === 'bff'), 'events: authorization_code success recorded', tokenEvents);
  check(has((e) => e.grant_type === 'refresh_token' && e.outcome === 'success'), 'events: refresh success recorded');
  check(has((e) => e.grant_type === 'refresh_token' && e.outcome === 'error' && e.error === 'invalid_grant'), 'events: refresh failure recorded with invalid_grant');
  const revocation = events.find((e) => e.type === 'revocation');
  check(revocation?.outcome === 'success' && revocation.token === second.refresh_token && revocation.token_type_hint === 'refresh_token'
    && revocation.token_sha256 === createHash('sha256').update(second.refresh_token).digest('hex'), 'events: revocation recorded with token and hash', revocation);
  check(events.some((e) => e.type === 'grant_revoked'), 'events: grant revocation recorded');
  check(events.every((e) => typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at))), 'events carry ISO timestamps');

  const tokens = await testTokens(issuer);
  const find = (t) => tokens.find((x) => x.access_token === t.access_token);
  check(find(first)?.refresh_token === first.refresh_token && find(first)?.id_token === first.id_token && find(first)?.grant_type === 'authorization_code',
    'tokens: first code exchange recorded', tokens);
  check(find(refreshed)?.grant_type === 'refresh_token' && find(refreshed)?.refresh_token === refreshed.refresh_token, 'tokens: refresh response recorded');
  check(typeof find(second)?.expires_in === 'number', 'tokens: expires_in recorded');
}

async function checkRevokeGrantEndpoint(meta, issuer, jar) {
  const { tokens, sawLoginPage } = await loginAlice(jar, meta, issuer, 'third login');
  check(!sawLoginPage, 'third login reused the IdP session (no login page)');
  const res = await fetch(`${issuer}/test/revoke-grant`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'alice' }) });
  const body = await res.json();
  check(res.status === 200 && body.revoked.length >= 1, '/test/revoke-grant revoked alice\'s grants', body);
  const refresh = await postClient(new CookieJar(), meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  check(refresh.json.error === 'invalid_grant', 'refresh after /test/revoke-grant fails with invalid_grant', refresh.json);
}

async function checkBackchannel(issuer, receiver) {
  const res = await fetch(`${issuer}/test/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accountId: 'alice', clientId: 'bff' }) });
  const body = await res.json();
  check(res.status === 200 && body.deliveries.length >= 1 && body.deliveries.every((d) => d.outcome === 'success'), '/test/backchannel-logout delivered', body);
  const token = receiver.received.at(-1)?.params.logout_token;
  check(token, 'receiver got a logout_token');
  const [, claims] = decodeJwt(token);
  check(claims.sub === 'alice' && claims.sid && claims.events?.['http://schemas.openid.net/event/backchannel-logout'], 'logout token has sub, sid and the logout event', claims);
  const events = await testEvents(issuer);
  check(events.some((e) => e.type === 'backchannel' && e.outcome === 'success' && e.sid === claims.sid), 'events: backchannel delivery recorded');
}

async function checkEndSession(meta, issuer, jar) {
  const url = new URL(meta.end_session_endpoint);
  url.search = form({ client_id: CLIENT.id, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
  const page = await follow(jar, await request(jar, url.href), url.href, 'http://localhost:5000/');
  check(page.html?.includes('id="logout-confirm"'), 'end-session shows the confirmation page with #logout-confirm', page.html);
  check(!/https?:\/\/(?!127\.0\.0\.1|localhost)/.test(page.html), 'logout page loads no external resources');
  const action = formAction(page.html, page.url, 'op.logoutForm');
  const res = await request(jar, action, { method: 'POST', headers: FORM_HEADERS, body: form({ ...hiddenInputs(page.html), logout: 'yes' }) });
  const done = await follow(jar, res, action, 'http://localhost:5000/');
  check(done.redirectedTo?.href.startsWith(POST_LOGOUT_URI) && done.redirectedTo.searchParams.get('state') === 'bye',
    'end-session redirects to post_logout_redirect_uri with state', done.url);
  const events = await testEvents(issuer);
  check(events.some((e) => e.type === 'end_session' && e.outcome === 'success'), 'events: end_session recorded');

  const again = await authorize(jar, meta, { username: 'alice', password: 'password' });
  check(again.sawLoginPage, 'after end-session the login page is shown again');
}

async function checkReset(issuer) {
  const res = await fetch(`${issuer}/test/reset`, { method: 'POST' });
  check(res.status === 200, '/test/reset ok');
  check((await testEvents(issuer)).length === 0 && (await testTokens(issuer)).length === 0, '/test/reset cleared events and tokens');
}

// ------------------------------------------------------------------------------------------ main

async function main() {
  const [port, receiverPort] = [await freePort(), await freePort()];
  const receiver = await startBackchannelReceiver(receiverPort);
  const idp = await startIdp({
    port,
    clients: [{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [REDIRECT_URI],
      post_logout_redirect_uris: [POST_LOGOUT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      backchannel_logout_uri: `http://127.0.0.1:${receiverPort}/bff/backchannel-logout/main`,
      backchannel_logout_session_required: true,
    }],
  });
  try {
    const { issuer } = idp;
    check(idp.stdout().trim() === `IDP_LISTENING ${issuer}`, 'stdout is exactly one IDP_LISTENING line', idp.stdout());
    check(issuer === `http://127.0.0.1:${port}`, 'default issuer is http://127.0.0.1:<port>');

    const meta = await checkDiscovery(issuer);
    await checkWrongPassword(meta);

    const browser = new CookieJar();
    const first = await loginAlice(browser, meta, issuer, 'first login');
    await checkTokens(meta, first.tokens);
    const refreshed = await checkRefreshRotation(meta, first.tokens);

    // Same browser, new authorization: the IdP session is reused and the grant re-created by auto consent.
    const second = await loginAlice(browser, meta, issuer, 'second login');
    check(!second.sawLoginPage, 'second login reused the IdP session (no login page)');
    await checkRevocation(meta, second.tokens);
    await checkForcedLogin(meta, issuer, browser);

    await checkRecording(issuer, { first: first.tokens, refreshed, second: second.tokens });
    await checkRevokeGrantEndpoint(meta, issuer, browser);
    await checkBackchannel(issuer, receiver);
    await checkEndSession(meta, issuer, browser);
    await checkReset(issuer);
  } finally {
    const { code, signal } = await stopIdp(idp.child);
    receiver.server.close();
    check(code === 0, 'IdP exits with code 0 on SIGTERM', { code, signal });
  }
  console.log(`${passed} passed, 0 failed`);
}

main().catch((err) => {
  console.error(err.message);
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
});
