// The browser half of Portcullis, the OAuth token handler (Backend-for-Frontend). The browser never holds a token:
// only the gateway's HttpOnly session cookie, which the browser sends by itself. What an app has to get right, and
// what this module does for it, is the gateway's HTTP contract (DESIGN.md §3):
// - every /bff JSON endpoint and every proxied API call carries "X-CSRF: 1" (a cross-site form or image cannot send
//   it, and a cross-site fetch cannot send it without a CORS preflight the gateway refuses);
// - a 401 answers {"error": "unauthenticated" | "reauthentication_required" | "step_up_required", "message", "stepUp"?};
// - logins are navigations (GET /bff/login), never fetches, because the provider's pages must show in the tab.
// No runtime dependencies: it is one ES module an app can serve as a static file.

/** The anti-forgery header the gateway requires on every JSON endpoint and API call. */
export const CSRF_HEADER = 'X-CSRF';

/** Why the user is no longer signed in (the `detail.reason` of a `signedout` event). */
export type SignedOutReason = 'unauthenticated' | 'reauthentication_required' | 'logout';

/** What a 401 `step_up_required` asks the next login for (`maxAge` in seconds, `acr`). */
export interface StepUpHint {
  maxAge?: number;
  acr?: string;
}

/** The session part of `GET /bff/user`. Times are ISO 8601 strings, as the gateway sends them. */
export interface SessionInfo {
  handle: string;
  createdAt: string;
  /** Idle expiry: moves on with activity. */
  expiresAt: string;
  absoluteExpiresAt: string;
  authTime?: string | null;
  acr?: string | null;
}

/** `GET /bff/user`: the signed-in user's claims (never a token) and the session's expiry. */
export interface User {
  sub: string;
  provider: string;
  userId?: string | null;
  claims: Record<string, unknown>;
  session: SessionInfo;
}

/** `GET /bff/providers`: what a login button needs. */
export interface Provider {
  name: string;
  displayName: string;
}

export interface PortcullisOptions {
  /** The gateway's endpoint prefix (`Portcullis:BasePath`). The default value is `/bff`. */
  basePath?: string;
  /**
   * What a 401 `unauthenticated` or `reauthentication_required` from {@link Portcullis.fetch} does besides the
   * `signedout` event: `'event'` (only the event) or `'login'` (also navigate to the login, returning here).
   * The default value is `'event'`.
   */
  onSignedOut?: 'event' | 'login';
  /** How long {@link Portcullis.user} keeps an answer, in seconds (never past the session's expiry). The default value is 60. */
  userCacheSeconds?: number;
  /** The `BroadcastChannel` name tabs tell each other about sign-outs on; `false` turns it off. The default value is `'portcullis'`. */
  channel?: string | false;
}

export interface LoginOptions {
  /** A path on this site to land on after the login. The default value is the current page. */
  returnUrl?: string;
  /** The provider's name (`GET /bff/providers`); may be left out when the gateway has one provider. */
  provider?: string;
  /** Step-up: the sign-in must be at most this many seconds old (sent as `max_age`). */
  maxAge?: number;
  /** Step-up: the authentication context class to ask for (sent as `acr_values`). */
  acr?: string;
}

export interface LogoutOptions {
  /** End every session of this user, in every browser (`POST /bff/logout?everywhere=true`). */
  everywhere?: boolean;
  /** A path on this site to return to, where the provider's sign-out page is not used. */
  returnUrl?: string;
  /** Navigate to the provider's sign-out page (or `returnUrl`, or `/`). The default value is true. */
  navigate?: boolean;
}

export interface LinkOptions {
  /** The provider whose identity to add to the signed-in user. */
  provider?: string;
  /** A path on this site to land on afterwards. The default value is the current page. */
  returnUrl?: string;
}

export interface SignedOutDetail {
  reason: SignedOutReason;
  /** True when another tab saw the sign-out and told this one. */
  fromOtherTab: boolean;
}

export interface StepUpDetail extends StepUpHint {
  message: string;
}

/** A gateway answer that is neither success nor an expected 401 (e.g. 403 `forbidden`, 503 `provider_unavailable`). */
export class PortcullisError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'PortcullisError';
  }
}

interface ErrorBody {
  error?: string;
  message?: string;
  stepUp?: StepUpHint;
}

interface ChannelMessage {
  type: 'signedout';
  reason: SignedOutReason;
}

const STEP_UP_STARTED_KEY = 'portcullis:step-up-started';

// A provider may ignore the hint (acr_values are only a request); a second step_up_required this soon after starting
// one then shows the app the 401 instead of sending the browser round in a loop.
const STEP_UP_LOOP_GUARD_MS = 10_000;

/**
 * A Portcullis session in this tab. Events: `signedout` (`CustomEvent<SignedOutDetail>`), dispatched when this tab
 * or another tab of the same browser learns the session has ended; `stepup` (`CustomEvent<StepUpDetail>`,
 * cancelable), dispatched before a step-up login starts: cancel it to handle step-up yourself.
 */
export class Portcullis extends EventTarget {
  readonly basePath: string;
  private readonly onSignedOut: 'event' | 'login';
  private readonly userCacheMs: number;
  private readonly channel: BroadcastChannel | null;
  private cached: { user: User; until: number } | null = null;
  private pending: Promise<User | null> | null = null;

  constructor(options: PortcullisOptions = {}) {
    super();
    this.basePath = (options.basePath ?? '/bff').replace(/\/+$/, '');
    this.onSignedOut = options.onSignedOut ?? 'event';
    this.userCacheMs = (options.userCacheSeconds ?? 60) * 1000;
    const channelName = options.channel ?? 'portcullis';
    this.channel = channelName !== false && typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName) : null;
    if (this.channel) {
      this.channel.onmessage = (event: MessageEvent<ChannelMessage>) => {
        if (event.data?.type === 'signedout') {
          this.forget();
          this.dispatchSignedOut(event.data.reason, true);
        }
      };
    }
  }

  /** Starts a login: the browser leaves for the provider and comes back to `returnUrl` signed in. */
  login(options: LoginOptions = {}): void {
    const query = new URLSearchParams({ returnUrl: options.returnUrl ?? currentPath() });
    if (options.provider) query.set('provider', options.provider);
    if (options.maxAge !== undefined) query.set('maxAge', String(options.maxAge));
    if (options.acr) query.set('acr', options.acr);
    window.location.assign(`${this.basePath}/login?${query}`);
  }

  /**
   * Ends the session at the gateway (which revokes the tokens), tells the other tabs, and by default goes to the
   * provider's sign-out page. Resolves to that page's URL (or null). A network failure still signs this tab out:
   * the gateway expires the cookie on its next answer anyway.
   */
  async logout(options: LogoutOptions = {}): Promise<string | null> {
    const query = new URLSearchParams();
    if (options.everywhere) query.set('everywhere', 'true');
    if (options.returnUrl) query.set('returnUrl', options.returnUrl);
    const suffix = query.toString() ? `?${query}` : '';
    let logoutUrl: string | null = null;
    try {
      const response = await this.send(`${this.basePath}/logout${suffix}`, { method: 'POST' });
      if (response.ok) logoutUrl = ((await response.json()) as { logoutUrl?: string | null }).logoutUrl ?? null;
    } catch {
      // Offline or the gateway unreachable: sign this tab out regardless.
    }

    this.signedOut('logout');
    if (options.navigate ?? true) window.location.assign(logoutUrl ?? options.returnUrl ?? '/');
    return logoutUrl;
  }

  /**
   * The signed-in user, or null. Kept for `userCacheSeconds` (never past the session's idle expiry) so an app may
   * call it freely; `{ refresh: true }` asks the gateway again. Calls made while one is on its way share it.
   */
  async user(options: { refresh?: boolean } = {}): Promise<User | null> {
    if (!options.refresh && this.cached && this.cached.until > Date.now()) return this.cached.user;
    if (!this.pending) {
      this.pending = this.loadUser().finally(() => { this.pending = null; });
    }
    return this.pending;
  }

  /** The configured providers, for login buttons. */
  async providers(): Promise<Provider[]> {
    const response = await this.send(`${this.basePath}/providers`);
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as Provider[];
  }

  /**
   * Adds another provider's identity to the signed-in user: `POST /bff/link` answers the URL to go to, where the
   * provider asks the user to sign in again.
   */
  async link(options: LinkOptions = {}): Promise<void> {
    const query = new URLSearchParams({ returnUrl: options.returnUrl ?? currentPath() });
    if (options.provider) query.set('provider', options.provider);
    const response = await this.send(`${this.basePath}/link?${query}`, { method: 'POST' });
    if (!response.ok) throw await errorOf(response);
    window.location.assign(((await response.json()) as { url: string }).url);
  }

  /**
   * `fetch` for the gateway's API routes: adds `X-CSRF: 1` and same-origin credentials (unless `init` names other
   * credentials). A 401 `unauthenticated`/`reauthentication_required` signs this tab and the others out (the
   * `signedout` event, or a login with `onSignedOut: 'login'`); a 401 `step_up_required` starts the step-up login the
   * answer asks for. The response is returned either way.
   */
  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const response = await this.send(input, init);
    if (response.status === 401) await this.handleUnauthorized(response);
    return response;
  }

  /** Stops listening to other tabs (for apps that create and drop clients). */
  close(): void {
    this.channel?.close();
  }

  private async send(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, { ...init, credentials: init?.credentials ?? 'same-origin' });
    request.headers.set(CSRF_HEADER, '1');
    return fetch(request);
  }

  private async loadUser(): Promise<User | null> {
    const response = await this.send(`${this.basePath}/user`);
    if (response.status === 401) {
      const body = await readError(response);
      const wasSignedIn = this.cached !== null;
      this.forget();
      // Only a change is news: a page that loads signed out has nothing to react to.
      if (wasSignedIn) this.signedOut(body?.error === 'reauthentication_required' ? 'reauthentication_required' : 'unauthenticated');
      return null;
    }

    if (!response.ok) throw await errorOf(response);
    const user = (await response.json()) as User;
    const sessionEnds = Date.parse(user.session?.expiresAt ?? '');
    const until = Math.min(Date.now() + this.userCacheMs, Number.isNaN(sessionEnds) ? Infinity : sessionEnds);
    this.cached = { user, until };
    return user;
  }

  private async handleUnauthorized(response: Response): Promise<void> {
    const body = await readError(response.clone());
    switch (body?.error) {
      case 'step_up_required':
        await this.stepUp(body.stepUp ?? {}, body.message ?? '');
        break;
      case 'unauthenticated':
      case 'reauthentication_required':
        this.signedOut(body.error);
        if (this.onSignedOut === 'login') this.login();
        break;
      default:
        break; // Some other service's 401 passed through: not ours to interpret.
    }
  }

  private async stepUp(hint: StepUpHint, message: string): Promise<void> {
    const detail: StepUpDetail = { ...hint, message };
    if (!this.dispatchEvent(new CustomEvent<StepUpDetail>('stepup', { detail, cancelable: true }))) return;
    if (Date.now() - Number(readSession(STEP_UP_STARTED_KEY) ?? 0) < STEP_UP_LOOP_GUARD_MS) return;

    // The step-up must happen at the provider this session signed in with.
    const provider = (await this.user().catch(() => null))?.provider;
    writeSession(STEP_UP_STARTED_KEY, String(Date.now()));
    this.login({
      ...(provider ? { provider } : {}),
      ...(hint.maxAge !== undefined && hint.maxAge !== null ? { maxAge: hint.maxAge } : {}),
      ...(hint.acr ? { acr: hint.acr } : {}),
    });
  }

  /** This tab learnt the session ended: forget the user, tell the other tabs, tell the app. */
  private signedOut(reason: SignedOutReason): void {
    this.forget();
    this.channel?.postMessage({ type: 'signedout', reason } satisfies ChannelMessage);
    this.dispatchSignedOut(reason, false);
  }

  private dispatchSignedOut(reason: SignedOutReason, fromOtherTab: boolean): void {
    this.dispatchEvent(new CustomEvent<SignedOutDetail>('signedout', { detail: { reason, fromOtherTab } }));
  }

  private forget(): void {
    this.cached = null;
  }
}

/** One client per page is the usual shape: `import { createPortcullis } from './portcullis.js'`. */
export function createPortcullis(options: PortcullisOptions = {}): Portcullis {
  return new Portcullis(options);
}

function currentPath(): string {
  return window.location.pathname + window.location.search;
}

async function readError(response: Response): Promise<ErrorBody | null> {
  try {
    return (await response.json()) as ErrorBody;
  } catch {
    return null;
  }
}

async function errorOf(response: Response): Promise<PortcullisError> {
  const body = await readError(response);
  return new PortcullisError(response.status, body?.error ?? 'http_error', body?.message ?? `HTTP ${response.status}`);
}

// sessionStorage throws in some privacy modes; the loop guard is then simply off.
function readSession(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeSession(key: string, value: string): void {
  try {
    window.sessionStorage.setItem(key, value);
  } catch {
    // See readSession.
  }
}
