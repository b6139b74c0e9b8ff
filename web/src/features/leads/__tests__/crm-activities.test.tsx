import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { LeadDetail } from '../components/lead-detail';
import type { Activity, CrmLink, LeadDetail as LeadDetailDto } from '../types';
import { jsonResponse, mockApi, renderWithProviders, PARTNER } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';
import { dateTime } from '@/lib/format';

const ID = '11111111-1111-4111-8111-111111111111';

const DEAL: CrmLink = {
  provider: 'pipedrive',
  object: 'deal',
  external_id: '4211',
  url: 'https://acme.pipedrive.com/deal/4211',
  synced_at: '2026-02-01T09:30:00Z',
  remote_updated_at: '2026-02-01T09:29:00Z',
};
const PERSON: CrmLink = {
  provider: 'pipedrive',
  object: 'person',
  external_id: '77',
  url: null,
  synced_at: '2026-02-01T09:30:00Z',
  remote_updated_at: null,
};

function activity(over: Partial<Activity> = {}): Activity {
  return {
    id: '22222222-2222-4222-8222-222222222222',
    provider: 'pipedrive',
    external_id: '900',
    type: 'meeting',
    subject: 'Demo of the backup console',
    due_date: '2026-03-10',
    due_time: '14:30',
    done: true,
    owner: '12',
    note: null,
    created_by: null,
    created_at: '2026-02-01T09:00:00Z',
    updated_at: '2026-02-01T09:00:00Z',
    ...over,
  };
}

const PENDING = activity({
  id: '33333333-3333-4333-8333-333333333333',
  provider: 'tentabo',
  external_id: null,
  type: 'call',
  subject: 'Call Jean about the quote',
  due_date: null,
  due_time: null,
  done: false,
  owner: null,
});

function lead(over: Partial<LeadDetailDto> = {}): LeadDetailDto {
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
    state: 'contacted',
    version: 3,
    allowed_events: ['qualify', 'lose'],
    owner_id: PARTNER.id,
    partner_id: null,
    distributor_id: null,
    provider_name: null,
    provider_id: null,
    provider_metadata: {},
    converted_order_id: null,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    crm_links: [DEAL, PERSON],
    activities: [activity(), PENDING],
    ...over,
  } as LeadDetailDto;
}

/** The lead page with what its other cards ask for answered empty. */
function page(detail: LeadDetailDto, extra: Record<string, (req: Request) => unknown> = {}, me = PARTNER) {
  const calls = mockApi({
    [`GET /api/v1/leads/${ID}`]: () => detail,
    [`GET /api/v1/leads/${ID}/activities`]: () => ({ items: detail.activities }),
    [`GET /api/v1/leads/${ID}/notes`]: () => ({ items: [] }),
    [`GET /api/v1/leads/${ID}/history`]: () => ({ items: [] }),
    [`GET /api/v1/leads/${ID}/effects`]: () => ({ items: [] }),
    ...extra,
  });
  renderWithProviders(
    <Routes>
      <Route path="/leads/:id" element={<LeadDetail />} />
    </Routes>,
    { route: `/leads/${ID}`, me },
  );
  return calls;
}

describe('the lead’s CRM card', () => {
  it('lists each linked object with its id, a new-tab link when the CRM gave one, and when it was synced', async () => {
    await setLanguage('en');
    page(lead());
    const card = await screen.findByTestId('crm-links');
    expect(within(card).getByRole('heading', { name: 'CRM' })).toBeInTheDocument();
    const [deal, person] = within(card).getAllByTestId('crm-link');
    expect(deal).toHaveTextContent('Deal');
    expect(deal).toHaveTextContent('4211');
    expect(deal).toHaveTextContent(`Last synced ${dateTime(DEAL.synced_at)}`);
    const link = within(deal!).getByRole('link', { name: /Open in Pipedrive/ });
    expect(link).toHaveAttribute('href', 'https://acme.pipedrive.com/deal/4211');
    expect(link).toHaveAttribute('target', '_blank');
    expect(link.getAttribute('rel')?.split(' ')).toContain('noopener');
    expect(link).toHaveAccessibleName('Open in Pipedrive: Deal 4211 (new tab)');
    // No address known: no link.
    expect(person).toHaveTextContent('Person');
    expect(person).toHaveTextContent('77');
    expect(within(person!).queryByRole('link')).toBeNull();
  });

  it('says so when the lead is not linked, and never links to a non-web address', async () => {
    await setLanguage('en');
    page(lead({ crm_links: [] }));
    const card = await screen.findByTestId('crm-links');
    expect(within(card).getByText('This lead is not linked to a CRM yet.')).toBeInTheDocument();
    expect(within(card).queryByTestId('crm-link')).toBeNull();
  });

  it('keeps the links and activities when the lead is moved (the move answers the bare lead)', async () => {
    await setLanguage('en');
    const detail = lead();
    const { crm_links: _l, activities: _a, ...bare } = detail;
    page(detail, {
      [`POST /api/v1/leads/${ID}/transitions`]: () => ({ ...bare, state: 'qualified', version: 4, allowed_events: ['propose', 'lose'] }),
    });
    await screen.findByTestId('crm-links');
    await userEvent.click(screen.getByRole('button', { name: 'Qualified' }));
    await waitFor(() => expect(screen.getByTestId('lead-state')).toHaveTextContent('Qualified'));
    expect(within(screen.getByTestId('crm-links')).getAllByTestId('crm-link')).toHaveLength(2);
    expect(within(screen.getByRole('list', { name: 'Activities' })).getAllByTestId('activity')).toHaveLength(2);
  });

  it('shows no link for an address that is not http(s)', async () => {
    await setLanguage('en');
    page(lead({ crm_links: [{ ...DEAL, url: 'javascript:alert(1)' }] }));
    const card = await screen.findByTestId('crm-links');
    expect(within(card).getByTestId('crm-link')).toHaveTextContent('4211');
    expect(within(card).queryByRole('link')).toBeNull();
  });
});

describe('the lead’s activities', () => {
  it('lists type, subject, due date and time, done state, and marks those not pushed yet', async () => {
    await setLanguage('en');
    page(lead());
    const list = await screen.findByRole('list', { name: 'Activities' });
    const [meeting, call] = within(list).getAllByTestId('activity');
    expect(meeting).toHaveTextContent('Meeting');
    expect(meeting).toHaveTextContent('Demo of the backup console');
    expect(meeting).toHaveTextContent('Due 10 Mar 2026 · 14:30 UTC');
    expect(meeting).toHaveTextContent('Done');
    expect(within(meeting!).queryByText('Pending push')).toBeNull();
    expect(call).toHaveTextContent('Call');
    expect(call).toHaveTextContent('Call Jean about the quote');
    expect(call).toHaveTextContent('No due date');
    expect(call).toHaveTextContent('To do');
    expect(within(call!).getByText('Pending push')).toBeInTheDocument();
  });

  it('says so when there are none', async () => {
    await setLanguage('en');
    page(lead({ activities: [] }));
    expect(await screen.findByText('No activities yet.')).toBeInTheDocument();
  });

  it('adds an activity and lists it, pending its push to the CRM', async () => {
    await setLanguage('en');
    const created = activity({
      id: '44444444-4444-4444-8444-444444444444',
      provider: 'tentabo',
      external_id: null,
      type: 'task',
      subject: 'Send the revised quote',
      due_date: '2026-04-02',
      due_time: '09:15',
      done: false,
      note: 'With the 24-month discount',
    });
    let items = [activity()];
    const calls = page(lead({ activities: items }), {
      [`GET /api/v1/leads/${ID}/activities`]: () => ({ items }),
      [`POST /api/v1/leads/${ID}/activities`]: () => {
        items = [...items, created];
        return jsonResponse(201, created);
      },
    });
    const form = await screen.findByRole('form', { name: 'Add activity' });
    await userEvent.selectOptions(within(form).getByLabelText('Type'), 'task');
    await userEvent.type(within(form).getByLabelText('Subject'), '  Send the revised quote ');
    await userEvent.type(within(form).getByLabelText('Due date'), '2026-04-02');
    await userEvent.type(within(form).getByLabelText('Due time (UTC)'), '09:15');
    await userEvent.type(within(form).getByLabelText('Note'), 'With the 24-month discount');
    await userEvent.click(within(form).getByRole('button', { name: 'Add activity' }));

    const list = screen.getByRole('list', { name: 'Activities' });
    await waitFor(() => expect(within(list).getAllByTestId('activity')).toHaveLength(2));
    const added = within(list).getAllByTestId('activity')[1]!;
    expect(added).toHaveTextContent('Task');
    expect(added).toHaveTextContent('Send the revised quote');
    expect(added).toHaveTextContent('Due 2 Apr 2026 · 09:15 UTC');
    expect(within(added).getByText('Pending push')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      type: 'task',
      subject: 'Send the revised quote',
      due_date: '2026-04-02',
      due_time: '09:15',
      done: false,
      note: 'With the 24-month discount',
    });
    expect(within(form).getByRole('status')).toHaveTextContent('Activity added.');
    expect(within(form).getByLabelText('Subject')).toHaveValue('');
    // The list was asked again once the activity was created.
    const post = calls.findIndex((c) => c.method === 'POST');
    expect(calls.slice(post).some((c) => c.method === 'GET' && c.path === `/api/v1/leads/${ID}/activities`)).toBe(true);
  });

  it('shows the API’s field errors under the fields they concern and adds nothing', async () => {
    await setLanguage('en');
    const calls = page(lead({ activities: [] }), {
      [`POST /api/v1/leads/${ID}/activities`]: () =>
        jsonResponse(422, {
          error: {
            code: 'validation_failed',
            message: 'The request is not valid',
            details: { fields: { due_date: ['out_of_range'], subject: ['too_long'] } },
          },
        }),
    });
    const form = await screen.findByRole('form', { name: 'Add activity' });
    await userEvent.type(within(form).getByLabelText('Subject'), 'Call back');
    await userEvent.type(within(form).getByLabelText('Due date'), '1800-01-01');
    await userEvent.click(within(form).getByRole('button', { name: 'Add activity' }));
    const due = within(form).getByLabelText('Due date');
    await waitFor(() => expect(due).toHaveAttribute('aria-invalid', 'true'));
    expect(due).toHaveAccessibleDescription('Out of the allowed range.');
    expect(within(form).getByLabelText('Subject')).toHaveAttribute('aria-invalid', 'true');
    expect(within(form).getByLabelText('Subject')).toHaveAccessibleDescription('Too long.');
    expect(within(form).getByLabelText('Subject')).toHaveValue('Call back');
    expect(within(form).queryByRole('status')).toBeNull();
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(screen.getByText('No activities yet.')).toBeInTheDocument();
  });

  it('refuses in place a due time without a due date, and an empty subject, without calling the API', async () => {
    await setLanguage('en');
    const calls = page(lead());
    const form = await screen.findByRole('form', { name: 'Add activity' });
    await userEvent.type(within(form).getByLabelText('Due time (UTC)'), '10:00');
    await userEvent.click(within(form).getByRole('button', { name: 'Add activity' }));
    await waitFor(() => expect(within(form).getByLabelText('Subject')).toHaveAttribute('aria-invalid', 'true'));
    expect(within(form).getByText('Required.')).toBeInTheDocument();
    expect(within(form).getByLabelText('Due date')).toHaveAccessibleDescription('A due time needs a due date.');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('offers no form to who may not move the lead', async () => {
    await setLanguage('en');
    page(lead({ allowed_events: [] }), {}, { ...PARTNER, permissions: ['lead:view_own'] });
    expect(await screen.findByRole('list', { name: 'Activities' })).toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'Add activity' })).toBeNull();
    expect(screen.queryByLabelText('Subject')).toBeNull();
  });
});
