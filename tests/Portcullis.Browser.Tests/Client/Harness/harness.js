// The page the client's Chromium tests drive: the built client, one instance as window.portcullis (options from the
// query string), and every event it dispatches in window.events for the test to read.
import { createPortcullis } from '/portcullis.js';

const query = new URLSearchParams(location.search);
const options = {};
if (query.has('onSignedOut')) options.onSignedOut = query.get('onSignedOut');
if (query.has('userCacheSeconds')) options.userCacheSeconds = Number(query.get('userCacheSeconds'));

window.events = [];
window.portcullis = createPortcullis(options);
for (const type of ['signedout', 'stepup']) {
  window.portcullis.addEventListener(type, (event) => window.events.push({ type, ...event.detail }));
}
if (query.has('cancelStepUp')) window.portcullis.addEventListener('stepup', (event) => event.preventDefault());
document.getElementById('ready').textContent = 'ready';
