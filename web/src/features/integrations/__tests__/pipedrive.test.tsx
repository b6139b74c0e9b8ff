import { beforeEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router';
import Integrations from '../routes';
import { SchemaForm } from '../components/schema-form';
import { PipedriveConnect } from '../components/pipedrive-connect';
import type { Provider } from '../api';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import { ApiError } from '@/lib/errors';
import { leaveFor } from '@/lib/browser';
// The settings' JSON Schema as `GET /api/v1/providers/crm/pipedrive` answers it.
import SCHEMA from './pipedrive-schema.json';

vi.mock('@/lib/browser', () => ({ leaveFor: vi.fn() }));

const STORED = {
  auth: 'oauth',
  base_url: 'https://api.pipedrive.com',
  oauth_client_id: 'tentabo-app',
  oauth_authorize_url: 'https://oauth.pipedrive.com/oauth/authorize',
  oauth_token_url: 'https://oauth.pipedrive.com/oauth/token',
  public_url: 'https://tentabo.example.com',
  pipeline: 'Tentabo',
  stages: { new: 'Lead In', contacted: 'Contact Made', qualified: 'Qualified', proposal: 'Proposal Made', negotiation: 'Negotiations Started' },
  inbox_states: ['new'],
  reference_field: 'Tentabo reference',
  webhooks: true,
  import_partner_deals: false,
  conflicts: 'manual',
  timeout_seconds: 20,
  max_attempts: 4,
  rate_limit_per_second: 8,
  rate_limit_reserve: 2,
  breaker_threshold: 5,
  breaker_cool_down_seconds: 30,
};

function pipedrive(over: { configuration?: Record<string, unknown> | null; tokens?: boolean } = {}): Provider {
  return {
    kind: 'crm',
    name: 'pipedrive',
    label: 'Pipedrive',
    description: 'Leads and deals both ways, persons, organizations, activities, webhooks (API v1 and v2).',
    configured: true,
    active: false,
    configuration: over.configuration === undefined ? STORED : over.configuration,
    schema: SCHEMA,
    credentials: [
      { name: 'api_token', label: 'API token (when authenticating with a token)', required: false, set: false },
      { name: 'oauth_client_secret', label: 'OAuth app client secret (when authenticating with OAuth)', required: false, set: true },
      { name: 'oauth_tokens', label: 'OAuth access and refresh tokens (set by connecting)', required: false, set: over.tokens ?? false },
      { name: 'webhook_password', label: 'Webhook HTTP Basic password (generated on activation)', required: false, set: false },
    ],
    health: { breaker: 'closed', status: null, reason: null, last_check: null },
    version: 2,
    updated_at: '2026-02-01T10:00:00Z',
  } as unknown as Provider;
}

beforeEach(() => {
  vi.mocked(leaveFor).mockClear();
});

describe('Pipedrive settings drawn from its schema', () => {
  it('offers the referenced enums as choices, the stages one input each and the inbox states as checkboxes', async () => {
    await setLanguage('en');
    renderWithProviders(<SchemaForm provider={pipedrive()} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    const auth = screen.getByLabelText('Authentication');
    expect(auth).toHaveValue('oauth');
    expect(within(auth).getAllByRole('option').map((o) => o.textContent)).toEqual(['—', 'API token', 'OAuth']);
    const conflicts = screen.getByLabelText('Conflicts');
    expect(conflicts).toHaveValue('manual');
    expect(within(conflicts).getAllByRole('option').map((o) => (o as HTMLOptionElement).value)).toEqual(['', 'source_wins', 'local_wins', 'manual']);

    const stages = screen.getByRole('group', { name: 'Stage names' });
    expect(within(stages).getByLabelText('New')).toHaveValue('Lead In');
    expect(within(stages).getByLabelText('Contacted')).toHaveValue('Contact Made');
    expect(within(stages).getByLabelText('Negotiation')).toHaveValue('Negotiations Started');
    expect(within(stages).getAllByRole('textbox')).toHaveLength(5);

    const inbox = screen.getByRole('group', { name: 'Lead states kept in the Leads Inbox' });
    expect(within(inbox).getAllByRole('checkbox')).toHaveLength(5);
    expect(within(inbox).getByRole('checkbox', { name: 'New' })).toBeChecked();
    expect(within(inbox).getByRole('checkbox', { name: 'Contacted' })).not.toBeChecked();
  });

  it('fills a new configuration from the schema’s defaults', async () => {
    await setLanguage('en');
    renderWithProviders(<SchemaForm provider={pipedrive({ configuration: null })} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    expect(screen.getByLabelText('Authentication')).toHaveValue('api_token');
    expect(within(screen.getByRole('group', { name: 'Stage names' })).getByLabelText('Proposal')).toHaveValue('Proposal Made');
    const inbox = screen.getByRole('group', { name: 'Lead states kept in the Leads Inbox' });
    expect(within(inbox).getByRole('checkbox', { name: 'New' })).toBeChecked();
    expect(within(inbox).getByRole('checkbox', { name: 'Contacted' })).toBeChecked();
    expect(within(inbox).getByRole('checkbox', { name: 'Qualified' })).not.toBeChecked();
  });

  it('offers inputs only for the credentials an admin sets; those Tentabo writes are shown as set or not', async () => {
    await setLanguage('en');
    renderWithProviders(<SchemaForm provider={pipedrive({ tokens: true })} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    expect(screen.getByLabelText('Set API token (when authenticating with a token)')).toHaveAttribute('type', 'password');
    expect(screen.getByLabelText('Replace OAuth app client secret (when authenticating with OAuth)')).toHaveValue('');
    expect(screen.queryByLabelText(/OAuth access and refresh tokens/)).toBeNull();
    expect(screen.queryByLabelText(/Webhook HTTP Basic password/)).toBeNull();
    expect(screen.getByTestId('credential-oauth_tokens')).toHaveTextContent('OAuth access and refresh tokens (set by connecting): set');
    expect(screen.getByTestId('credential-webhook_password')).toHaveTextContent('Webhook HTTP Basic password (generated on activation): not set');
    expect(within(screen.getByTestId('credential-oauth_tokens')).queryByRole('textbox')).toBeNull();
    expect(screen.getAllByLabelText(/^(Set|Replace) /)).toHaveLength(2);
  });

  it('sends the stages as an object and the inbox states as a list, in the schema’s order', async () => {
    await setLanguage('en');
    const onSubmit = vi.fn();
    renderWithProviders(<SchemaForm provider={pipedrive()} onSubmit={onSubmit} saving={false} error={null} />, { me: ADMIN });
    const stages = screen.getByRole('group', { name: 'Stage names' });
    await userEvent.clear(within(stages).getByLabelText('Qualified'));
    await userEvent.type(within(stages).getByLabelText('Qualified'), 'Needs met');
    const inbox = screen.getByRole('group', { name: 'Lead states kept in the Leads Inbox' });
    await userEvent.click(within(inbox).getByRole('checkbox', { name: 'Qualified' }));
    await userEvent.click(within(inbox).getByRole('checkbox', { name: 'Contacted' }));
    await userEvent.selectOptions(screen.getByLabelText('Conflicts'), 'source_wins');
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    const body = onSubmit.mock.calls[0]![0] as { configuration: Record<string, unknown>; credentials?: unknown };
    expect(body.configuration).toEqual({
      ...STORED,
      stages: { ...STORED.stages, qualified: 'Needs met' },
      inbox_states: ['new', 'contacted', 'qualified'],
      conflicts: 'source_wins',
      // A nullable setting left empty is sent as null.
      owner_id: null,
    });
    expect(body.credentials).toBeUndefined();
  });

  it('puts the API’s errors on the stage group and on the stage they name', async () => {
    await setLanguage('en');
    const error = new ApiError(422, {
      error: {
        code: 'validation_failed',
        message: 'The request is not valid',
        details: { fields: { 'configuration.stages': ['duplicate_stage'], 'configuration.stages.new': ['too_short'], 'credentials.oauth_tokens': ['read_only'] } },
      },
    });
    renderWithProviders(<SchemaForm provider={pipedrive()} onSubmit={() => {}} saving={false} error={error} />, { me: ADMIN });
    const stages = screen.getByRole('group', { name: 'Stage names' });
    expect(stages).toHaveAccessibleDescription(/Each state needs its own stage name\./);
    expect(within(stages).getByLabelText('New')).toHaveAccessibleDescription('Too short.');
    expect(screen.getByTestId('credential-oauth_tokens')).toHaveTextContent('Set by Tentabo; it cannot be entered.');
  });
});

describe('connecting Pipedrive with OAuth', () => {
  it('asks the API for Pipedrive’s authorization page and sends the browser there', async () => {
    await setLanguage('en');
    const url = 'https://oauth.pipedrive.com/oauth/authorize?client_id=tentabo-app&state=s1&redirect_uri=https%3A%2F%2Ftentabo.example.com';
    const calls = mockApi({ 'POST /api/v1/providers/crm/pipedrive/oauth/authorize': () => ({ url }) });
    renderWithProviders(<PipedriveConnect provider={pipedrive()} />, { me: ADMIN });
    expect(screen.getByTestId('pipedrive-connection')).toHaveTextContent('Not connected');
    expect(leaveFor).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('button', { name: 'Connect with Pipedrive' }));
    await waitFor(() => expect(leaveFor).toHaveBeenCalledWith(url));
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/v1/providers/crm/pipedrive/oauth/authorize']);
    expect(screen.getByRole('button', { name: 'Opening Pipedrive…' })).toBeDisabled();
  });

  it('shows why the API refused, and stays on the page', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/providers/crm/pipedrive/oauth/authorize': () =>
        jsonResponse(409, {
          error: {
            code: 'public_url_required',
            message: 'Set the public URL first: the provider sends the browser back there',
            details: { message: 'set `public_url`: Pipedrive sends the admin back there' },
          },
        }),
    });
    renderWithProviders(<PipedriveConnect provider={pipedrive({ configuration: { ...STORED, public_url: null } })} />, { me: ADMIN });
    await userEvent.click(screen.getByRole('button', { name: 'Connect with Pipedrive' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Set Tentabo’s public URL first and save: Pipedrive sends you back there.');
    expect(alert).toHaveTextContent('set `public_url`: Pipedrive sends the admin back there');
    expect(leaveFor).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Connect with Pipedrive' })).toBeEnabled();
  });

  it('says “Connected” once Tentabo holds the tokens', async () => {
    await setLanguage('en');
    mockApi({});
    renderWithProviders(<PipedriveConnect provider={pipedrive({ tokens: true })} />, { me: ADMIN });
    expect(screen.getByTestId('pipedrive-connection')).toHaveTextContent('Connected');
    expect(screen.getByTestId('pipedrive-connection')).not.toHaveTextContent('Not connected');
  });

  it('shows the API’s own message for a refusal it does not know', async () => {
    await setLanguage('en');
    mockApi({
      'POST /api/v1/providers/crm/pipedrive/oauth/authorize': () =>
        jsonResponse(409, { error: { code: 'provider_busy', message: 'The provider is busy', details: {} } }),
    });
    renderWithProviders(<PipedriveConnect provider={pipedrive()} />, { me: ADMIN });
    await userEvent.click(screen.getByRole('button', { name: 'Connect with Pipedrive' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/^The provider is busy$/);
    expect(leaveFor).not.toHaveBeenCalled();
  });

  it('offers no button while Pipedrive is reached with an API token', async () => {
    await setLanguage('en');
    mockApi({});
    renderWithProviders(<PipedriveConnect provider={pipedrive({ configuration: { ...STORED, auth: 'api_token' } })} />, { me: ADMIN });
    expect(screen.queryByRole('button', { name: 'Connect with Pipedrive' })).toBeNull();
    expect(screen.getByText(/set Authentication to OAuth/)).toBeInTheDocument();
  });
});

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.pathname + l.search}</output>;
}

describe('coming back from Pipedrive', () => {
  const providers = () => mockApi({ 'GET /api/v1/providers': () => ({ items: [] }) });

  it('says the connection worked, then drops the outcome from the address', async () => {
    await setLanguage('en');
    providers();
    renderWithProviders(
      <>
        <Integrations />
        <Where />
      </>,
      { me: ADMIN, route: '/integrations?oauth=connected' },
    );
    const banner = await screen.findByTestId('oauth-outcome');
    expect(banner).toHaveAttribute('role', 'status');
    expect(banner).toHaveTextContent('Pipedrive is connected');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/integrations$/));
    // Still shown once the address is clean; dismissed on request.
    expect(screen.getByTestId('oauth-outcome')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByTestId('oauth-outcome')).toBeNull();
  });

  it('explains a failure by its reason, as an alert', async () => {
    await setLanguage('en');
    providers();
    renderWithProviders(
      <>
        <Integrations />
        <Where />
      </>,
      { me: ADMIN, route: '/integrations?oauth=failed&reason=oauth_state_invalid' },
    );
    const banner = await screen.findByRole('alert');
    expect(banner).toHaveTextContent('Connecting Pipedrive failed: this authorisation is unknown, already used or expired. Connect again.');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/integrations$/));
    expect(screen.getByRole('alert')).toBe(banner);
  });

  it('names a reason it does not know', async () => {
    await setLanguage('en');
    providers();
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations?oauth=failed&reason=scope_mismatch' });
    expect(await screen.findByRole('alert')).toHaveTextContent('Connecting Pipedrive failed: unexpected reason (scope_mismatch).');
  });

  it('shows nothing without an outcome', async () => {
    await setLanguage('en');
    providers();
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    expect(await screen.findByRole('heading', { name: 'Integrations' })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole('status')).toBeNull());
    expect(screen.queryByTestId('oauth-outcome')).toBeNull();
  });
});
