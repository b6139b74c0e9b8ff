import { describe, expect, it } from 'vitest';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import Integrations from '../routes';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const HEALTH = { breaker: 'closed', status: null, reason: null, last_check: null };
const ODOO = { kind: 'erp', name: 'odoo', label: 'Odoo', description: 'Odoo.', configured: true, active: true, health: HEALTH };

function odooApi(fields: (req: Request) => unknown) {
  return mockApi({
    'GET /api/v1/providers': () => ({ items: [ODOO] }),
    'GET /api/v1/providers/erp/odoo': () => ({ ...ODOO, configuration: {}, schema: { type: 'object', properties: {} }, credentials: [], version: 1 }),
    'GET /api/v1/providers/erp/odoo/health': () => ({ current: HEALTH, checks: [] }),
    'GET /api/v1/integrations/odoo/fields/res.partner': fields,
    'GET /api/v1/integrations/odoo/fields/crm.lead': fields,
  });
}

async function openFields() {
  renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
  await userEvent.click(await screen.findByRole('button', { name: 'Configure Odoo' }));
  const panel = await screen.findByRole('dialog', { name: 'Odoo (ERP)' });
  return within(panel).findByRole('region', { name: 'Odoo fields per model' });
}

describe('Odoo fields per model', () => {
  it('lists the live fields with their label, name, type and raw-zone samples', async () => {
    await setLanguage('en');
    const calls = odooApi(() => ({
      provider: 'odoo',
      object: 'res.partner',
      fields: [
        { name: 'vat', label: 'Tax ID', type: 'char', help: null, selection: [], samples: ['BE0477472701', 'FR40303265045'], relation: null, required: false, mappable: true },
        { name: 'country_id', label: 'Country', type: 'many2one', help: null, selection: [], samples: [], relation: 'res.country', required: false, mappable: true },
      ],
    }));
    const section = await openFields();
    await userEvent.click(within(section).getByRole('button', { name: 'Show fields' }));
    const table = await within(section).findByRole('table');
    expect(calls.some((c) => c.path === '/api/v1/integrations/odoo/fields/res.partner')).toBe(true);
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Label', 'Field', 'Type', 'Samples']);
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell').map((c) => c.textContent))).toEqual([
      ['Tax ID', 'vat', 'char', 'BE0477472701, FR40303265045'],
      ['Country', 'country_id', 'many2one → res.country', '—'],
    ]);

    await userEvent.clear(within(section).getByLabelText('Model'));
    await userEvent.type(within(section).getByLabelText('Model'), 'crm.lead');
    await userEvent.click(within(section).getByRole('button', { name: 'Show fields' }));
    await within(section).findByRole('table');
    expect(calls.some((c) => c.path === '/api/v1/integrations/odoo/fields/crm.lead')).toBe(true);
  });

  it('shows the API’s refusal', async () => {
    await setLanguage('en');
    odooApi(() => jsonResponse(502, { error: { code: 'provider_unavailable', message: 'Odoo did not answer', details: {} } }));
    const section = await openFields();
    await userEvent.click(within(section).getByRole('button', { name: 'Show fields' }));
    expect(await within(section).findByRole('alert')).toHaveTextContent('Odoo did not answer');
    expect(within(section).queryByRole('table')).toBeNull();
  });
});

describe('the integrations page', () => {
  it('links to the field mappings', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/providers': () => ({ items: [] }) });
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    expect(await screen.findByRole('link', { name: 'Field mappings' })).toHaveAttribute('href', '/integrations/mappings');
  });
});
