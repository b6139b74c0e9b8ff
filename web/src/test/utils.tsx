import * as React from 'react';
import { render } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import { StaticAuthProvider, type Me } from '@/lib/auth';
import '@/lib/i18n';

export const ADMIN: Me = {
  id: '00000000-0000-4000-8000-00000000a000',
  email: 'superadmin@salescommand.com',
  full_name: 'Super Admin',
  role: 'admin',
  permissions: ['lead:view_own', 'lead:create', 'lead:update_status', 'product:manage', 'provider:manage', 'provider:view'],
};

export const PARTNER: Me = {
  id: '00000000-0000-4000-8000-00000000a002',
  email: 'am1@salescommand.com',
  full_name: 'Alice Martin',
  role: 'partner',
  partner_id: '00000000-0000-4000-8000-000000009001',
  permissions: ['lead:view_own', 'lead:create', 'lead:update_status', 'order:create', 'order:view_own', 'product:view'],
};

export function renderWithProviders(ui: React.ReactElement, { me = PARTNER, route = '/' }: { me?: Me; route?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return {
    client,
    ...render(
      <QueryClientProvider client={client}>
        <StaticAuthProvider me={me}>
          <MemoryRouter initialEntries={[route]}>{ui}</MemoryRouter>
        </StaticAuthProvider>
      </QueryClientProvider>,
    ),
  };
}

/** Replaces `fetch` with a table of answers keyed by "METHOD /path". */
export function mockApi(routes: Record<string, (req: Request) => unknown | Promise<unknown>>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const fetchMock = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url);
    const key = `${req.method} ${url.pathname}`;
    const text = await req.clone().text();
    calls.push({ method: req.method, path: url.pathname + url.search, body: text ? JSON.parse(text) : undefined });
    const handler = routes[key];
    if (!handler) return new Response(JSON.stringify({ error: { code: 'not_found', message: 'Not found' } }), { status: 404 });
    const out = await handler(req);
    if (out instanceof Response) return out;
    return new Response(JSON.stringify(out), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  globalThis.fetch = fetchMock as typeof fetch;
  return calls;
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}
