import { StrictMode } from 'react';
import { beforeEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Link, MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { SsoLanding, resetSsoExchanges } from '../sso-page';
import { AuthProvider, useAuth } from '@/lib/auth';
import { session } from '@/lib/session';
import { setLanguage } from '@/lib/i18n';
import { jsonResponse, mockApi } from '@/test/utils';

const AMELIE = {
  id: '00000000-0000-4000-8000-00000000a5e1',
  email: 'amelie@tentabo.test',
  full_name: 'Amélie Dupré-Lefèvre',
  role: 'admin',
  permissions: ['lead:view_own'],
};
const TOKENS = { access_token: 'tok-sso', token_type: 'Bearer', expires_in: 900, refresh_token: null };

function Where() {
  const l = useLocation();
  const { state } = useAuth();
  return (
    <>
      <output data-testid="where">{l.pathname + l.search}</output>
      <output data-testid="who">{state.status === 'authenticated' ? state.me.full_name : state.status}</output>
      <Link to="/login/sso?code=c0de-5&return_to=%2Fcontracts">continue</Link>
    </>
  );
}

/** `/login/sso` as the app routes it, with the real session handling, in StrictMode as main.tsx renders. */
function renderLanding(route: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <AuthProvider>
          <MemoryRouter initialEntries={[route]}>
            <Routes>
              <Route path="/login/sso" element={<SsoLanding />} />
              <Route path="*" element={<Where />} />
            </Routes>
          </MemoryRouter>
        </AuthProvider>
      </QueryClientProvider>
    </StrictMode>,
  );
}

const noSession = () => jsonResponse(401, { error: { code: 'missing_token', message: 'No session' } });
const exchanges = (calls: { method: string; path: string }[]) => calls.filter((c) => c.path === '/api/v1/auth/sso/exchange');

beforeEach(() => {
  session.set(null);
  resetSsoExchanges();
});

describe('coming back from single sign-on', () => {
  it('exchanges the one-time code once, keeps the session, and opens where the user was going', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/sso/exchange': () => TOKENS,
      'GET /api/v1/auth/me': () => AMELIE,
    });
    renderLanding('/login/sso?code=c0de-1&return_to=%2Fleads%3Fstate%3Dnew');
    expect(screen.getByRole('status')).toHaveTextContent('Signing you in…');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/leads\?state=new$/));
    expect(screen.getByTestId('who')).toHaveTextContent('Amélie Dupré-Lefèvre');
    expect(session.token()).toBe('tok-sso');
    // One exchange only: a used code answers 401.
    expect(exchanges(calls)).toEqual([{ method: 'POST', path: '/api/v1/auth/sso/exchange', body: { code: 'c0de-1', cookie: true } }]);
  });

  it('exchanges once too when the page mounts with the session already settled', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/sso/exchange': () => TOKENS,
      'GET /api/v1/auth/me': () => AMELIE,
    });
    renderLanding('/elsewhere');
    await waitFor(() => expect(screen.getByTestId('who')).toHaveTextContent('anonymous'));
    await userEvent.click(screen.getByRole('link', { name: 'continue' }));
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/contracts$/));
    expect(screen.getByTestId('who')).toHaveTextContent('Amélie Dupré-Lefèvre');
    expect(exchanges(calls)).toHaveLength(1);
  });

  it('opens the console’s home without a return path, or with one leading elsewhere', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/sso/exchange': () => TOKENS,
      'GET /api/v1/auth/me': () => AMELIE,
    });
    renderLanding('/login/sso?code=c0de-2&return_to=%2F%2Fevil.example%2Fphish');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/$/));
    expect(screen.getByTestId('who')).toHaveTextContent('Amélie Dupré-Lefèvre');
  });

  it('goes back to the login page with the reason when the code is refused', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/sso/exchange': () =>
        jsonResponse(401, { error: { code: 'invalid_credentials', message: 'Invalid email or password' } }),
    });
    renderLanding('/login/sso?code=used&return_to=%2Fleads');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/login\?sso_error=sso_code_refused&next=%2Fleads$/));
    expect(screen.getByTestId('who')).toHaveTextContent('anonymous');
    expect(session.token()).toBeNull();
    expect(exchanges(calls)).toHaveLength(1);
    // A refused code is an answer, not an expired session: no refresh-and-retry.
    expect(calls.filter((c) => c.path === '/api/v1/auth/refresh').length).toBeLessThanOrEqual(1);
  });

  it('passes on a refusal the login page explains (a disabled account)', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/sso/exchange': () => jsonResponse(403, { error: { code: 'account_disabled', message: 'This account is disabled' } }),
    });
    renderLanding('/login/sso?code=c0de-3');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/login\?sso_error=account_disabled$/));
  });

  it('sends an address without a code back to the login page', async () => {
    await setLanguage('en');
    const calls = mockApi({ 'POST /api/v1/auth/refresh': noSession });
    renderLanding('/login/sso');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/login\?sso_error=sso_code_missing$/));
    expect(exchanges(calls)).toHaveLength(0);
  });

  it('says so in place when the server cannot answer, with a way back to the login page', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/auth/refresh': noSession,
      'POST /api/v1/auth/sso/exchange': () =>
        jsonResponse(503, { error: { code: 'unavailable', message: 'The service is unavailable; try again shortly' } }),
    });
    renderLanding('/login/sso?code=c0de-4&return_to=%2Forders');
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The sign-in could not be completed. The service is unavailable; try again shortly',
    );
    const back = screen.getByRole('link', { name: 'Back to sign in' });
    expect(back).toHaveAttribute('href', '/login?next=%2Forders');
    await userEvent.click(back);
    expect(screen.getByTestId('where')).toHaveTextContent(/^\/login\?next=%2Forders$/);
  });
});
