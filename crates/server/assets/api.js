// api.js — the page's only way to the server: the documented HTTP API with the bearer token
// kept in sessionStorage. Every amount stays the API's string; nothing here does arithmetic.

const TOKEN_KEY = 'accrue.token';

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

/** An error answer of the API: `{"error":{"code","message","details"}}` and its status. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
  }
}

/** Calls the API; JSON in and out unless `accept` asks for something else. */
export async function call(method, path, { body, accept = 'application/json', signal, bearer } = {}) {
  const headers = { accept };
  const t = bearer ?? token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'the server cannot be reached; is accrue serve running?', []);
  }
  const text = await response.text();
  if (!response.ok) {
    let error = null;
    try { error = JSON.parse(text).error; } catch { /* not JSON: said below */ }
    if (error) throw new ApiError(response.status, error.code, error.message, error.details);
    throw new ApiError(response.status, 'http', `the server answered ${response.status}`, []);
  }
  return accept === 'application/json' ? JSON.parse(text) : text;
}

/**
 * Which role a token has, asked of the API itself (it has no "who am I" route): any valid
 * token lists the plans; hr and finance may list scenarios, exec may not; only finance may
 * validate. A 401 means the token is unknown.
 */
export async function whoAmI(bearer) {
  await call('GET', '/v1/plans', { bearer });
  try {
    await call('GET', '/v1/scenarios', { bearer });
  } catch (err) {
    if (err.status === 403) return 'exec';
    throw err;
  }
  try {
    await call('POST', '/v1/plans/validate', { bearer, body: {} });
  } catch (err) {
    if (err.status === 403) return 'hr';
    if (err.status === 401) throw err;
  }
  return 'finance';
}

/** What each role may do, in the words the page shows. */
export const ROLE_RIGHTS = {
  hr: { whatIf: true, exec: false, says: 'You are signed in as HR: you can run what-ifs and Monte Carlo and save scenarios. The executive alignment view is for exec and finance tokens.' },
  exec: { whatIf: false, exec: true, says: 'You are signed in as an executive: you can see whether the plans are aligned with profit and read each plan in plain words. What-ifs and saved scenarios are for HR and finance tokens.' },
  finance: { whatIf: true, exec: true, says: 'You are signed in as finance: every view is open to you.' },
};
