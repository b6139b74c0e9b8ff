import { describe, expect, it, vi } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ProductForm } from '../components/product-form';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

describe('tier editor', () => {
  it('shows the API validation errors on the tier cell they concern', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'POST /api/v1/products': () =>
        jsonResponse(422, {
          error: {
            code: 'validation_failed',
            message: 'The request is not valid',
            details: {
              fields: {
                'progressive_price_list[1].min_quantity': ['gap_with_previous_tier'],
                'progressive_price_list[1].price_per_unit': ['too_many_decimals'],
                name: ['required'],
              },
            },
          },
        }),
    });
    const onSaved = vi.fn();
    renderWithProviders(<ProductForm onSaved={onSaved} />, { me: ADMIN });
    await userEvent.type(screen.getByLabelText('Type'), 'storage');
    await userEvent.type(screen.getByLabelText('Unit'), 'TB');
    await userEvent.type(screen.getByLabelText('Tier 1 up to'), '10');
    await userEvent.type(screen.getByLabelText('Tier 1 price per unit'), '10.00');
    await userEvent.click(screen.getByRole('button', { name: 'Add a tier' }));
    // The new tier starts where the previous ends; make a gap on purpose.
    expect(screen.getByLabelText('Tier 2 from')).toHaveValue('10');
    await userEvent.clear(screen.getByLabelText('Tier 2 from'));
    await userEvent.type(screen.getByLabelText('Tier 2 from'), '12');
    await userEvent.type(screen.getByLabelText('Tier 2 price per unit'), '8.123456');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));

    await waitFor(() =>
      expect(screen.getByLabelText('Tier 2 from')).toHaveAccessibleDescription(
        'Leaves a gap after the previous tier: start where it ends.',
      ),
    );
    expect(screen.getByLabelText('Tier 2 from')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Tier 2 price per unit')).toHaveAccessibleDescription('Too many decimals (4 at most).');
    expect(screen.getByLabelText('Name')).toHaveAccessibleDescription('Required.');
    expect(screen.getByLabelText('Tier 1 from')).toHaveAttribute('aria-invalid', 'false');
    expect(onSaved).not.toHaveBeenCalled();
    const body = calls.find((c) => c.method === 'POST')?.body as { progressive_price_list: unknown[] };
    expect(body.progressive_price_list).toEqual([
      { min_quantity: 0, max_quantity: 10, price_per_unit: '10.00', period: 'month' },
      { min_quantity: 12, max_quantity: null, price_per_unit: '8.123456', period: 'month' },
    ]);
  });

  it('shows the errors in French when the API answers in French', async () => {
    await setLanguage('fr');
    mockApi({
      'POST /api/v1/products': () =>
        jsonResponse(422, {
          error: {
            code: 'validation_failed',
            message: 'La requête n’est pas valide',
            details: { fields: { 'progressive_price_list[0].min_quantity': ['must_start_at_zero'] } },
          },
        }),
    });
    renderWithProviders(<ProductForm onSaved={() => {}} />, { me: ADMIN });
    await userEvent.clear(screen.getByLabelText('Tranche 1 à partir de'));
    await userEvent.type(screen.getByLabelText('Tranche 1 à partir de'), '1');
    await userEvent.click(screen.getByRole('button', { name: 'Enregistrer' }));
    await waitFor(() =>
      expect(screen.getByLabelText('Tranche 1 à partir de')).toHaveAccessibleDescription('La première tranche doit commencer à 0.'),
    );
    await setLanguage('en');
  });
});
