import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { LeadKanban } from '../components/kanban';
import { LostReasonDialog } from '../components/lost-reason-dialog';
import type { Lead } from '../types';
import { jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import { ApiError } from '@/lib/errors';

const ID = '11111111-1111-4111-8111-111111111111';

function lead(over: Partial<Lead> = {}): Lead {
  return {
    id: ID,
    title: 'Backup for Dupont SA',
    organization: 'Dupont SA',
    contact_name: 'Jean Dupont',
    contact_email: 'jean@dupont.fr',
    contact_phone: null,
    value: '12000.00',
    currency: 'EUR',
    probability: 40,
    expected_close_date: null,
    source: null,
    lost_reason: null,
    state: 'new',
    version: 3,
    allowed_events: ['contact', 'lose'],
    owner_id: '00000000-0000-4000-8000-00000000a002',
    partner_id: null,
    distributor_id: null,
    provider_name: null,
    provider_id: null,
    provider_metadata: {},
    converted_order_id: null,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...over,
  } as Lead;
}

describe('losing a lead', () => {
  it('asks for the reason first, then sends the move with it and stores it on the lead', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/leads': (req) => {
        const state = new URL(req.url).searchParams.get('state');
        return { items: state === 'new' ? [lead()] : [], next_cursor: null };
      },
      [`POST /api/v1/leads/${ID}/transitions`]: () => lead({ state: 'lost', version: 4, allowed_events: ['reopen'] }),
      [`PATCH /api/v1/leads/${ID}`]: () => lead({ state: 'lost', version: 4, lost_reason: 'Went with a competitor', allowed_events: ['reopen'] }),
    });
    renderWithProviders(<LeadKanban />);
    const column = await screen.findByTestId('column-new');
    await within(column).findByText('Backup for Dupont SA');
    await userEvent.click(within(column).getByRole('button', { name: /Move/ }));
    await userEvent.click(await screen.findByRole('menuitem', { name: 'Lost' }));
    const dialog = await screen.findByRole('dialog', { name: 'Mark the lead lost' });
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    // Empty: refused in place, nothing sent.
    await userEvent.click(within(dialog).getByRole('button', { name: 'Mark lost' }));
    const field = within(dialog).getByLabelText('Reason lost');
    await waitFor(() => expect(field).toHaveAttribute('aria-invalid', 'true'));
    expect(within(dialog).getByText('Required.')).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.type(field, 'Went with a competitor');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Mark lost' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual({ event: 'lose', expected_version: 3, payload: { lost_reason: 'Went with a competitor' } });
    const patch = calls.find((c) => c.method === 'PATCH');
    expect(patch?.body).toEqual({ lost_reason: 'Went with a competitor' });
    expect(await screen.findByText(/moved to Lost/)).toBeInTheDocument();
  });

  it('closes on a stale version and explains it on the board with a Reload', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/leads': (req) => {
        const state = new URL(req.url).searchParams.get('state');
        return { items: state === 'new' ? [lead()] : [], next_cursor: null };
      },
      [`POST /api/v1/leads/${ID}/transitions`]: () =>
        jsonResponse(409, { error: { code: 'stale_version', message: 'changed', details: { current_version: 4 } } }),
    });
    renderWithProviders(<LeadKanban />);
    const column = await screen.findByTestId('column-new');
    await userEvent.click(await within(column).findByRole('button', { name: /Move/ }));
    await userEvent.click(await screen.findByRole('menuitem', { name: 'Lost' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText('Reason lost'), 'Budget');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Mark lost' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.getByRole('alert')).toHaveTextContent(/Someone else changed this record/);
    expect(screen.getByRole('button', { name: 'Reload' })).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'PATCH')).toBe(false);
  });

  it('shows the API field error under the reason and keeps the dialog open', async () => {
    await setLanguage('en');
    renderWithProviders(
      <LostReasonDialog
        open
        title="Backup for Dupont SA"
        onOpenChange={() => {}}
        onConfirm={() =>
          Promise.reject(
            new ApiError(422, { error: { code: 'validation_failed', message: 'Invalid', details: { fields: { lost_reason: ['too_long'] } } } }),
          )
        }
      />,
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText('Reason lost'), 'x');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Mark lost' }));
    await waitFor(() => expect(within(dialog).getByLabelText('Reason lost')).toHaveAttribute('aria-invalid', 'true'));
    expect(within(dialog).getByText('Too long.')).toBeInTheDocument();
  });

  it('explains a refused move in words', async () => {
    await setLanguage('en');
    mockApi({});
    renderWithProviders(
      <LostReasonDialog
        open
        title="Backup for Dupont SA"
        onOpenChange={() => {}}
        onConfirm={() =>
          Promise.reject(new ApiError(409, { error: { code: 'stale_version', message: 'changed', details: {} } }))
        }
      />,
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText('Reason lost'), 'Budget');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Mark lost' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(/Someone else changed this record/);
  });
});

