import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { NotificationsPage } from '../routes';
import { NotificationsLink } from '../nav-link';
import { UNREAD_POLL_MS, type Notification } from '../api';
import { AppLayout } from '@/app/layout';
import { PARTNER, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const OWNER = { ...PARTNER, permissions: [...PARTNER.permissions, 'contract:view_own'] };
const CONTRACT = '00000000-0000-4000-8000-00000000c001';

function notification(over: Partial<Notification> = {}): Notification {
  return {
    id: '00000000-0000-4000-8000-0000000e0001',
    kind: 'renewal_due',
    object_type: 'contract',
    object_id: CONTRACT,
    subject: 'Contract ORD-000042 expires on 15 March 2026',
    body: 'The contract of order ORD-000042 expires on 15 March 2026.\nA renewal order was drafted.',
    data: { order_reference: 'ORD-000042', expires_on: '2026-03-15', draft_reference: 'ORD-000123' },
    created_at: '2026-02-13T08:00:00Z',
    read_at: null,
    email_status: 'skipped',
    ...over,
  };
}

const FIRST = notification();
const SECOND = notification({
  id: '00000000-0000-4000-8000-0000000e0002',
  subject: 'Contract ORD-000007 expires on 1 March 2026',
  body: 'The contract of order ORD-000007 expires on 1 March 2026.',
  data: { order_reference: 'ORD-000007', expires_on: '2026-03-01' },
  created_at: '2026-01-30T08:00:00Z',
  read_at: '2026-01-31T09:00:00Z',
  email_status: 'sent',
});

/** An inbox the mocked API reads and marks, so a refetch sees the change. */
function inboxApi(start: Notification[], over: Record<string, (req: Request) => unknown> = {}) {
  const store = start.map((n) => ({ ...n }));
  const unread = () => store.filter((n) => !n.read_at).length;
  const calls = mockApi({
    'GET /api/v1/notifications': (req) => {
      const onlyUnread = new URL(req.url).searchParams.get('unread') === 'true';
      return { items: store.filter((n) => !onlyUnread || !n.read_at), next_cursor: null, unread: unread() };
    },
    'POST /api/v1/notifications/00000000-0000-4000-8000-0000000e0001/read': () => {
      const n = store.find((x) => x.id === FIRST.id);
      if (!n) return jsonResponse(404, { error: { code: 'not_found', message: 'Not found' } });
      n.read_at = '2026-02-14T10:00:00Z';
      return n;
    },
    'POST /api/v1/notifications/read-all': () => {
      const read = unread();
      for (const n of store) n.read_at ??= '2026-02-14T10:00:00Z';
      return { read };
    },
    ...over,
  });
  return { calls, store };
}

const gets = (calls: { method: string; path: string }[]) =>
  calls.filter((c) => c.method === 'GET' && c.path.startsWith('/api/v1/notifications'));

afterEach(() => {
  vi.useRealTimers();
});

describe('notifications inbox', () => {
  it('lists the notifications with their state, email, draft and contract', async () => {
    await setLanguage('en');
    inboxApi([FIRST, SECOND]);
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    const items = await screen.findAllByTestId('notification');
    expect(items).toHaveLength(2);
    const [first, second] = items as [HTMLElement, HTMLElement];

    expect(within(first).getByRole('heading', { name: FIRST.subject })).toBeInTheDocument();
    expect(within(first).getByText('Unread')).toBeInTheDocument();
    expect(within(first).getByText('Email not sent: no mail server')).toBeInTheDocument();
    expect(within(first).getByTestId('draft-hint')).toHaveTextContent('Renewal order ORD-000123 drafted');
    expect(within(first).getByRole('link', { name: 'Renewal order ORD-000123 drafted' })).toHaveAttribute('href', '/orders?q=ORD-000123');
    expect(within(first).getByRole('link', { name: 'Open the contract of ORD-000042' })).toHaveAttribute('href', `/contracts/${CONTRACT}`);
    // Line breaks of the body are kept.
    const body = within(first).getByText(/A renewal order was drafted/);
    expect(body).toHaveClass('whitespace-pre-line');
    expect(body.textContent).toBe(FIRST.body);
    expect(within(first).getByRole('button', { name: `Mark as read: ${FIRST.subject}` })).toBeInTheDocument();

    expect(within(second).getByRole('heading', { name: SECOND.subject })).toBeInTheDocument();
    expect(within(second).queryByText('Unread')).toBeNull();
    expect(within(second).getByText('Emailed')).toBeInTheDocument();
    expect(within(second).queryByTestId('draft-hint')).toBeNull();
    expect(within(second).queryByRole('button', { name: /Mark as read/ })).toBeNull();

    expect(screen.getByTestId('unread-count')).toHaveTextContent('1 unread');
  });

  it('shows a pending email and no contract link to who cannot open contracts', async () => {
    await setLanguage('en');
    inboxApi([notification({ email_status: 'pending', data: {} })]);
    renderWithProviders(<NotificationsPage />, { route: '/notifications' });
    const item = await screen.findByTestId('notification');
    expect(within(item).getByText('Email pending')).toBeInTheDocument();
    expect(within(item).queryByRole('link')).toBeNull();
  });

  it('marks one read and refreshes the list', async () => {
    await setLanguage('en');
    const { calls } = inboxApi([FIRST, SECOND]);
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    const button = await screen.findByRole('button', { name: `Mark as read: ${FIRST.subject}` });
    const before = gets(calls).length;
    await userEvent.click(button);
    await waitFor(() => expect(screen.queryByText('Unread')).toBeNull());
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/api/v1/notifications/00000000-0000-4000-8000-0000000e0001/read',
    ]);
    expect(gets(calls).length).toBeGreaterThan(before);
    expect(screen.queryByRole('button', { name: /Mark as read/ })).toBeNull();
    expect(screen.getByTestId('unread-count')).toHaveTextContent('0 unread');
    expect(screen.getByRole('button', { name: 'Mark all as read' })).toBeDisabled();
  });

  it('marks all read', async () => {
    await setLanguage('en');
    const third = notification({ id: '00000000-0000-4000-8000-0000000e0003', subject: 'Another one', data: {} });
    const { calls } = inboxApi([FIRST, third, SECOND]);
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    expect(await screen.findAllByText('Unread')).toHaveLength(2);
    expect(screen.getByTestId('unread-count')).toHaveTextContent('2 unread');
    await userEvent.click(screen.getByRole('button', { name: 'Mark all as read' }));
    await waitFor(() => expect(screen.queryAllByText('Unread')).toHaveLength(0));
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/api/v1/notifications/read-all']);
    expect(screen.getAllByTestId('notification')).toHaveLength(3);
  });

  it('asks for the unread ones only when filtered', async () => {
    await setLanguage('en');
    const { calls } = inboxApi([FIRST, SECOND]);
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    expect(await screen.findAllByTestId('notification')).toHaveLength(2);
    expect(gets(calls)[0]?.path).not.toContain('unread=');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Unread only' }));
    await waitFor(() => expect(screen.getAllByTestId('notification')).toHaveLength(1));
    expect(gets(calls).at(-1)?.path).toContain('unread=true');
    expect(screen.getByRole('heading', { name: FIRST.subject })).toBeInTheDocument();
  });

  it('pages with the cursor', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/notifications': (req) =>
        new URL(req.url).searchParams.get('cursor') === 'next.AAAAAAAAAAAAAAAAAAAAAA'
          ? { items: [SECOND], next_cursor: null, unread: 1 }
          : { items: [FIRST], next_cursor: 'next.AAAAAAAAAAAAAAAAAAAAAA', unread: 1 },
    });
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    expect(await screen.findAllByTestId('notification')).toHaveLength(1);
    await userEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(screen.getAllByTestId('notification')).toHaveLength(2));
    expect(gets(calls).at(-1)?.path).toContain('cursor=next.AAAAAAAAAAAAAAAAAAAAAA');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('says so when there is nothing', async () => {
    await setLanguage('en');
    inboxApi([]);
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    expect(await screen.findByText('No notifications yet.')).toBeInTheDocument();
    expect(screen.queryByRole('list')).toBeNull();
    expect(screen.getByRole('button', { name: 'Mark all as read' })).toBeDisabled();
  });

  it('shows the API error', async () => {
    await setLanguage('en');
    inboxApi([], {
      'GET /api/v1/notifications': () =>
        jsonResponse(503, { error: { code: 'unavailable', message: 'The database is unavailable.' } }),
    });
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    expect(await screen.findByRole('alert')).toHaveTextContent('The database is unavailable.');
    expect(screen.queryByText('No notifications yet.')).toBeNull();
  });

  it('shows a failed mark as read', async () => {
    await setLanguage('en');
    inboxApi([FIRST], {
      'POST /api/v1/notifications/00000000-0000-4000-8000-0000000e0001/read': () =>
        jsonResponse(404, { error: { code: 'not_found', message: 'Notification not found.' } }),
    });
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    await userEvent.click(await screen.findByRole('button', { name: `Mark as read: ${FIRST.subject}` }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Notification not found.');
  });

  it('speaks French', async () => {
    await setLanguage('fr');
    inboxApi([FIRST]);
    renderWithProviders(<NotificationsPage />, { me: OWNER, route: '/notifications' });
    const item = await screen.findByTestId('notification');
    expect(within(item).getByText('Non lue')).toBeInTheDocument();
    expect(within(item).getByText('E-mail non envoyé : pas de serveur de messagerie')).toBeInTheDocument();
    expect(within(item).getByText('Commande de renouvellement ORD-000123 préparée')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Tout marquer comme lu' })).toBeEnabled();
  });
});

describe('notifications link', () => {
  it('shows the unread count in the header', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/notifications': () => ({ items: [FIRST], next_cursor: null, unread: 2 }),
    });
    renderWithProviders(<AppLayout />, { me: OWNER });
    const link = await screen.findByRole('link', { name: 'Notifications, 2 unread' });
    expect(link).toHaveAttribute('href', '/notifications');
    expect(within(link).getByTestId('notifications-badge')).toHaveTextContent('2');
    expect(gets(calls).map((c) => c.path)).toEqual(['/api/v1/notifications?unread=true&limit=1']);
    // Not part of the main navigation (whose entries depend on permissions).
    for (const nav of screen.getAllByRole('navigation')) expect(within(nav).queryByRole('link', { name: /Notifications/ })).toBeNull();
  });

  it('has no badge when all is read, and asks again every minute', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    await setLanguage('en');
    let unread = 0;
    const calls = mockApi({
      'GET /api/v1/notifications': () => ({ items: [], next_cursor: null, unread }),
    });
    renderWithProviders(<NotificationsLink />, { me: OWNER });
    const link = await screen.findByRole('link', { name: 'Notifications' });
    expect(screen.queryByTestId('notifications-badge')).toBeNull();
    expect(gets(calls)).toHaveLength(1);
    unread = 1;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(UNREAD_POLL_MS);
    });
    await waitFor(() => expect(link).toHaveAccessibleName('Notifications, 1 unread'));
    expect(gets(calls)).toHaveLength(2);
    expect(UNREAD_POLL_MS).toBe(60_000);
  });
});
