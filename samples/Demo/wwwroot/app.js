// The Portcullis demo single-page app. No tokens here: the browser only ever has the gateway's
// HttpOnly session cookie, and every call to the gateway carries "X-CSRF: 1" (which a cross-site
// form or image cannot send, and a cross-site fetch cannot send without a CORS preflight).
'use strict';

const csrfHeaders = { 'X-CSRF': '1' };

const elements = {
  status: document.getElementById('status'),
  userName: document.getElementById('user-name'),
  login: document.getElementById('login'),
  logout: document.getElementById('logout'),
  callApi: document.getElementById('call-api'),
  apiResult: document.getElementById('api-result'),
  error: document.getElementById('error'),
};

function showError(message) {
  elements.error.textContent = message;
  elements.error.hidden = !message;
}

function render(user) {
  const signedIn = user !== null;
  elements.status.textContent = signedIn ? 'signed in' : 'signed out';
  elements.userName.textContent = signedIn ? displayName(user) : '';
  for (const element of document.querySelectorAll('.signed-in-only')) element.hidden = !signedIn;
  for (const element of document.querySelectorAll('.signed-out-only')) element.hidden = signedIn;
}

// /bff/user answers the user's claims; accept either a flat object or one with a "claims" member.
function displayName(user) {
  const claims = user.claims ?? user;
  const read = (type) => Array.isArray(claims)
    ? claims.find((claim) => claim.type === type)?.value
    : claims[type];
  return read('name') ?? read('preferred_username') ?? read('email') ?? read('sub') ?? 'unknown user';
}

async function loadUser() {
  try {
    const response = await fetch('/bff/user', { headers: csrfHeaders, credentials: 'same-origin' });
    if (response.status === 401) return null;
    if (!response.ok) throw new Error(await describe(response));
    return await response.json();
  } catch (error) {
    showError(`Could not read the session: ${error.message}`);
    return null;
  }
}

async function describe(response) {
  try {
    const body = await response.json();
    return `${response.status} ${body.error ?? ''}: ${body.message ?? ''}`.trim();
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function logIn() {
  location.href = '/bff/login?returnUrl=' + encodeURIComponent('/');
}

async function logOut() {
  showError('');
  let logoutUrl = null;
  try {
    const response = await fetch('/bff/logout', { method: 'POST', headers: csrfHeaders, credentials: 'same-origin' });
    if (response.ok) logoutUrl = (await response.json()).logoutUrl ?? null;
  } catch (error) {
    // The gateway has expired the cookie or will on the next request; go home either way.
  }
  location.href = logoutUrl ?? '/';
}

async function callApi() {
  showError('');
  elements.apiResult.textContent = 'Calling…';
  try {
    const response = await fetch('/api/whoami', { headers: csrfHeaders, credentials: 'same-origin' });
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: show as is */ }
    elements.apiResult.textContent = `HTTP ${response.status}\n${shown}`;
    if (response.status === 401) render(await loadUser());
  } catch (error) {
    elements.apiResult.textContent = `The call failed: ${error.message}`;
  }
}

elements.login.addEventListener('click', logIn);
elements.logout.addEventListener('click', logOut);
elements.callApi.addEventListener('click', callApi);

loadUser().then(render);
