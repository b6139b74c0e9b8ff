import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { SyncSettingsPanel } from '../components/settings';
import { OwnerLinks } from '../components/owners';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const SYNC_ADMIN = { ...ADMIN, permissions: [...ADMIN.permissions, 'job:view', 'job:manage', 'partner:view', 'distributor:view'] };

const VIEW = {
  provider: 'odoo',
  stored: { lead_stages: { 'à rappeler': 'new' } },
  effective: {
    default_country: null,
    severity: { bad_email: 'warning', bad_phone: 'warning', bad_currency: 'error' },
    lead_stages: { new: 'new', won: 'won', 'à rappeler': 'new' },
  },
  updated_by: null,
  updated_at: null,
};

describe('sync settings', () => {
  it('puts the API field errors on the fields they name, then saves good values', async () => {
    await setLanguage('en');
    let attempt = 0;
    const calls = mockApi({
      'GET /api/v1/sync/settings/odoo': () => VIEW,
      'PUT /api/v1/sync/settings/odoo': async (req) => {
        attempt += 1;
        const body = (await req.json()) as { default_country: string | null };
        if (attempt === 1) {
          return jsonResponse(422, {
            error: {
              code: 'validation_failed',
              message: 'Invalid',
              details: { fields: { default_country: ['unknown_country'], 'lead_stages.à rappeler': ['unknown_status'] } },
            },
          });
        }
        return { ...VIEW, stored: { ...VIEW.stored, default_country: body.default_country }, effective: { ...VIEW.effective, default_country: body.default_country }, updated_at: '2026-02-01T10:00:00Z' };
      },
    });
    renderWithProviders(<SyncSettingsPanel />, { me: SYNC_ADMIN });
    const country = await screen.findByLabelText('Default country');
    expect(screen.getByLabelText('Stage 1 name')).toHaveValue('à rappeler');
    expect(screen.getByLabelText('Bad email')).toHaveValue('');

    await userEvent.type(country, 'zz');
    await userEvent.selectOptions(screen.getByLabelText('Bad phone'), 'error');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(country).toHaveAttribute('aria-invalid', 'true'));
    expect(screen.getByText('Not a known country code.')).toBeInTheDocument();
    expect(screen.getByLabelText('Stage 1 status')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText('Not a lead status.')).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('Nothing was saved');
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({
      default_country: 'ZZ',
      severity: { bad_phone: 'error' },
      lead_stages: { 'à rappeler': 'new' },
    });

    await userEvent.clear(country);
    await userEvent.type(country, 'fr');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText(/Settings saved/)).toBeInTheDocument();
    expect(screen.getByLabelText('Default country')).toHaveAttribute('aria-invalid', 'false');
  });

  it('refuses a malformed country in place without calling the API', async () => {
    await setLanguage('en');
    const calls = mockApi({ 'GET /api/v1/sync/settings/odoo': () => VIEW });
    renderWithProviders(<SyncSettingsPanel />, { me: SYNC_ADMIN });
    await userEvent.type(await screen.findByLabelText('Default country'), 'France');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Use a two-letter country code (FR, US, BE).')).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
  });
});

describe('owner links', () => {
  it('links a source owner to a partner and shows an API error under the organisation', async () => {
    await setLanguage('en');
    let links: unknown[] = [];
    let attempt = 0;
    const calls = mockApi({
      'GET /api/v1/sync/owners': () => ({ items: links }),
      'GET /api/v1/partners': () => ({ items: [{ id: 'p1', name: 'Acme Partner' }], next_cursor: null }),
      'GET /api/v1/distributors': () => ({ items: [{ id: 'd1', name: 'Demo Distribution' }], next_cursor: null }),
      'PUT /api/v1/sync/owners/odoo/42': () => {
        attempt += 1;
        if (attempt === 1) {
          return jsonResponse(422, { error: { code: 'validation_failed', message: 'Invalid', details: { fields: { partner_id: ['unknown_partner'] } } } });
        }
        links = [{ provider: 'odoo', owner_external_id: '42', partner_id: 'p1', distributor_id: null, created_at: '2026-02-01T10:00:00Z' }];
        return links[0];
      },
    });
    renderWithProviders(<OwnerLinks />, { me: SYNC_ADMIN });
    expect(await screen.findByText('No owner linked yet.')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Owner id in the source'), '42');
    await userEvent.selectOptions(await screen.findByLabelText('Organisation'), 'p1');
    await userEvent.click(screen.getByRole('button', { name: 'Link' }));
    await waitFor(() => expect(screen.getByLabelText('Organisation')).toHaveAttribute('aria-invalid', 'true'));
    expect(screen.getByText('Unknown partner.')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Link' }));
    expect(await screen.findByText('Owner 42 is linked to Acme Partner.')).toBeInTheDocument();
    const row = await screen.findByTestId('owner-link');
    expect(within(row).getByText('Acme Partner')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'PUT').at(-1)?.body).toEqual({ partner_id: 'p1', distributor_id: null });
  });
});
