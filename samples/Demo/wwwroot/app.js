// The Portcullis demo single-page app. No tokens here: the browser only ever has the gateway's HttpOnly session
// cookie. The gateway's HTTP contract (the "X-CSRF: 1" header, the 401 bodies, the login and logout round trips,
// telling other tabs about a sign-out) is the Portcullis client's job: portcullis.js, built from clients/js.
import { createPortcullis } from '/portcullis.js';

const portcullis = createPortcullis();

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
  elements.userName.textContent = signedIn ? displayName(user.claims) : '';
  for (const element of document.querySelectorAll('.signed-in-only')) element.hidden = !signedIn;
  for (const element of document.querySelectorAll('.signed-out-only')) element.hidden = signedIn;
}

function displayName(claims) {
  return claims.name ?? claims.preferred_username ?? claims.email ?? claims.sub ?? 'unknown user';
}

async function loadUser() {
  try {
    return await portcullis.user();
  } catch (error) {
    showError(`Could not read the session: ${error.message}`);
    return null;
  }
}

async function callApi() {
  showError('');
  elements.apiResult.textContent = 'Calling…';
  try {
    const response = await portcullis.fetch('/api/whoami');
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: show as is */ }
    elements.apiResult.textContent = `HTTP ${response.status}\n${shown}`;
  } catch (error) {
    elements.apiResult.textContent = `The call failed: ${error.message}`;
  }
}

// This tab's 401s and other tabs' sign-outs alike.
portcullis.addEventListener('signedout', () => render(null));
elements.login.addEventListener('click', () => portcullis.login({ returnUrl: '/' }));
elements.logout.addEventListener('click', () => { showError(''); portcullis.logout(); });
elements.callApi.addEventListener('click', callApi);

loadUser().then(render);
