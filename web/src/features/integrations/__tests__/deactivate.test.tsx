import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import Integrations from '../routes';
import type { ProviderSummary } from '../api';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import type { Me } from '@/lib/auth';
import { setLanguage } from '@/lib/i18n';
import LDAP_SCHEMA from './ldap-schema.json';

const HEALTH = { breaker: 'closed', status: null, reason: null, last_check: null };

function summary(kind: string, name: string, label: string, active: boolean): ProviderSummary {
  return { kind, name, label, description: `${label}.`, configured: true, active, health: HEALTH };
}

/**
 * An API whose providers can be deactivated: the list, one provider's detail and health
 * answer the state as it is, `…/deactivate` switches it off.
 */
function providersApi(initial: ProviderSummary[], deactivate?: (kind: string, name: string) => Response | undefined) {
  const state = initial.map((p) => ({ ...p }));
  const find = (req: Request) => {
    const [, kind, name] = /\/providers\/([^/]+)\/([^/]+)/.exec(new URL(req.url).pathname) ?? [];
    return state.find((p) => p.kind === kind && p.name === name)!;
  };
  const routes: Record<string, (req: Request) => unknown> = {
    'GET /api/v1/providers': () => ({ items: state }),
  };
  for (const p of state) {
    const base = `/api/v1/providers/${p.kind}/${p.name}`;
    routes[`GET ${base}`] = (req) => ({
      ...find(req),
      configuration: p.name === 'ldap' ? { url: 'ldap://127.0.0.1:3389', bind_dn: 'cn=svc', user_base_dn: 'ou=people' } : {},
      schema: p.name === 'ldap' ? LDAP_SCHEMA : { type: 'object', properties: {} },
      credentials: [],
      version: 1,
    });
    routes[`GET ${base}/health`] = (req) => ({ current: find(req).health, checks: [] });
    routes[`POST ${base}/deactivate`] = (req) => {
      const refused = deactivate?.(p.kind, p.name);
      if (refused) return refused;
      const it = find(req);
      const was_active = it.active;
      it.active = false;
      return { was_active };
    };
  }
  return mockApi(routes);
}

const posts = (calls: { method: string; path: string }[]) => calls.filter((c) => c.method === 'POST').map((c) => c.path);
const listReads = (calls: { method: string; path: string }[]) => calls.filter((c) => c.method === 'GET' && c.path === '/api/v1/providers').length;

describe('deactivating a provider', () => {
  it('asks first, saying that only passwords will work for sign-in, then deactivates and reads the lists again', async () => {
    await setLanguage('en');
    const calls = providersApi([summary('auth', 'ldap', 'LDAP directory', true), summary('auth', 'oidc', 'OpenID Connect', false)]);
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    const card = await screen.findByTestId('provider-auth-ldap');
    // Only the active provider offers it.
    expect(within(screen.getByTestId('provider-auth-oidc')).queryByRole('button', { name: /Deactivate/ })).toBeNull();

    await userEvent.click(within(card).getByRole('button', { name: 'Deactivate LDAP directory' }));
    let dialog = await screen.findByRole('dialog', { name: 'Deactivate LDAP directory?' });
    expect(dialog).toHaveAccessibleDescription(
      'Only Tentabo passwords will work: the single sign-on buttons and directory logins stop at once.',
    );
    // Cancelling sends nothing.
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(posts(calls)).toEqual([]);

    const before = listReads(calls);
    await userEvent.click(within(card).getByRole('button', { name: 'Deactivate LDAP directory' }));
    dialog = await screen.findByRole('dialog', { name: 'Deactivate LDAP directory?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    const notice = await screen.findByTestId('deactivation-outcome');
    expect(notice).toHaveTextContent('LDAP directory is no longer active. Only Tentabo passwords work now.');
    expect(posts(calls)).toEqual(['/api/v1/providers/auth/ldap/deactivate']);
    expect(screen.queryByRole('dialog')).toBeNull();
    // The list was read again: the directory is no longer marked active nor offers it.
    expect(listReads(calls)).toBeGreaterThan(before);
    await waitFor(() => expect(within(screen.getByTestId('provider-auth-ldap')).queryByText('Active')).toBeNull());
    expect(within(screen.getByTestId('provider-auth-ldap')).queryByRole('button', { name: /Deactivate/ })).toBeNull();
    await userEvent.click(within(notice).getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByTestId('deactivation-outcome')).toBeNull();
  });

  it('says that a CRM’s, billing’s or ERP’s effects wait, in English and in French', async () => {
    await setLanguage('en');
    providersApi([summary('crm', 'pipedrive', 'Pipedrive', true), summary('billing', 'invoiceninja', 'Invoice Ninja', true)]);
    const { unmount } = renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await userEvent.click(await screen.findByRole('button', { name: 'Deactivate Invoice Ninja' }));
    const dialog = await screen.findByRole('dialog', { name: 'Deactivate Invoice Ninja?' });
    expect(dialog).toHaveAccessibleDescription(
      'No provider of this kind will be active: its effects (what Tentabo sends to it) wait until another provider is activated, and are not lost.',
    );
    await userEvent.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    expect(await screen.findByTestId('deactivation-outcome')).toHaveTextContent(
      'Invoice Ninja is no longer active. Its effects wait until another provider is activated.',
    );
    unmount();

    await setLanguage('fr');
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await userEvent.click(await screen.findByRole('button', { name: 'Désactiver Pipedrive' }));
    const fr = await screen.findByRole('dialog', { name: 'Désactiver Pipedrive ?' });
    expect(fr).toHaveAccessibleDescription(
      'Aucun fournisseur de ce type ne sera actif : ses effets (ce que Tentabo lui envoie) attendent qu’un autre fournisseur soit activé, sans être perdus.',
    );
    await userEvent.click(within(fr).getByRole('button', { name: 'Désactiver' }));
    expect(await screen.findByTestId('deactivation-outcome')).toHaveTextContent(
      'Pipedrive n’est plus actif. Ses effets attendent qu’un autre fournisseur soit activé.',
    );
    await setLanguage('en');
  });

  it('is offered in the provider’s settings too: once deactivated, it offers to activate again', async () => {
    await setLanguage('en');
    const calls = providersApi([summary('auth', 'ldap', 'LDAP directory', true)]);
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await userEvent.click(await screen.findByRole('button', { name: 'Configure LDAP directory' }));
    const panel = await screen.findByRole('dialog', { name: 'LDAP directory (Sign-in)' });
    await userEvent.click(await within(panel).findByRole('button', { name: 'Deactivate LDAP directory' }));
    const confirm = await screen.findByRole('dialog', { name: 'Deactivate LDAP directory?' });
    expect(confirm).toHaveTextContent('Its settings and credentials are kept: it can be activated again at any time.');
    await userEvent.click(within(confirm).getByRole('button', { name: 'Deactivate' }));
    expect(await within(panel).findByTestId('deactivation-outcome')).toHaveTextContent('LDAP directory is no longer active.');
    expect(await within(panel).findByRole('button', { name: 'Activate' })).toBeInTheDocument();
    expect(within(panel).queryByRole('button', { name: 'Deactivate LDAP directory' })).toBeNull();
    // The sync is no longer offered: the directory is not active.
    expect(within(panel).getByRole('button', { name: 'Sync users now' })).toBeDisabled();
    expect(posts(calls)).toEqual(['/api/v1/providers/auth/ldap/deactivate']);
  });

  it('shows the API’s refusal in the confirmation, and says when the provider was not active anymore', async () => {
    await setLanguage('en');
    let refuse = true;
    providersApi([summary('erp', 'odoo', 'Odoo', true)], () =>
      refuse ? jsonResponse(403, { error: { code: 'forbidden', message: 'You are not allowed to do this', details: {} } }) : undefined,
    );
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await userEvent.click(await screen.findByRole('button', { name: 'Deactivate Odoo' }));
    const dialog = await screen.findByRole('dialog', { name: 'Deactivate Odoo?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('You are not allowed to do this');
    expect(screen.queryByTestId('deactivation-outcome')).toBeNull();
    refuse = false;
    await userEvent.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    expect(await screen.findByTestId('deactivation-outcome')).toHaveTextContent('Odoo is no longer active.');
  });

  it('says so when another admin deactivated it meanwhile', async () => {
    await setLanguage('en');
    providersApi([summary('crm', 'pipedrive', 'Pipedrive', true)], () => jsonResponse(200, { was_active: false }));
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await userEvent.click(await screen.findByRole('button', { name: 'Deactivate Pipedrive' }));
    await userEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Deactivate' }));
    const notice = await screen.findByTestId('deactivation-outcome');
    expect(notice).toHaveTextContent('Pipedrive was not active: nothing changed.');
    expect(notice).toHaveAttribute('role', 'status');
  });

  it('is not offered to who cannot manage providers', async () => {
    await setLanguage('en');
    providersApi([summary('auth', 'ldap', 'LDAP directory', true)]);
    const viewer: Me = { ...ADMIN, role: 'restricted_admin', permissions: ['provider:view'] };
    renderWithProviders(<Integrations />, { me: viewer, route: '/integrations' });
    const card = await screen.findByTestId('provider-auth-ldap');
    expect(within(card).getByText('Active')).toBeInTheDocument();
    expect(within(card).queryByRole('button', { name: /Deactivate/ })).toBeNull();
  });
});
