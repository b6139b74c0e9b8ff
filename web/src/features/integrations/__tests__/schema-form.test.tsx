import { describe, expect, it, vi } from 'vitest';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { SchemaForm } from '../components/schema-form';
import type { Provider } from '../api';
import { ADMIN, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import { ApiError } from '@/lib/errors';

const ODOO = {
  kind: 'erp',
  name: 'odoo',
  label: 'Odoo',
  description: 'The ERP source of sync runs.',
  configured: true,
  active: false,
  configuration: { url: 'https://erp.example.com', database: 'prod', login: 'sync@example.com', max_attempts: 5, timeout_seconds: 30, rate_limit_per_second: null },
  schema: {
    type: 'object',
    required: ['url', 'database', 'login'],
    properties: {
      url: { type: 'string', format: 'uri', description: 'The instance address.' },
      database: { type: 'string', minLength: 1 },
      login: { type: 'string' },
      max_attempts: { type: 'integer', minimum: 1, maximum: 10, default: 5 },
      timeout_seconds: { type: 'integer', default: 30 },
      rate_limit_per_second: { type: ['number', 'null'], default: null },
      verify_tls: { type: 'boolean', default: true },
    },
  },
  credentials: [
    { name: 'password', label: 'Password or API key', required: true, set: true },
    { name: 'webhook_secret', label: 'Webhook secret', required: false, set: false },
  ],
  health: { breaker: 'closed', status: null, reason: null, last_check: null },
} as unknown as Provider;

describe('provider form drawn from its JSON Schema', () => {
  it('renders one field per property with the stored values, and secrets write-only', async () => {
    await setLanguage('en');
    renderWithProviders(<SchemaForm provider={ODOO} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    expect(screen.getByLabelText('Url *')).toHaveValue('https://erp.example.com');
    expect(screen.getByLabelText('Url *')).toHaveAttribute('type', 'url');
    expect(screen.getByLabelText('Url *')).toHaveAccessibleDescription('The instance address.');
    expect(screen.getByLabelText('Database *')).toHaveValue('prod');
    expect(screen.getByLabelText('Max attempts')).toHaveValue(5);
    expect(screen.getByLabelText('Rate limit per second')).toHaveValue(null);
    expect(screen.getByLabelText('Verify tls')).toHaveValue('true');
    // Credentials: never a value, only whether one is stored.
    expect(within(screen.getByTestId('credential-password')).getByText('Password or API key: set')).toBeInTheDocument();
    expect(within(screen.getByTestId('credential-webhook_secret')).getByText('Webhook secret: not set')).toBeInTheDocument();
    const replace = screen.getByLabelText('Replace Password or API key');
    expect(replace).toHaveAttribute('type', 'password');
    expect(replace).toHaveValue('');
    expect(screen.getByLabelText('Set Webhook secret')).toHaveValue('');
  });

  it('sends typed settings and only the credentials typed in', async () => {
    await setLanguage('en');
    const onSubmit = vi.fn();
    renderWithProviders(<SchemaForm provider={ODOO} onSubmit={onSubmit} saving={false} error={null} />, { me: ADMIN });
    await userEvent.clear(screen.getByLabelText('Max attempts'));
    await userEvent.type(screen.getByLabelText('Max attempts'), '7');
    await userEvent.type(screen.getByLabelText('Set Webhook secret'), 's3cret');
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    expect(onSubmit).toHaveBeenCalledWith({
      configuration: {
        url: 'https://erp.example.com',
        database: 'prod',
        login: 'sync@example.com',
        max_attempts: 7,
        timeout_seconds: 30,
        rate_limit_per_second: null,
        verify_tls: true,
      },
      credentials: { webhook_secret: 's3cret' },
    });
  });

  it('puts the API field errors on the setting and the credential they concern', async () => {
    await setLanguage('en');
    const error = new ApiError(422, {
      error: {
        code: 'validation_failed',
        message: 'The request is not valid',
        details: { fields: { 'configuration.url': ['invalid_url'], 'credentials.password': ['required'] } },
      },
    });
    renderWithProviders(<SchemaForm provider={ODOO} onSubmit={() => {}} saving={false} error={error} />, { me: ADMIN });
    expect(screen.getByLabelText('Url *')).toHaveAccessibleDescription(/Not a valid URL\./);
    expect(screen.getByLabelText('Replace Password or API key')).toHaveAccessibleDescription('Required.');
  });
});
