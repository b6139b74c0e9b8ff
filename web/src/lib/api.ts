import createClient from 'openapi-fetch';
import type { paths } from '@/api/schema';
import { baseUrl, refreshSession, session } from './session';
import { currentLanguage } from './i18n';

type Expired = () => void;
let onExpired: Expired = () => {};

/** Called when a 401 could not be cured by refreshing the session. */
export function setSessionExpiredHandler(f: Expired): void {
  onExpired = f;
}

// A 401 from these is an answer (wrong password, a used SSO code), not an expired session.
const NO_RETRY = ['/api/v1/auth/login', '/api/v1/auth/refresh', '/api/v1/auth/logout', '/api/v1/auth/sso/exchange'];

function prepare(req: Request): Request {
  const token = session.token();
  if (token) req.headers.set('Authorization', `Bearer ${token}`);
  req.headers.set('Accept-Language', currentLanguage());
  req.headers.set('Accept', 'application/json');
  return req;
}

/**
 * Every API call: bearer token, `Accept-Language`, and on a 401 one refresh of the
 * session then one retry; a failed refresh sends the user to the login page.
 */
export async function apiFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const res = await globalThis.fetch(prepare(input));
  const path = new URL(input.url).pathname;
  if (res.status !== 401 || NO_RETRY.includes(path)) return res;
  if (await refreshSession()) return globalThis.fetch(prepare(retry));
  onExpired();
  return res;
}

export const api = createClient<paths>({
  baseUrl: baseUrl(),
  fetch: apiFetch,
  credentials: 'same-origin',
});
