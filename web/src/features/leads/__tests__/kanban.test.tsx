import { describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { LeadCard } from '../components/lead-card';
import { LeadKanban } from '../components/kanban';
import type { Lead } from '../types';
import { jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

function lead(over: Partial<Lead> = {}): Lead {
  return {
    id: '11111111-1111-4111-8111-111111111111',
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
    last_sync_at: null,
    ...over,
  };
}

describe('lead card moves', () => {
  it('offers exactly the events the API allows', async () => {
    await setLanguage('en');
    const onEvent = vi.fn();
    renderWithProviders(<LeadCard lead={lead()} onEvent={onEvent} />);
    await userEvent.click(screen.getByRole('button', { name: 'Move “Backup for Dupont SA”' }));
    const items = await screen.findAllByRole('menuitem');
    expect(items.map((i) => i.textContent)).toEqual(['Contacted', 'Lost']);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Contacted' }));
    expect(onEvent).toHaveBeenCalledWith(expect.objectContaining({ id: lead().id }), 'contact');
  });

  it('offers conversion on a won lead and nothing it may not do', async () => {
    await setLanguage('en');
    renderWithProviders(<LeadCard lead={lead({ state: 'won', allowed_events: ['convert'] })} onEvent={() => {}} />);
    await userEvent.click(screen.getByRole('button', { name: /Move/ }));
    const items = await screen.findAllByRole('menuitem');
    expect(items.map((i) => i.textContent)).toEqual(['Convert to order']);
  });

  it('shows no menu when no event is allowed', async () => {
    renderWithProviders(<LeadCard lead={lead({ state: 'lost', allowed_events: [] })} onEvent={() => {}} />);
    expect(screen.queryByRole('button', { name: /Move/ })).toBeNull();
  });

  it('is reachable and usable from the keyboard', async () => {
    await setLanguage('en');
    const onEvent = vi.fn();
    renderWithProviders(<LeadCard lead={lead()} onEvent={onEvent} />);
    const user = userEvent.setup();
    await user.tab(); // the title link
    await user.tab(); // the move menu
    expect(screen.getByRole('button', { name: /Move/ })).toHaveFocus();
    await user.keyboard('{Enter}');
    await screen.findAllByRole('menuitem');
    await user.keyboard('{ArrowDown}{Enter}');
    expect(onEvent).toHaveBeenCalledTimes(1);
  });
});

describe('kanban', () => {
  it('moves a card with the version it saw and explains a 409 in words', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/leads': (req) => {
        const state = new URL(req.url).searchParams.get('state');
        return { items: state === 'new' ? [lead()] : [], next_cursor: null };
      },
      'POST /api/v1/leads/11111111-1111-4111-8111-111111111111/transitions': () =>
        jsonResponse(409, {
          error: { code: 'stale_version', message: 'The resource changed', details: { current_version: 4 } },
        }),
    });
    renderWithProviders(<LeadKanban />);
    const column = await screen.findByTestId('column-new');
    await within(column).findByText('Backup for Dupont SA');
    await userEvent.click(within(column).getByRole('button', { name: /Move/ }));
    await userEvent.click(await screen.findByRole('menuitem', { name: 'Contacted' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent(/Someone else changed this record/));
    expect(screen.getByRole('button', { name: 'Reload' })).toBeInTheDocument();
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual({ event: 'contact', expected_version: 3 });
  });

  it('asks each column for its state and pages by cursor', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/leads': (req) => {
        const p = new URL(req.url).searchParams;
        if (p.get('state') !== 'new') return { items: [], next_cursor: null };
        return p.get('cursor')
          ? { items: [lead({ id: '22222222-2222-4222-8222-222222222222', title: 'Second page lead' })], next_cursor: null }
          : { items: [lead()], next_cursor: 'abc.0123456789012345678901' };
      },
    });
    renderWithProviders(<LeadKanban />);
    const column = await screen.findByTestId('column-new');
    await userEvent.click(await within(column).findByRole('button', { name: 'Load more' }));
    await within(column).findByText('Second page lead');
    expect(calls.some((c) => c.path.includes('cursor=abc.0123456789012345678901'))).toBe(true);
    const states = new Set(calls.map((c) => new URL(`http://x${c.path}`).searchParams.get('state')));
    expect(states).toEqual(new Set(['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost']));
  });
});
