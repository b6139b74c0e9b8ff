import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Users } from '../components/users';
import type { User } from '../api';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const MANAGER = { ...ADMIN, permissions: [...ADMIN.permissions, 'user:manage'] };
const BOB: User = {
  id: '00000000-0000-4000-8000-00000000b001',
  email: 'bob@example.com',
  full_name: 'Bob Partner',
  role: 'partner',
  partner_id: '00000000-0000-4000-8000-000000009001',
  distributor_id: null,
  is_active: true,
  auth_provider: 'local',
  language: 'en',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
};
const PATCH = `PATCH /api/v1/users/${BOB.id}`;

async function openEdit() {
  const row = (await screen.findByText('Bob Partner')).closest('tr');
  if (!row) throw new Error('no row');
  await userEvent.click(within(row).getByRole('button', { name: 'Edit Bob Partner' }));
  return screen.findByRole('dialog', { name: 'Edit Bob Partner' });
}

describe('user language', () => {
  it('shows the language in the list and sends a change of it', async () => {
    await setLanguage('en');
    let bob = { ...BOB };
    const calls = mockApi({
      'GET /api/v1/users': () => ({ items: [bob], next_cursor: null }),
      [PATCH]: async (req) => {
        bob = { ...bob, ...((await req.json()) as Partial<User>) };
        return bob;
      },
    });
    renderWithProviders(<Users />, { me: MANAGER, route: '/admin/users' });
    const row = (await screen.findByText('Bob Partner')).closest('tr') as HTMLElement;
    expect(within(row).getByText('English')).toBeInTheDocument();

    const dialog = await openEdit();
    const select = within(dialog).getByLabelText('Language for emails');
    expect(select).toHaveValue('en');
    await userEvent.selectOptions(select, 'Français');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([
      { method: 'PATCH', path: `/api/v1/users/${BOB.id}`, body: { language: 'fr' } },
    ]);
    await waitFor(() => expect(within(screen.getByText('Bob Partner').closest('tr') as HTMLElement).getByText('Français')).toBeInTheDocument());
  });

  it('puts a 422 on the language field', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/users': () => ({ items: [BOB], next_cursor: null }),
      [PATCH]: () =>
        jsonResponse(422, {
          error: { code: 'validation_failed', message: 'The request is not valid', details: { fields: { language: ['invalid_choice'] } } },
        }),
    });
    renderWithProviders(<Users />, { me: MANAGER, route: '/admin/users' });
    const dialog = await openEdit();
    await userEvent.selectOptions(within(dialog).getByLabelText('Language for emails'), 'fr');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    const select = within(dialog).getByLabelText('Language for emails');
    await waitFor(() => expect(select).toHaveAttribute('aria-invalid', 'true'));
    expect(select).toHaveAccessibleDescription(/Not one of the allowed choices\./);
    expect(within(dialog).queryByRole('alert')).toBeNull();
    expect(screen.getByRole('dialog')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ language: 'fr' });
  });

  it('sends nothing when nothing changed', async () => {
    await setLanguage('en');
    const calls = mockApi({ 'GET /api/v1/users': () => ({ items: [BOB], next_cursor: null }) });
    renderWithProviders(<Users />, { me: MANAGER, route: '/admin/users' });
    const dialog = await openEdit();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.some((c) => c.method === 'PATCH')).toBe(false);
  });
});
