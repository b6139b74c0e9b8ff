import { describe, expect, it, vi } from 'vitest';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { SchemaForm } from '../components/schema-form';
import type { Provider } from '../api';
import { ADMIN, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import { ApiError } from '@/lib/errors';
// The settings' JSON Schemas as `GET /api/v1/providers/auth/{ldap,oidc}` answers them.
import LDAP_SCHEMA from './ldap-schema.json';
import OIDC_SCHEMA from './oidc-schema.json';

const LDAP_STORED = {
  url: 'ldaps://ldap.example.com:636',
  starttls: false,
  ca_certificate: null,
  bind_dn: 'cn=tentabo,ou=services,dc=example,dc=com',
  user_base_dn: 'ou=people,dc=example,dc=com',
  user_filter: '(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))',
  email_attribute: 'mail',
  name_attribute: 'cn',
  group_source: 'member_of',
  group_base_dn: null,
  group_filter: '(&(objectClass=groupOfNames)(member={dn}))',
  group_mappings: [
    { group: 'cn=tentabo-admins,ou=groups,dc=example,dc=com', role: 'admin', organisation: null },
    { group: 'partner-sales', role: 'partner', organisation: 'Acme Partner' },
  ],
  timeout_seconds: 5,
  pool_size: 4,
  nightly_sync: true,
};

function ldap(configuration: Record<string, unknown> | null = LDAP_STORED): Provider {
  return {
    kind: 'auth',
    name: 'ldap',
    label: 'LDAP directory',
    description: 'Directory login.',
    configured: configuration !== null,
    active: false,
    configuration,
    schema: LDAP_SCHEMA,
    credentials: [{ name: 'bind_password', label: 'Service account password', required: true, set: true }],
    health: { breaker: 'closed', status: null, reason: null, last_check: null },
    version: 3,
  } as unknown as Provider;
}

function oidc(configuration: Record<string, unknown> | null = null): Provider {
  return {
    kind: 'auth',
    name: 'oidc',
    label: 'OpenID Connect',
    description: 'Single sign-on.',
    configured: configuration !== null,
    active: false,
    configuration,
    schema: OIDC_SCHEMA,
    credentials: [{ name: 'client_secret', label: 'Client secret', required: true, set: false }],
    health: { breaker: 'closed', status: null, reason: null, last_check: null },
    version: 1,
  } as unknown as Provider;
}

function validation(fields: Record<string, string[]>) {
  return new ApiError(422, { error: { code: 'validation_failed', message: 'The request is not valid', details: { fields } } });
}

const mappings = () => screen.getByRole('group', { name: 'Group mappings' });
const row = (n: number) => screen.getByRole('group', { name: `Row ${n} of Group mappings` });

describe('list settings in the schema form', () => {
  it('shows a mapping table one row per mapping, the role as a choice of the roles', async () => {
    await setLanguage('en');
    renderWithProviders(<SchemaForm provider={ldap()} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    expect(within(mappings()).getAllByTestId('row-group_mappings')).toHaveLength(2);
    expect(within(row(1)).getByLabelText('Group *')).toHaveValue('cn=tentabo-admins,ou=groups,dc=example,dc=com');
    const role = within(row(1)).getByLabelText('Role *');
    expect(role).toHaveValue('admin');
    expect(within(role).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'Administrator',
      'Restricted administrator',
      'Partner',
      'Distributor',
      'Fulfiller',
    ]);
    expect(within(row(1)).getByLabelText('Organisation')).toHaveValue('');
    expect(within(row(2)).getByLabelText('Role *')).toHaveValue('partner');
    expect(within(row(2)).getByLabelText('Organisation')).toHaveValue('Acme Partner');
    // A PEM certificate keeps its lines.
    expect(screen.getByLabelText('CA certificate (PEM)').tagName).toBe('TEXTAREA');
  });

  it('adds and removes rows, and sends the table in its order', async () => {
    await setLanguage('en');
    const onSubmit = vi.fn();
    renderWithProviders(<SchemaForm provider={ldap()} onSubmit={onSubmit} saving={false} error={null} />, { me: ADMIN });
    await userEvent.click(screen.getByRole('button', { name: 'Add a row to Group mappings' }));
    const third = row(3);
    expect(within(third).getByLabelText('Group *')).toHaveFocus();
    expect(within(third).getByLabelText('Role *')).toHaveValue('');
    await userEvent.type(within(third).getByLabelText('Group *'), 'resellers');
    await userEvent.selectOptions(within(third).getByLabelText('Role *'), 'distributor');
    await userEvent.type(within(third).getByLabelText('Organisation'), 'Nordic Distribution');
    await userEvent.click(screen.getByRole('button', { name: 'Remove row 1 of Group mappings' }));
    expect(within(mappings()).getAllByTestId('row-group_mappings')).toHaveLength(2);
    expect(screen.getByRole('button', { name: 'Add a row to Group mappings' })).toHaveFocus();
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    const body = onSubmit.mock.calls[0]![0] as { configuration: Record<string, unknown> };
    expect(body.configuration.group_mappings).toEqual([
      { group: 'partner-sales', role: 'partner', organisation: 'Acme Partner' },
      { group: 'resellers', role: 'distributor', organisation: 'Nordic Distribution' },
    ]);
  });

  it('drops a row left blank, and stops at a row missing what it requires', async () => {
    await setLanguage('en');
    const onSubmit = vi.fn();
    renderWithProviders(<SchemaForm provider={ldap({ ...LDAP_STORED, group_mappings: [] })} onSubmit={onSubmit} saving={false} error={null} />, {
      me: ADMIN,
    });
    expect(within(mappings()).getByText('None.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Add a row to Group mappings' }));
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    expect((onSubmit.mock.calls[0]![0] as { configuration: Record<string, unknown> }).configuration.group_mappings).toEqual([]);

    await userEvent.selectOptions(within(row(1)).getByLabelText('Role *'), 'admin');
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(within(row(1)).getByLabelText('Group *')).toHaveAccessibleDescription('Required.');
    expect(within(row(1)).getByLabelText('Group *')).toHaveAttribute('aria-invalid', 'true');
  });

  it('puts the API’s errors on the row and the cell they name, and on the table', async () => {
    await setLanguage('en');
    const error = validation({
      'configuration.group_mappings': ['invalid'],
      'configuration.group_mappings.1.organisation': ['required'],
      'configuration.group_mappings.0.group': ['too_long'],
    });
    renderWithProviders(<SchemaForm provider={ldap()} onSubmit={() => {}} saving={false} error={error} />, { me: ADMIN });
    expect(mappings()).toHaveAccessibleDescription(/Invalid value\./);
    expect(within(row(1)).getByLabelText('Group *')).toHaveAccessibleDescription('Too long.');
    expect(within(row(1)).getByLabelText('Organisation')).not.toHaveAttribute('aria-invalid', 'true');
    expect(within(row(2)).getByLabelText('Organisation')).toHaveAccessibleDescription('Required.');
    expect(within(row(2)).getByLabelText('Group *')).toHaveAttribute('aria-invalid', 'false');
  });

  it('shows the API’s in-place checks of list items on their row and cell (role, required, not an object)', async () => {
    await setLanguage('en');
    // As `PUT /api/v1/providers/auth/ldap` answers a table whose 2nd row names no known
    // role, 3rd row none, 4th row is not an object at all.
    const stored = {
      ...LDAP_STORED,
      group_mappings: [
        { group: 'admins', role: 'admin', organisation: null },
        { group: 'sales', role: 'emperor', organisation: null },
        { group: 'other', role: null, organisation: null },
        'not an object',
      ],
    };
    const error = validation({
      'configuration.group_mappings.1.role': ['invalid_choice'],
      'configuration.group_mappings.2.role': ['required'],
      'configuration.group_mappings.3': ['invalid_type'],
    });
    const { unmount } = renderWithProviders(<SchemaForm provider={ldap(stored)} onSubmit={() => {}} saving={false} error={error} />, {
      me: ADMIN,
    });
    expect(screen.getByTestId('settings-errors')).toHaveTextContent(/^Nothing was saved: correct the values marked\.$/);
    // Row 1 is fine.
    for (const cell of ['Group *', 'Role *', 'Organisation']) {
      expect(within(row(1)).getByLabelText(cell)).toHaveAttribute('aria-invalid', 'false');
    }
    expect(row(1)).not.toHaveAttribute('aria-describedby');
    // Row 2: the role it names is not a choice; it stays visible as it is.
    const role2 = within(row(2)).getByLabelText('Role *');
    expect(role2).toHaveValue('emperor');
    expect(role2).toHaveAccessibleDescription('Not one of the allowed choices.');
    expect(within(row(2)).getByLabelText('Group *')).toHaveAttribute('aria-invalid', 'false');
    // Row 3: no role.
    expect(within(row(3)).getByLabelText('Role *')).toHaveAccessibleDescription('Required.');
    expect(within(row(3)).getByLabelText('Group *')).not.toHaveAccessibleDescription();
    // Row 4: the row itself.
    expect(row(4)).toHaveAccessibleDescription('Wrong type of value.');
    expect(within(row(4)).getByLabelText('Role *')).toHaveAttribute('aria-invalid', 'false');
    // The table itself has no error of its own.
    expect(mappings()).not.toHaveAccessibleDescription(/Wrong|Required|choices/);
    unmount();

    await setLanguage('fr');
    renderWithProviders(<SchemaForm provider={ldap(stored)} onSubmit={() => {}} saving={false} error={error} />, { me: ADMIN });
    const table = screen.getByRole('group', { name: 'Correspondances de groupes' });
    const frRow = (n: number) => within(table).getByRole('group', { name: `Ligne ${n} de Correspondances de groupes` });
    expect(within(frRow(2)).getByLabelText('Rôle *')).toHaveAccessibleDescription('Ne fait pas partie des choix possibles.');
    expect(within(frRow(3)).getByLabelText('Rôle *')).toHaveAccessibleDescription('Obligatoire.');
    expect(frRow(4)).toHaveAccessibleDescription('Type de valeur incorrect.');
    expect(screen.getByTestId('settings-errors')).toHaveTextContent('Rien n’a été enregistré : corrigez les valeurs signalées.');
    await setLanguage('en');
  });

  it('lists the API errors it has no place for at the top, named by their setting', async () => {
    await setLanguage('en');
    const error = validation({
      'configuration.group_mappings.7.role': ['invalid_choice'],
      'configuration.group_mappings.0.colour': ['unknown_field'],
      'configuration.bind_dn': ['required'],
      'configuration.no_such_setting': ['unknown_field'],
    });
    renderWithProviders(<SchemaForm provider={ldap()} onSubmit={() => {}} saving={false} error={error} />, { me: ADMIN });
    const top = screen.getByTestId('settings-errors');
    expect(within(top).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'Row 8 of Group mappings › role: Not one of the allowed choices.',
      'Row 1 of Group mappings › colour: Unknown field.',
      'no_such_setting: Unknown field.',
    ]);
    // The one with a place is there, not in the list.
    expect(screen.getByLabelText('Service account DN *')).toHaveAccessibleDescription(/Required\./);
  });

  it('keeps an error on its row when an earlier row is removed', async () => {
    await setLanguage('en');
    const error = validation({ 'configuration.group_mappings.1.organisation': ['not_allowed_for_role'] });
    renderWithProviders(<SchemaForm provider={ldap()} onSubmit={() => {}} saving={false} error={error} />, { me: ADMIN });
    await userEvent.click(screen.getByRole('button', { name: 'Remove row 1 of Group mappings' }));
    expect(within(row(1)).getByLabelText('Group *')).toHaveValue('partner-sales');
    expect(within(row(1)).getByLabelText('Organisation')).toHaveAccessibleDescription('Not allowed for this role.');
  });

  it('edits lists of strings: defaults, add, remove, empty ones dropped, errors on the item', async () => {
    await setLanguage('en');
    const onSubmit = vi.fn();
    const { unmount } = renderWithProviders(<SchemaForm provider={oidc()} onSubmit={onSubmit} saving={false} error={null} />, { me: ADMIN });
    const scopes = screen.getByRole('group', { name: 'Scopes' });
    expect(within(scopes).getAllByRole('textbox').map((i) => (i as HTMLInputElement).value)).toEqual(['openid', 'email', 'profile']);
    await userEvent.click(within(scopes).getByRole('button', { name: 'Remove row 3 of Scopes' }));
    await userEvent.click(within(scopes).getByRole('button', { name: 'Add a row to Scopes' }));
    expect(within(scopes).getByLabelText('Row 3 of Scopes')).toHaveFocus();
    await userEvent.type(within(scopes).getByLabelText('Row 3 of Scopes'), ' offline_access ');
    const tenants = screen.getByRole('group', { name: 'Allowed tenants' });
    await userEvent.click(within(tenants).getByRole('button', { name: 'Add a row to Allowed tenants' }));
    await userEvent.type(screen.getByLabelText('Issuer *'), 'https://idp.example.com');
    await userEvent.type(screen.getByLabelText('Client ID *'), 'tentabo');
    await userEvent.type(screen.getByLabelText('Public URL of Tentabo *'), 'https://prm.example.com');
    // One role mapping, as the API's example has it.
    await userEvent.click(screen.getByRole('button', { name: 'Add a row to Role mappings' }));
    const mapping = screen.getByRole('group', { name: 'Row 1 of Role mappings' });
    await userEvent.type(within(mapping).getByLabelText('Claim value *'), 'Tentabo.Admin');
    await userEvent.selectOptions(within(mapping).getByLabelText('Role *'), 'admin');
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    const body = onSubmit.mock.calls[0]![0] as { configuration: Record<string, unknown> };
    expect(body.configuration).toMatchObject({
      label: 'Microsoft',
      issuer: 'https://idp.example.com',
      client_id: 'tentabo',
      public_url: 'https://prm.example.com',
      scopes: ['openid', 'email', 'offline_access'],
      allowed_algs: ['RS256'],
      allowed_tenants: [],
      role_claim: 'roles',
      role_mappings: [{ group: 'Tentabo.Admin', role: 'admin', organisation: null }],
      link_by_email: true,
    });
    unmount();

    const error = validation({ 'configuration.allowed_algs.1': ['unsupported_algorithm'] });
    renderWithProviders(
      <SchemaForm provider={oidc({ ...(body.configuration as object), allowed_algs: ['RS256', 'HS1024'] })} onSubmit={() => {}} saving={false} error={error} />,
      { me: ADMIN },
    );
    const algs = screen.getByRole('group', { name: 'Allowed signature algorithms' });
    expect(within(algs).getByLabelText('Row 2 of Allowed signature algorithms')).toHaveAccessibleDescription('Not a supported signature algorithm.');
    expect(within(algs).getByLabelText('Row 1 of Allowed signature algorithms')).not.toHaveAttribute('aria-invalid', 'true');
  });
});
