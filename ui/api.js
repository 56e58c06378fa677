// The HTTP API client (docs/API.md): JSON in and out, server errors turned
// into ApiError {code, message}, the CSRF token from GET /api/session sent on
// the state changes that need it, and the launch secret as a Bearer token on
// the inspection endpoints.

const SECRET_KEY = 'keybench.launchSecret';

/** An error answered by the server (`{code, message}`) or by the network. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.title = status ? `The server answered ${status}` : 'No answer from the server';
  }
}

// ---- launch secret ------------------------------------------------------

/**
 * Moves `#launch=SECRET` from the address bar into sessionStorage (so it is
 * not left in history, bookmarks or screenshots) and returns the route the
 * fragment asked for (`#launch=S&view=dashboard`), else `fallback`.
 */
export function takeLaunchSecret(fallback = 'register') {
  const hash = location.hash.replace(/^#\/?/, '');
  if (!hash.startsWith('launch=') && !hash.includes('&launch=')) return null;
  const params = new URLSearchParams(hash);
  const secret = params.get('launch');
  if (secret) sessionStorage.setItem(SECRET_KEY, secret);
  const view = params.get('view');
  const route = `#/${view && /^[a-z]+$/.test(view) ? view : fallback}`;
  history.replaceState(null, '', location.pathname + location.search + route);
  return route;
}

export const launchSecret = {
  get: () => sessionStorage.getItem(SECRET_KEY),
  set: (s) => sessionStorage.setItem(SECRET_KEY, s.trim()),
  clear: () => sessionStorage.removeItem(SECRET_KEY),
};

// ---- session and CSRF ---------------------------------------------------

let sessionCache = null;

/** GET /api/session (the caller's session, if any: GETs create none); cached until refreshSession(). */
export async function session() {
  if (!sessionCache) sessionCache = request('GET', '/api/session').catch((e) => { sessionCache = null; throw e; });
  return sessionCache;
}

/** Forgets the cached session (after sign-in, sign-out: the id rotates). */
export function refreshSession() {
  sessionCache = null;
  return session();
}

const listeners = new Set();
/** Called with the new session whenever sign-in state may have changed. */
export function onSessionChange(fn) { listeners.add(fn); }
export async function sessionChanged() {
  const s = await refreshSession().catch(() => null);
  for (const fn of listeners) fn(s);
  return s;
}

// ---- requests -----------------------------------------------------------

/**
 * One JSON request. Options: `csrf` (send X-CSRF-Token), `inspect` (send the
 * launch secret), `signal`.
 */
export async function request(method, path, body, opts = {}) {
  try {
    return await once(method, path, body, opts);
  } catch (e) {
    // A stale CSRF token (the session rotated or expired): fetch a fresh
    // session once and retry.
    if (opts.csrf && e.status === 403 && /csrf/i.test(e.code)) return once(method, path, body, opts);
    throw e;
  }
}

async function once(method, path, body, { csrf = false, inspect = false, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf) {
    // No token before the first ceremony or upload: there is no session yet.
    const token = (await session()).csrfToken;
    if (token) headers['X-CSRF-Token'] = token;
  }
  if (inspect) {
    const s = launchSecret.get();
    if (!s) throw new ApiError(0, 'no_launch_secret', 'This page was opened without the launch secret.');
    headers.Authorization = `Bearer ${s}`;
  }
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `Could not reach the Keybench server (${e.message}). Is \`keybench serve\` still running?`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const code = data && data.code ? data.code : `http_${res.status}`;
    const message = data && data.message ? data.message : (text.slice(0, 300) || res.statusText || 'request failed');
    const err = new ApiError(res.status, code, message);
    if (res.status === 403 && /csrf/i.test(code)) {
      // A stale token (the session rotated): the next call fetches a new one.
      sessionCache = null;
    }
    throw err;
  }
  return data;
}

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body, opts) => request('POST', path, body, opts),
  del: (path, opts) => request('DELETE', path, undefined, opts),
};
