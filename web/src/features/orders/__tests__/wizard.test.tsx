import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { OrderWizard } from '../components/order-wizard';
import { jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const PRODUCT = {
  id: '33333333-3333-4333-8333-333333333333',
  name: 'Backup Storage',
  type: 'storage',
  unit: 'TB',
  pricing_mode: 'graduated',
  currency: 'EUR',
  is_active: true,
  progressive_price_list: [],
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};

const QUOTE = {
  currency: 'EUR',
  subtotal: '1800.00',
  discount: '0.00',
  total: '1800.00',
  total_label: '€1,800.00',
  lines: [
    {
      product_id: PRODUCT.id,
      product_name: 'Backup Storage',
      unit: 'TB',
      quantity: 12,
      duration_months: 12,
      billing_period: 'month',
      pricing_mode: 'graduated',
      tiers: [
        { min_quantity: 0, max_quantity: 10, units: 10, price_per_unit: '10.00', period: 'month', amount: '1200.00' },
        { min_quantity: 10, max_quantity: 50, units: 2, price_per_unit: '8.00', period: 'month', amount: '192.00' },
      ],
      recurring_amount: '116.00',
      subtotal: '1392.00',
      discount_percentage: '0',
      discount: '0.00',
      total: '1800.00',
      total_label: '€1,800.00',
    },
  ],
};

function api() {
  return mockApi({
    'GET /api/v1/products': () => ({ items: [PRODUCT], next_cursor: null }),
    'GET /api/v1/durations': () => [
      { id: 'd1', months: 12, discount_percentage: '0', is_active: true },
      { id: 'd2', months: 24, discount_percentage: '5', is_active: true },
    ],
    'POST /api/v1/quotes/preview': async (req) => {
      const body = (await req.json()) as { lines: { quantity: number }[] };
      if (body.lines[0]?.quantity === 9999999) {
        return jsonResponse(422, {
          error: { code: 'validation_failed', message: 'The request is not valid', details: { fields: { 'lines[0].quantity': ['out_of_range'] } } },
        });
      }
      return QUOTE;
    },
  });
}

describe('order wizard', () => {
  it('prices the basket live and shows each tier and the total', async () => {
    await setLanguage('en');
    const calls = api();
    renderWithProviders(<OrderWizard />);
    await userEvent.selectOptions(await screen.findByLabelText('Product'), PRODUCT.id);
    const qty = screen.getByLabelText('Quantity');
    await userEvent.clear(qty);
    await userEvent.type(qty, '12');
    const preview = await screen.findByTestId('quote-preview', {}, { timeout: 3000 });
    const tiers = within(preview).getAllByTestId('quote-tier');
    expect(tiers).toHaveLength(2);
    expect(tiers[0]).toHaveTextContent('1–10');
    expect(tiers[0]).toHaveTextContent('€1,200.00');
    expect(tiers[1]).toHaveTextContent('11–50');
    expect(tiers[1]).toHaveTextContent('€192.00');
    expect(screen.getByTestId('preview-total')).toHaveTextContent('€1,800.00');
    const sent = calls.filter((c) => c.method === 'POST').at(-1);
    expect(sent?.body).toEqual({
      lines: [{ product_id: PRODUCT.id, duration_months: 12, quantity: 12, billing_period: 'month' }],
    });
  });

  it('shows the API field error under the quantity it concerns', async () => {
    await setLanguage('en');
    api();
    renderWithProviders(<OrderWizard />);
    await userEvent.selectOptions(await screen.findByLabelText('Product'), PRODUCT.id);
    const qty = screen.getByLabelText('Quantity');
    await userEvent.clear(qty);
    await userEvent.type(qty, '9999999');
    await waitFor(() => expect(qty).toHaveAccessibleDescription('Out of the allowed range.'), { timeout: 3000 });
  });
});
