import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { LdapTestOutcome, LdapTools } from '../components/auth-tools';
import type { LdapTestLoginResult, Provider } from '../api';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import LDAP_SCHEMA from './ldap-schema.json';

function ldap(over: Partial<{ configured: boolean; active: boolean }> = {}): Provider {
  return {
    kind: 'auth',
    name: 'ldap',
    label: 'LDAP directory',
    description: 'Directory login.',
    configured: over.configured ?? true,
    active: over.active ?? false,
    configuration: { url: 'ldap://127.0.0.1:3389', bind_dn: 'cn=svc,dc=tentabo,dc=test', user_base_dn: 'ou=people,dc=tentabo,dc=test' },
    schema: LDAP_SCHEMA,
    credentials: [{ name: 'bind_password', label: 'Service account password', required: true, set: true }],
    health: { breaker: 'closed', status: null, reason: null, last_check: null },
    version: 2,
  } as unknown as Provider;
}

const ENTRY = {
  dn: 'uid=jdupont,ou=people,dc=tentabo,dc=test',
  email: 'jean.dupont@tentabo.test',
  full_name: 'Jean Dupont',
  groups: ['cn=tentabo-admins,ou=groups,dc=tentabo,dc=test', 'cn=staff,ou=groups,dc=tentabo,dc=test'],
};

async function testLogin(login: string, password: string) {
  await userEvent.type(screen.getByLabelText('User name or email'), login);
  await userEvent.type(screen.getByLabelText('Password'), password);
  await userEvent.click(screen.getByRole('button', { name: 'Test the login' }));
}

describe('testing a directory login', () => {
  it('sends the login and shows what it gives: role, email, the entry and its groups', async () => {
    await setLanguage('en');
    const ok: LdapTestLoginResult = {
      ok: true,
      reason: null,
      latency_ms: 12,
      entry: ENTRY,
      role: 'admin',
      partner_id: null,
      distributor_id: null,
      email: 'jean.dupont@tentabo.test',
    };
    const calls = mockApi({ 'POST /api/v1/providers/auth/ldap/test-login': () => ok });
    renderWithProviders(<LdapTools provider={ldap()} />, { me: ADMIN });
    expect(screen.getByRole('button', { name: 'Test the login' })).toBeDisabled();
    await testLogin(' jdupont ', 'secret');
    const result = await screen.findByTestId('ldap-test-result');
    expect(within(result).getByRole('status')).toHaveTextContent('This login works, with the role Administrator (12 ms).');
    expect(result).toHaveTextContent('uid=jdupont,ou=people,dc=tentabo,dc=test');
    expect(result).toHaveTextContent('Jean Dupont');
    const groups = within(result).getByRole('list', { name: 'Groups (2)' });
    expect(within(groups).getAllByRole('listitem').map((li) => li.textContent)).toEqual(ENTRY.groups);
    expect(calls.filter((c) => c.method === 'POST')).toEqual([
      { method: 'POST', path: '/api/v1/providers/auth/ldap/test-login', body: { login: 'jdupont', password: 'secret' } },
    ]);
  });

  it('names the organisation the login lands in as the mapping names it, without looking it up', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'POST /api/v1/providers/auth/ldap/test-login': () => ({
        ok: true,
        reason: null,
        latency_ms: 9,
        entry: { ...ENTRY, groups: ['cn=partner-sales,ou=groups,dc=tentabo,dc=test'] },
        role: 'partner',
        partner_id: '00000000-0000-4000-8000-000000009001',
        distributor_id: null,
        organisation: 'Acme Partner',
        email: 'jean.dupont@tentabo.test',
      }),
    });
    renderWithProviders(<LdapTools provider={ldap()} />, { me: ADMIN });
    await testLogin('jdupont', 'secret');
    const result = await screen.findByTestId('ldap-test-result');
    const gives = within(result).getByLabelText('What the login gives');
    const terms = within(gives).getAllByRole('term').map((d) => d.textContent);
    const defs = within(gives).getAllByRole('definition').map((d) => d.textContent);
    expect(Object.fromEntries(terms.map((term, i) => [term, defs[i]]))).toEqual({
      Role: 'Partner',
      Organisation: 'Acme Partner',
      Email: 'jean.dupont@tentabo.test',
    });
    expect(result).not.toHaveTextContent('00000000-0000-4000-8000-000000009001');
    // The name comes with the answer: no list of partners is read for it.
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/v1/providers/auth/ldap/test-login']);
  });

  it('falls back to the organisation’s id when the answer has no organisation name', async () => {
    await setLanguage('en');
    mockApi({});
    renderWithProviders(
      <LdapTestOutcome
        result={{ ok: true, reason: null, latency_ms: 4, entry: null, role: 'distributor', partner_id: null, distributor_id: 'd-1', organisation: null, email: 'x@y.test' }}
      />,
      { me: ADMIN },
    );
    const gives = screen.getByLabelText('What the login gives');
    // Not found among the distributors (none readable here): the id, rather than nothing.
    expect(within(gives).getAllByRole('definition')[1]).toHaveTextContent(/^d-1$/);
  });

  it('says why a login would be refused, in words, with the entry when the password was right', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/providers/auth/ldap/test-login': () => ({
        ok: false,
        reason: 'account_not_mapped',
        latency_ms: 8,
        entry: { ...ENTRY, groups: [] },
        role: null,
        partner_id: null,
        distributor_id: null,
        email: null,
      }),
    });
    renderWithProviders(<LdapTools provider={ldap()} />, { me: ADMIN });
    await testLogin('jdupont', 'secret');
    const result = await screen.findByTestId('ldap-test-result');
    expect(within(result).getByRole('alert')).toHaveTextContent('This login would be refused: the user is in none of the mapped groups (8 ms).');
    expect(result).toHaveTextContent('In no group.');
    expect(result).not.toHaveTextContent('What the login gives');
  });

  it('says it in French too', async () => {
    await setLanguage('fr');
    mockApi({
      'POST /api/v1/providers/auth/ldap/test-login': () => ({ ok: false, reason: 'invalid_credentials', latency_ms: 3, entry: null }),
    });
    renderWithProviders(<LdapTools provider={ldap()} />, { me: ADMIN });
    await userEvent.type(screen.getByLabelText('Identifiant ou e-mail'), 'jdupont');
    await userEvent.type(screen.getByLabelText('Mot de passe'), 'nope');
    await userEvent.click(screen.getByRole('button', { name: 'Tester la connexion' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Cette connexion serait refusée : l’identifiant ou le mot de passe est faux (ou l’identifiant correspond à plusieurs entrées) (3 ms).',
    );
    await setLanguage('en');
  });

  it('names a reason it does not know', async () => {
    await setLanguage('en');
    renderWithProviders(<LdapTestOutcome result={{ ok: false, reason: 'referral_loop', latency_ms: 40, entry: null }} />, { me: ADMIN });
    expect(screen.getByRole('alert')).toHaveTextContent('This login would be refused: unexpected reason (referral_loop) (40 ms).');
    expect(screen.queryByText('Directory entry')).toBeNull();
  });

  it('cannot test a directory not saved yet', async () => {
    await setLanguage('en');
    mockApi({});
    renderWithProviders(<LdapTools provider={ldap({ configured: false })} />, { me: ADMIN });
    expect(screen.getByText('Save the directory settings first.')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('User name or email'), 'jdupont');
    await userEvent.type(screen.getByLabelText('Password'), 'secret');
    expect(screen.getByRole('button', { name: 'Test the login' })).toBeDisabled();
  });
});

describe('syncing the directory now', () => {
  it('runs the sync of the active directory and shows its counts', async () => {
    await setLanguage('en');
    const calls = mockApi({ 'POST /api/v1/providers/auth/ldap/sync': () => ({ checked: 14, updated: 2, disabled: 1 }) });
    renderWithProviders(<LdapTools provider={ldap({ active: true })} />, { me: ADMIN });
    await userEvent.click(screen.getByRole('button', { name: 'Sync users now' }));
    expect(await screen.findByTestId('ldap-sync-result')).toHaveTextContent('Sync done: 14 checked, 2 updated, 1 disabled.');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /api/v1/providers/auth/ldap/sync']);
  });

  it('is offered only once the directory is active, and shows the API’s refusal', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/providers/auth/ldap/sync': () =>
        jsonResponse(409, { error: { code: 'provider_not_active', message: 'This provider is not the active one', details: {} } }),
    });
    const { unmount } = renderWithProviders(<LdapTools provider={ldap({ active: false })} />, { me: ADMIN });
    expect(screen.getByRole('button', { name: 'Sync users now' })).toBeDisabled();
    expect(screen.getByText('Available once the directory is the active sign-in provider.')).toBeInTheDocument();
    unmount();
    // Deactivated meanwhile (another admin): the API says so.
    renderWithProviders(<LdapTools provider={ldap({ active: true })} />, { me: ADMIN });
    await userEvent.click(screen.getByRole('button', { name: 'Sync users now' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('This provider is not the active one'));
  });
});
