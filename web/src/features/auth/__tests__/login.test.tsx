import { beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, useLocation } from 'react-router';
import { LoginPage } from '../login-page';
import { AuthProvider, useAuth } from '@/lib/auth';
import { session } from '@/lib/session';
import { setLanguage } from '@/lib/i18n';
import { jsonResponse, mockApi, renderWithProviders } from '@/test/utils';

const METHODS = { password: true, directory: false, sso: [], demo_logins: null };
const MICROSOFT = { provider: 'oidc', label: 'Microsoft', start_url: '/api/v1/auth/sso/oidc/start' };
const ME = {
  id: '00000000-0000-4000-8000-00000000a0d1',
  email: 'jean.dupont@tentabo.test',
  full_name: 'Jean Dupont',
  role: 'admin',
  permissions: ['lead:view_own'],
};

function Where() {
  const l = useLocation();
  const { state } = useAuth();
  return (
    <>
      <output data-testid="where">{l.pathname + l.search}</output>
      <output data-testid="who">{state.status === 'authenticated' ? state.me.email : state.status}</output>
    </>
  );
}

/** The login page with the real session handling (the refresh on load finds no cookie). */
function renderLogin(route = '/login') {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <AuthProvider>
        <MemoryRouter initialEntries={[route]}>
          <LoginPage />
          <Where />
        </MemoryRouter>
      </AuthProvider>
    </QueryClientProvider>,
  );
}

const noSession = () => jsonResponse(401, { error: { code: 'missing_token', message: 'No session' } });

beforeEach(() => {
  session.set(null);
});

describe('single sign-on on the login page', () => {
  it('offers “Sign in with …” for each provider, to the API’s start URL with the path to come back to', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/auth/methods': () => ({ ...METHODS, sso: [MICROSOFT] }) });
    renderWithProviders(<LoginPage />, { route: '/login?next=%2Forders%2F42%3Ftab%3Dlines' });
    const link = await screen.findByRole('link', { name: 'Sign in with Microsoft' });
    expect(link).toHaveAttribute('href', '/api/v1/auth/sso/oidc/start?return_to=%2Forders%2F42%3Ftab%3Dlines');
    expect(screen.getByRole('separator', { name: 'or' })).toBeInTheDocument();
    // The password form stays: the break-glass way in.
    expect(screen.getByLabelText('Password')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('comes back to the console’s home when there is nowhere else to go, never to another site', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/auth/methods': () => ({ ...METHODS, sso: [MICROSOFT] }) });
    renderWithProviders(<LoginPage />, { route: '/login?next=%2F%2Fevil.example%2Fx' });
    expect(await screen.findByRole('link', { name: 'Sign in with Microsoft' })).toHaveAttribute(
      'href',
      '/api/v1/auth/sso/oidc/start?return_to=%2F',
    );
  });

  it('offers no single sign-on when the API lists none', async () => {
    await setLanguage('en');
    const calls = mockApi({ 'GET /api/v1/auth/methods': () => METHODS });
    renderWithProviders(<LoginPage />, { route: '/login' });
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/auth/methods'));
    await screen.findByRole('button', { name: 'Sign in' });
    expect(screen.queryByRole('link', { name: /Sign in with/ })).toBeNull();
    expect(screen.queryByRole('separator')).toBeNull();
  });

  it('explains a failed single sign-on the API sent back, then drops it from the address', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/auth/methods': () => ({ ...METHODS, sso: [MICROSOFT] }) });
    renderWithProviders(
      <>
        <LoginPage />
        <Where />
      </>,
      { route: '/login?sso_error=account_not_mapped&next=%2Fleads' },
    );
    expect(screen.getByRole('alert')).toHaveTextContent(
      'Your account is in no group that gives access to Tentabo. Ask your administrator for access.',
    );
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/login\?next=%2Fleads$/));
    expect(screen.getByTestId('sso-error')).toBeInTheDocument();
  });

  it('says every failure the API may send, in English and French', async () => {
    const codes = [
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
    ];
    mockApi({ 'GET /api/v1/auth/methods': () => METHODS });
    for (const lang of ['en', 'fr'] as const) {
      await setLanguage(lang);
      const seen = new Set<string>();
      for (const code of codes) {
        const { unmount } = renderWithProviders(<LoginPage />, { route: `/login?sso_error=${code}` });
        const text = screen.getByTestId('sso-error').textContent ?? '';
        expect(text).not.toContain(code);
        expect(text).not.toMatch(/login\.sso/);
        seen.add(text);
        unmount();
      }
      expect(seen.size).toBe(codes.length);
    }
    await setLanguage('en');
  });

  it('names a failure it does not know', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/auth/methods': () => METHODS });
    renderWithProviders(<LoginPage />, { route: '/login?sso_error=quota_exceeded' });
    expect(screen.getByRole('alert')).toHaveTextContent('Single sign-on failed (quota_exceeded). Please try again.');
  });
});

describe('directory login', () => {
  it('takes a directory user name when a directory is active, and signs in with it', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/auth/methods': () => ({ ...METHODS, directory: true }),
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/login': () => ({ access_token: 'tok-ldap', token_type: 'Bearer', expires_in: 900, refresh_token: null }),
      'GET /api/v1/auth/me': () => ME,
    });
    renderLogin();
    const login = await screen.findByLabelText('Email or user name');
    expect(login).toHaveAttribute('type', 'text');
    await userEvent.type(login, 'jdupont');
    await userEvent.type(screen.getByLabelText('Password'), 'secret');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByTestId('who')).toHaveTextContent('jean.dupont@tentabo.test'));
    expect(screen.queryByText('Not a valid email address.')).toBeNull();
    expect(calls.find((c) => c.path === '/api/v1/auth/login')?.body).toEqual({ email: 'jdupont', password: 'secret', cookie: true });
    expect(session.token()).toBe('tok-ldap');
  });

  it('insists on an email without a directory', async () => {
    await setLanguage('en');
    const calls = mockApi({ 'GET /api/v1/auth/methods': () => METHODS, 'POST /api/v1/auth/refresh': noSession });
    renderLogin();
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/auth/methods'));
    const email = screen.getByLabelText('Email');
    expect(email).toHaveAttribute('type', 'email');
    await userEvent.type(email, 'jdupont');
    await userEvent.type(screen.getByLabelText('Password'), 'secret');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Not a valid email address.')).toBeInTheDocument();
    expect(calls.map((c) => c.path)).not.toContain('/api/v1/auth/login');
  });

  it('shows the API’s message when the directory does not answer', async () => {
    await setLanguage('fr');
    const message = 'L’annuaire ne répond pas ; réessayez plus tard (les administrateurs avec un mot de passe Tentabo peuvent se connecter)';
    mockApi({
      'GET /api/v1/auth/methods': () => ({ ...METHODS, directory: true }),
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/login': () => jsonResponse(503, { error: { code: 'directory_unavailable', message } }),
    });
    renderLogin();
    await userEvent.type(await screen.findByLabelText('E-mail ou identifiant'), 'jdupont');
    await userEvent.type(screen.getByLabelText('Mot de passe'), 'secret');
    await userEvent.click(screen.getByRole('button', { name: 'Se connecter' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(message);
    expect(screen.getByTestId('who')).toHaveTextContent('anonymous');
    await setLanguage('en');
  });
});
