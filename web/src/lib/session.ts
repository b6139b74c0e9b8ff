// The access token lives in memory only (never localStorage); the refresh token is an
// HttpOnly cookie the browser sends to /api/v1/auth/* and script never sees.

type Listener = () => void;

let accessToken: string | null = null;
const listeners = new Set<Listener>();

export const session = {
  token(): string | null {
    return accessToken;
  },
  set(token: string | null): void {
    accessToken = token;
    listeners.forEach((l) => l());
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

let refreshing: Promise<boolean> | null = null;

/** Exchanges the refresh cookie for a new access token; one request at a time. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    // A login that lands while this refresh is in flight keeps its token.
    const before = accessToken;
    const fail = () => {
      if (accessToken === before) session.set(null);
      return false;
    };
    try {
      const res = await globalThis.fetch(`${baseUrl()}/api/v1/auth/refresh`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: '{}',
      });
      if (!res.ok) return fail();
      const body = (await res.json()) as { access_token?: string };
      session.set(body.access_token ?? null);
      return Boolean(body.access_token);
    } catch {
      return fail();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export function baseUrl(): string {
  return globalThis.location?.origin ?? '';
}
