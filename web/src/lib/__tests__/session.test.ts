import { describe, expect, it, vi } from 'vitest';
import { api, setSessionExpiredHandler } from '@/lib/api';
import { refreshSession, session } from '@/lib/session';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('session', () => {
  it('on a 401 refreshes the session once, then retries the call with the new token', async () => {
    session.set('old');
    const seen: string[] = [];
    globalThis.fetch = vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(String(input));
      const path = new URL(req.url).pathname;
      seen.push(`${path} ${req.headers.get('Authorization') ?? ''}`);
      if (path === '/api/v1/auth/refresh') return json(200, { access_token: 'new', token_type: 'Bearer', expires_in: 900, refresh_token: null });
      return req.headers.get('Authorization') === 'Bearer new' ? json(200, { items: [], next_cursor: null }) : json(401, { error: { code: 'token_expired', message: 'expired' } });
    }) as typeof fetch;
    const { response } = await api.GET('/api/v1/leads');
    expect(response.status).toBe(200);
    expect(seen).toEqual(['/api/v1/leads Bearer old', '/api/v1/auth/refresh ', '/api/v1/leads Bearer new']);
    expect(session.token()).toBe('new');
  });

  it('sends the user to the login page when the refresh fails', async () => {
    session.set('old');
    const expired = vi.fn();
    setSessionExpiredHandler(expired);
    globalThis.fetch = vi.fn(async () => json(401, { error: { code: 'invalid_token', message: 'no' } })) as typeof fetch;
    const { response } = await api.GET('/api/v1/leads');
    expect(response.status).toBe(401);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(session.token()).toBeNull();
  });

  it('never drops a token a login stored while a refresh was in flight', async () => {
    session.set(null);
    let answer: (r: Response) => void = () => {};
    globalThis.fetch = vi.fn(() => new Promise<Response>((r) => (answer = r))) as typeof fetch;
    const pending = refreshSession();
    session.set('from-login');
    answer(json(401, { error: { code: 'missing_token', message: 'no cookie' } }));
    expect(await pending).toBe(false);
    expect(session.token()).toBe('from-login');
  });
});
