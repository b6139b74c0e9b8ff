/**
 * Single sign-on as the console sees it: the failures the API sends back to the login page
 * (`/login?sso_error=<code>`), and the console paths it may return to.
 */
export const SSO_ERRORS = [
  'sso_state_invalid',
  'sso_denied',
  'sso_code_missing',
  'sso_code_refused',
  'sso_token_refused',
  'sso_unavailable',
  'sso_not_active',
  'sso_issuer_mismatch',
  'account_not_mapped',
  'account_disabled',
  'sso_email_unverified',
  'sso_email_missing',
  'email_taken',
  'organisation_not_found',
] as const;

export function isSsoError(code: string): boolean {
  return (SSO_ERRORS as readonly string[]).includes(code);
}

/** A path of the console to land on: relative, never another origin (`//host`, `/\host`). */
export function safeReturn(path: string | null | undefined): string | null {
  const p = path?.trim();
  if (!p || !p.startsWith('/') || p.startsWith('//') || p.includes('\\')) return null;
  return [...p].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) ? null : p;
}

/** Where "Sign in with …" sends the browser: the API's start URL, with the path to come back to. */
export function ssoHref(startUrl: string, returnTo: string): string {
  return `${startUrl}${startUrl.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(returnTo)}`;
}
