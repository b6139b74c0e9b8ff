import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router';
import Dashboards from '../routes';
import type { RevenueDashboard } from '../api';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const ANALYST = { ...ADMIN, permissions: [...ADMIN.permissions, 'lead:analytics'] };

const REVENUE: RevenueDashboard = {
  months: [
    {
      month: '2026-01-01',
      currency: 'EUR',
      contracts: 2,
      mrr: '275.50',
      arr: '3306.00',
      new_mrr: '275.50',
      expansion_mrr: '0.00',
      contraction_mrr: '0.00',
      churned_mrr: '0.00',
    },
    {
      month: '2026-02-01',
      currency: 'EUR',
      contracts: 1,
      mrr: '90.00',
      arr: '1080.00',
      new_mrr: '0.00',
      expansion_mrr: '0.00',
      contraction_mrr: '185.50',
      churned_mrr: '0.00',
    },
  ],
  by_partner: [
    { id: '00000000-0000-4000-8000-000000009003', name: 'Gamma Partner', currency: 'EUR', contracts: 1, mrr: '90.00', arr: '1080.00' },
  ],
  by_distributor: [{ id: null, name: null, currency: 'EUR', contracts: 1, mrr: '90.00', arr: '1080.00' }],
};

const PIPELINE = [
  { status: 'qualified', owner_external_id: '7', owner: 'Alice Martin', currency: 'EUR', lead_count: 2, value: '12000.00' },
];

/** Every dashboard endpoint answered; `over` replaces some. */
function dashboardApi(over: Record<string, (req: Request) => unknown> = {}) {
  return mockApi({
    'GET /api/v1/leads/analytics': () => ({ by_state: [{ state: 'new', count: 3, value: '4500.00' }] }),
    'GET /api/v1/dashboard/pipeline': () => ({ items: PIPELINE }),
    'GET /api/v1/dashboard/win-rate': () => ({ won: 3, lost: 1, rate: '0.75', by_owner: [] }),
    'GET /api/v1/dashboard/won-revenue': () => ({ items: [] }),
    'GET /api/v1/dashboard/revenue': () => REVENUE,
    ...over,
  });
}

// jsdom lays nothing out: recharts warns that every chart is 0 × 0.
beforeEach(() => {
  const warn = console.warn;
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    if (!String(args[0]).startsWith('The width(0) and height(0) of chart')) warn(...args);
  });
});
afterEach(() => vi.restoreAllMocks());

function Search() {
  return <output data-testid="search">{useLocation().search}</output>;
}

function revenueCard(): HTMLElement {
  const card = screen.getByRole('heading', { name: 'Recurring revenue' }).closest('.rounded-lg');
  if (!(card instanceof HTMLElement)) throw new Error('no revenue card');
  return card;
}

describe('recurring revenue', () => {
  it('shows the latest month, the movements and the shares as the API gave them', async () => {
    await setLanguage('en');
    dashboardApi();
    renderWithProviders(<Dashboards />, { me: ANALYST, route: '/dashboards' });
    const latest = await screen.findByTestId('revenue-latest-EUR');
    expect(within(revenueCard()).getByText('Latest month: February 2026')).toBeInTheDocument();
    expect(latest).toHaveTextContent('MRR€90.00');
    expect(latest).toHaveTextContent('ARR€1,080.00');
    expect(latest).toHaveTextContent('Contracts1');
    expect(within(revenueCard()).getByRole('figure', { name: 'MRR by month' })).toBeInTheDocument();

    const months = within(screen.getByRole('table', { name: 'MRR by month' })).getAllByRole('row');
    expect(months.map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent))).toEqual([
      ['Month', 'Currency', 'Contracts', 'MRR', 'ARR', 'New', 'Expansion', 'Contraction', 'Churned'],
      ['2026-01', 'EUR', '2', '€275.50', '€3,306.00', '+€275.50', '€0.00', '€0.00', '€0.00'],
      ['2026-02', 'EUR', '1', '€90.00', '€1,080.00', '€0.00', '€0.00', '−€185.50', '€0.00'],
    ]);

    const partners = screen.getByRole('table', { name: 'By partner' });
    expect(within(partners).getByRole('row', { name: /Gamma Partner/ })).toHaveTextContent('Gamma Partner1€90.00€1,080.00');
    const distributors = screen.getByRole('table', { name: 'By distributor' });
    expect(within(distributors).getByRole('row', { name: /No distributor/ })).toHaveTextContent('No distributor1€90.00€1,080.00');
  });

  it('writes a decrease with a minus sign in French too', async () => {
    await setLanguage('fr');
    dashboardApi();
    renderWithProviders(<Dashboards />, { me: ANALYST, route: '/dashboards' });
    const table = await screen.findByRole('table', { name: 'MRR par mois' });
    const feb = within(table).getByRole('row', { name: /2026-02/ });
    expect(feb).toHaveTextContent('−185,50 €');
    expect(screen.getByTestId('revenue-latest-EUR')).toHaveTextContent('1 080,00 €');
    expect(screen.getByText('Dernier mois : février 2026')).toBeInTheDocument();
  });

  it('says so when there are no contracts yet', async () => {
    await setLanguage('en');
    dashboardApi({ 'GET /api/v1/dashboard/revenue': () => ({ months: [], by_partner: [], by_distributor: [] }) });
    renderWithProviders(<Dashboards />, { me: ANALYST, route: '/dashboards' });
    expect(await screen.findByText(/No active contracts yet/)).toBeInTheDocument();
    expect(screen.queryByTestId('revenue-latest-EUR')).toBeNull();
    expect(screen.queryByRole('table', { name: 'MRR by month' })).toBeNull();
  });

  it('shows the API error in the card', async () => {
    await setLanguage('en');
    dashboardApi({
      'GET /api/v1/dashboard/revenue': () =>
        jsonResponse(503, { error: { code: 'unavailable', message: 'The database is unavailable' } }),
    });
    renderWithProviders(<Dashboards />, { me: ANALYST, route: '/dashboards' });
    expect(await within(revenueCard()).findByRole('alert')).toHaveTextContent('The database is unavailable');
    expect(within(revenueCard()).queryByRole('table')).toBeNull();
  });
});

describe('source filter', () => {
  it('asks the lake dashboards for the chosen source and keeps it in the address', async () => {
    await setLanguage('en');
    const calls = dashboardApi();
    renderWithProviders(
      <>
        <Dashboards />
        <Search />
      </>,
      { me: ANALYST, route: '/dashboards' },
    );
    const select = screen.getByLabelText('Source');
    expect(select).toHaveValue('all');
    expect(select).toHaveAccessibleDescription('Applies to the win rate, the pipeline and the won revenue below.');
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'All sources',
      'Tentabo (own data)',
      'Odoo',
      'Pipedrive',
    ]);
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/dashboard/pipeline'));

    await userEvent.selectOptions(select, 'tentabo');
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/dashboard/pipeline?source=tentabo'));
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/dashboard/win-rate?source=tentabo'));
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/dashboard/won-revenue?source=tentabo'));
    expect(screen.getByTestId('search')).toHaveTextContent('?source=tentabo');
    // Recurring revenue and the platform's own leads are not filtered.
    expect(calls.filter((c) => c.path.startsWith('/api/v1/dashboard/revenue')).map((c) => c.path)).toEqual([
      '/api/v1/dashboard/revenue',
    ]);
    expect(calls.some((c) => c.path.startsWith('/api/v1/leads/analytics?'))).toBe(false);

    await userEvent.selectOptions(select, 'all');
    expect(screen.getByTestId('search')).toBeEmptyDOMElement();
  });

  it('reads the source from the address after a reload', async () => {
    await setLanguage('en');
    const calls = dashboardApi({ 'GET /api/v1/dashboard/pipeline': () => ({ items: [] }) });
    renderWithProviders(<Dashboards />, { me: ANALYST, route: '/dashboards?source=tentabo' });
    expect(screen.getByLabelText('Source')).toHaveValue('tentabo');
    expect(await screen.findByText('No leads or fulfilled orders on this platform yet.')).toBeInTheDocument();
    const lake = calls.filter((c) => /^\/api\/v1\/dashboard\/(pipeline|win-rate|won-revenue)/.test(c.path));
    expect(lake.length).toBeGreaterThan(0);
    expect(lake.every((c) => c.path.endsWith('?source=tentabo'))).toBe(true);
  });

  it('falls back to all sources on an unknown value', async () => {
    await setLanguage('en');
    const calls = dashboardApi();
    renderWithProviders(<Dashboards />, { me: ANALYST, route: '/dashboards?source=salesforce' });
    expect(screen.getByLabelText('Source')).toHaveValue('all');
    await waitFor(() => expect(calls.map((c) => c.path)).toContain('/api/v1/dashboard/pipeline'));
    expect(calls.some((c) => c.path.includes('source='))).toBe(false);
  });
});
