import { describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ReassignDialog } from '../reassign-dialog';
import { ADMIN, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import { ApiError } from '@/lib/errors';

const ME = { ...ADMIN, permissions: [...ADMIN.permissions, 'partner:view', 'distributor:view', 'order:reassign'] };

describe('reassign dialog', () => {
  it('sends the chosen owners and shows an API field error in place', async () => {
    await setLanguage('en');
    mockApi({
      'GET /api/v1/partners': () => ({ items: [{ id: 'p1', name: 'Acme Partner' }, { id: 'p2', name: 'Beta Partner' }], next_cursor: null }),
      'GET /api/v1/distributors': () => ({ items: [{ id: 'd1', name: 'Demo Distribution' }], next_cursor: null }),
    });
    const onSubmit = vi
      .fn()
      .mockRejectedValueOnce(
        new ApiError(422, { error: { code: 'validation_failed', message: 'Invalid', details: { fields: { distributor_id: ['unknown_distributor'] } } } }),
      )
      .mockResolvedValueOnce({});
    const onOpenChange = vi.fn();
    renderWithProviders(
      <ReassignDialog open onOpenChange={onOpenChange} title="Reassign ORD-000001" current={{ partner_id: 'p1', distributor_id: null }} onSubmit={onSubmit} />,
      { me: ME },
    );
    const dialog = await screen.findByRole('dialog', { name: 'Reassign ORD-000001' });
    const partner = await within(dialog).findByLabelText('Partner');
    await within(partner).findByRole('option', { name: 'Beta Partner' });
    await waitFor(() => expect(partner).toHaveValue('p1'));
    await userEvent.selectOptions(partner, 'p2');
    await within(dialog).findByRole('option', { name: 'Demo Distribution' });
    await userEvent.selectOptions(within(dialog).getByLabelText('Distributor'), 'd1');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Reassign' }));
    await waitFor(() => expect(within(dialog).getByLabelText('Distributor')).toHaveAttribute('aria-invalid', 'true'));
    expect(within(dialog).getByText('Unknown distributor.')).toBeInTheDocument();
    expect(onSubmit).toHaveBeenLastCalledWith({ partner_id: 'p2', distributor_id: 'd1' });
    expect(onOpenChange).not.toHaveBeenCalled();

    await userEvent.click(within(dialog).getByRole('button', { name: 'Reassign' }));
    await waitFor(() => expect(onOpenChange).toHaveBeenCalledWith(false));
  });

  it('refuses clearing both owners without calling the API', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/partners': () => ({ items: [], next_cursor: null }), 'GET /api/v1/distributors': () => ({ items: [], next_cursor: null }) });
    const onSubmit = vi.fn();
    renderWithProviders(
      <ReassignDialog open onOpenChange={() => {}} title="Reassign" current={{ partner_id: null, distributor_id: null }} onSubmit={onSubmit} />,
      { me: ME },
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getAllByRole('button', { name: 'Reassign' })[0]!);
    expect(await within(dialog).findByText('Required.')).toBeInTheDocument();
    expect(onSubmit).not.toHaveBeenCalled();
  });
});
