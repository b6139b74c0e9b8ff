import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import MappingsRoutes from '../routes';
import type { Rule, Version, VersionDetail } from '../api';
import { filterRules } from '../components/version-review';
import { confidenceLevel } from '../components/labels';
import { ADMIN, jsonResponse, mockApi, renderWithProviders } from '@/test/utils';
import type { Me } from '@/lib/auth';
import { setLanguage } from '@/lib/i18n';

const DRAFT_ID = '0190a5f0-0000-7000-8000-000000000004';
const ACTIVE_ID = '0190a5f0-0000-7000-8000-000000000003';
const RETIRED_ID = '0190a5f0-0000-7000-8000-000000000002';
const RUN_ID = '0190a5f0-0000-7000-8000-0000000000aa';
const VIEWER: Me = { ...ADMIN, role: 'restricted_admin', permissions: ['provider:view'] };
const SYNC_ADMIN: Me = { ...ADMIN, permissions: [...ADMIN.permissions, 'job:view'] };

function version(over: Partial<Version> = {}): Version {
  return {
    id: DRAFT_ID,
    provider: 'odoo',
    object: 'res.partner',
    entity: 'organization',
    version: 4,
    status: 'draft',
    origin: 'auto_map',
    created_by: 'superadmin@salescommand.com',
    created_at: '2026-03-02T09:00:00Z',
    decided_by: null,
    decided_at: null,
    activated_at: null,
    replay_run_id: null,
    proposed: 2,
    approved: 1,
    rejected: 0,
    ...over,
  };
}

function rule(over: Partial<Rule> & Pick<Rule, 'id' | 'source_field'>): Rule {
  return {
    position: over.id,
    source_label: null,
    source_type: 'char',
    samples: [],
    target_field: null,
    transform: 'as_is',
    value_map: {},
    confidence: 0.5,
    reason: '',
    engine: 'rules',
    status: 'proposed',
    decided_by: null,
    decided_at: null,
    ...over,
  };
}

const RULES: Rule[] = [
  rule({
    id: 11,
    source_field: 'vat',
    source_label: 'Tax ID',
    samples: ['BE0477472701', 'FR40303265045', 'DE811907980', 'A-very-long-sample-value-that-goes-on-and-on-forever'],
    target_field: 'vat_number',
    confidence: 0.95,
    reason: 'the name matches vat_number',
  }),
  rule({
    id: 12,
    source_field: 'x_studio_region',
    source_label: 'Région commerciale',
    source_type: 'selection',
    target_field: 'state',
    transform: 'selection',
    confidence: 0.62,
    reason: 'the label is a synonym of state',
    engine: 'llm',
  }),
  rule({
    id: 13,
    source_field: 'comment',
    source_label: 'Notes',
    source_type: 'html',
    samples: ['<p>Call back</p>'],
    transform: 'keep_in_extras',
    confidence: 0.3,
    reason: 'no canonical field fits',
    engine: 'default',
    status: 'approved',
  }),
];

function detail(over: Partial<VersionDetail> = {}): VersionDetail {
  return { ...version(), rules: RULES, ...over };
}

function renderAt(route: string, me: Me = ADMIN) {
  return renderWithProviders(
    <Routes>
      <Route path="/integrations/mappings/*" element={<MappingsRoutes />} />
    </Routes>,
    { me, route },
  );
}

const posts = (calls: { method: string; path: string; body: unknown }[]) => calls.filter((c) => c.method === 'POST');

describe('an object’s mapping versions', () => {
  it('shows the active version and the history, each version opening its review', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/mappings/odoo/res.partner/versions': () => ({
        active: version({ id: ACTIVE_ID, version: 3, status: 'active', origin: 'default', created_by: null, decided_by: 'ops@example.com', activated_at: '2026-03-01T08:00:00Z', proposed: 0, approved: 17 }),
        versions: [
          version(),
          version({ id: ACTIVE_ID, version: 3, status: 'active', origin: 'default', created_by: null, decided_by: 'ops@example.com', activated_at: '2026-03-01T08:00:00Z', proposed: 0, approved: 17 }),
          version({ id: RETIRED_ID, version: 2, status: 'retired', origin: 'copy', proposed: 0, approved: 12, rejected: 3 }),
        ],
      }),
      'GET /api/v1/mappings/versions/{id}': () => detail(),
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
    });
    renderAt('/integrations/mappings/odoo/res.partner?entity=organization');

    const history = await screen.findByTestId('version-history');
    expect(calls[0]?.path).toBe('/api/v1/mappings/odoo/res.partner/versions?entity=organization');
    expect(screen.getByRole('heading', { name: 'res.partner → Organisation' })).toBeInTheDocument();
    expect(screen.getByLabelText('Source object')).toHaveValue('odoo|res.partner|organization');
    expect(screen.getByTestId('active-version')).toHaveTextContent('Version 3 (Built-in), activated');
    expect(screen.getByTestId('active-version')).toHaveTextContent('by ops@example.com');

    const headers = within(history).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Version', 'Status', 'Origin', 'Created', 'Waiting', 'Approved', 'Rejected']);
    const draft = within(history).getByTestId('version-4');
    expect(draft).toHaveTextContent('Draft');
    expect(draft).toHaveTextContent('Automatic proposal');
    expect(draft).toHaveTextContent('by superadmin@salescommand.com');
    expect(within(draft).getAllByRole('cell').slice(4).map((c) => c.textContent)).toEqual(['2', '1', '0']);
    expect(within(history).getByTestId('version-3')).toHaveTextContent('Active');
    expect(within(history).getByTestId('version-3')).toHaveTextContent('by Tentabo');
    const retired = within(history).getByTestId('version-2');
    expect(retired).toHaveTextContent('Retired');
    expect(within(retired).getAllByRole('cell').slice(4).map((c) => c.textContent)).toEqual(['0', '12', '3']);

    await userEvent.click(within(draft).getByRole('link', { name: 'Version 4' }));
    expect(await screen.findByRole('heading', { name: 'res.partner → Organisation, version 4' })).toBeInTheDocument();
    expect(calls.at(-1)?.path).toBe(`/api/v1/mappings/versions/${DRAFT_ID}`);
  });

  it('asks for another object’s versions when one is picked, with its entity only when the object feeds several', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/mappings/odoo/res.partner/versions': () => ({ active: null, versions: [] }),
      'GET /api/v1/mappings/odoo/crm.lead/versions': () => ({ active: null, versions: [] }),
    });
    renderAt('/integrations/mappings');
    expect(screen.getByText('Choose a source object to see the versions of its mapping.')).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText('Source object'), 'odoo|res.partner|contact');
    expect(await screen.findByText('No version yet.')).toBeInTheDocument();
    expect(screen.getByText('No version is active: the records of this object are not mapped yet.')).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText('Source object'), 'odoo|crm.lead|lead');
    await screen.findByRole('heading', { name: 'crm.lead → Lead' });
    await waitFor(() =>
      expect(calls.map((c) => c.path)).toEqual([
        '/api/v1/mappings/odoo/res.partner/versions?entity=contact',
        '/api/v1/mappings/odoo/crm.lead/versions',
      ]),
    );
  });

  it('proposes a new mapping and opens the draft', async () => {
    await setLanguage('en');
    const calls = mockApi({
      'GET /api/v1/mappings/odoo/res.partner/versions': () => ({ active: null, versions: [] }),
      'POST /api/v1/mappings/odoo/res.partner/auto-map': () => jsonResponse(201, detail()),
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
    });
    renderAt('/integrations/mappings/odoo/res.partner?entity=contact');
    await userEvent.click(await screen.findByRole('button', { name: 'Propose a new mapping' }));
    expect(await screen.findByRole('heading', { name: 'res.partner → Organisation, version 4' })).toBeInTheDocument();
    expect(screen.getByText('A new draft was proposed: review its rules, then approve the version.')).toBeInTheDocument();
    expect(posts(calls)).toEqual([
      { method: 'POST', path: '/api/v1/mappings/odoo/res.partner/auto-map', body: { entity: 'contact' } },
    ]);
  });

  it('says plainly when Odoo is not configured or does not answer', async () => {
    await setLanguage('en');
    let answer = jsonResponse(409, { error: { code: 'provider_not_configured', message: 'odoo is not configured', details: {} } });
    mockApi({
      'GET /api/v1/mappings/odoo/crm.lead/versions': () => ({ active: null, versions: [] }),
      'POST /api/v1/mappings/odoo/crm.lead/auto-map': () => answer,
    });
    renderAt('/integrations/mappings/odoo/crm.lead');
    const button = await screen.findByRole('button', { name: 'Propose a new mapping' });
    await userEvent.click(button);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Odoo is not configured: set it up under Integrations first, then propose a mapping.',
    );
    answer = jsonResponse(502, { error: { code: 'provider_failed', message: 'upstream', details: {} } });
    await userEvent.click(button);
    await waitFor(() =>
      expect(screen.getByRole('alert')).toHaveTextContent(
        'Odoo did not answer or refused the request. Check its connection under Integrations and try again.',
      ),
    );
  });

  it('offers no proposal to who may only look', async () => {
    await setLanguage('en');
    mockApi({ 'GET /api/v1/mappings/odoo/crm.lead/versions': () => ({ active: null, versions: [] }) });
    renderAt('/integrations/mappings/odoo/crm.lead', VIEWER);
    await screen.findByText('No version yet.');
    expect(screen.queryByRole('button', { name: 'Propose a new mapping' })).toBeNull();
  });
});

describe('reviewing a draft', () => {
  it('shows each rule’s source, samples, target, transform, confidence, reason, engine and status', async () => {
    await setLanguage('en');
    mockApi({ [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail() });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    const table = await screen.findByTestId('rules');
    expect(within(table).getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Source field', 'Samples', 'Target', 'Transform', 'Confidence', 'Reason', 'Engine', 'Status', 'Actions',
    ]);

    const vat = screen.getByTestId('rule-11');
    expect(vat).toHaveTextContent('vat');
    expect(vat).toHaveTextContent('Tax ID');
    expect(vat).toHaveTextContent('BE0477472701');
    expect(vat).toHaveTextContent('+1 more');
    expect(vat).not.toHaveTextContent('A-very-long-sample');
    expect(within(vat).getByText('vat_number')).toBeInTheDocument();
    expect(vat).toHaveTextContent('As is');
    const high = within(vat).getByRole('img', { name: '95%, high confidence' });
    expect(high).toHaveAttribute('data-level', 'high');
    expect(vat).toHaveTextContent('the name matches vat_number');
    expect(vat).toHaveTextContent('Rules');
    expect(vat).toHaveTextContent('Waiting');

    const region = screen.getByTestId('rule-12');
    expect(within(region).getByRole('img', { name: '62%, medium confidence' })).toHaveAttribute('data-level', 'medium');
    expect(region).toHaveTextContent('Language model');
    expect(region).toHaveTextContent('Selection (value table)');
    expect(region).toHaveTextContent('No sample yet');

    const comment = screen.getByTestId('rule-13');
    expect(within(comment).getByRole('img', { name: '30%, low confidence' })).toHaveAttribute('data-level', 'low');
    expect(comment).toHaveTextContent('Kept in extras');
    expect(comment).toHaveTextContent('Built-in');
    expect(comment).toHaveTextContent('Approved');
    // An approved rule is not offered for approval again.
    expect(within(comment).queryByRole('button', { name: 'Approve comment' })).toBeNull();
    expect(within(comment).getByRole('button', { name: 'Reject comment' })).toBeInTheDocument();

    expect(screen.getByTestId('version-details')).toHaveTextContent('2 waiting, 1 approved, 0 rejected');
  });

  it('names the engine of a proposal both engines agreed on, in English and in French', async () => {
    await setLanguage('en');
    const agreed = rule({ id: 21, source_field: 'email', target_field: 'email', confidence: 0.97, engine: 'rules+llm' });
    mockApi({ [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail({ rules: [agreed, RULES[1]!], proposed: 2, approved: 0 }) });
    const { unmount } = renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    expect(await screen.findByTestId('rule-21')).toHaveTextContent('Rules + LLM');
    expect(screen.getByTestId('rule-12')).toHaveTextContent('Language model');
    expect(screen.getByTestId('rule-12')).not.toHaveTextContent('Rules + LLM');
    unmount();

    await setLanguage('fr');
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    expect(await screen.findByTestId('rule-21')).toHaveTextContent('Règles + LLM');
    expect(screen.getByTestId('rule-21')).not.toHaveTextContent('rules+llm');
    await setLanguage('en');
  });

  it('filters the rules by status and by a search on the source field or label', async () => {
    await setLanguage('en');
    mockApi({ [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail() });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    await screen.findByTestId('rules');
    const ids = () => screen.queryAllByTestId(/^rule-\d+$/).map((r) => r.dataset.testid);
    expect(ids()).toEqual(['rule-11', 'rule-12', 'rule-13']);
    await userEvent.selectOptions(screen.getByLabelText('Show'), 'proposed');
    expect(ids()).toEqual(['rule-11', 'rule-12']);
    await userEvent.type(screen.getByLabelText('Search source fields'), 'region');
    expect(ids()).toEqual(['rule-12']);
    expect(screen.getByText('1 of 3 rules shown')).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText('Show'), 'approved');
    expect(ids()).toEqual([]);
    expect(screen.getByText('No rule matches these filters.')).toBeInTheDocument();
  });

  it('approves one rule: the decision sent names it, and the row shows the answer', async () => {
    await setLanguage('en');
    const calls = mockApi({
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
      [`POST /api/v1/mappings/versions/${DRAFT_ID}/decisions`]: () =>
        detail({ proposed: 1, approved: 2, rules: RULES.map((r) => (r.id === 11 ? { ...r, status: 'approved' } : r)) }),
    });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    const vat = await screen.findByTestId('rule-11');
    await userEvent.click(within(vat).getByRole('button', { name: 'Approve vat' }));
    await waitFor(() => expect(screen.getByTestId('rule-11')).toHaveAttribute('data-status', 'approved'));
    expect(screen.getByTestId('rule-11')).toHaveTextContent('Approved');
    expect(posts(calls)).toEqual([
      { method: 'POST', path: `/api/v1/mappings/versions/${DRAFT_ID}/decisions`, body: { decisions: [{ rule_id: 11, status: 'approved' }] } },
    ]);
    expect(screen.getByTestId('version-details')).toHaveTextContent('1 waiting, 2 approved, 0 rejected');
  });

  it('rejects one rule, and changes another’s target to a field or to the extras', async () => {
    await setLanguage('en');
    const calls = mockApi({
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
      [`POST /api/v1/mappings/versions/${DRAFT_ID}/decisions`]: () => detail(),
    });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    const region = await screen.findByTestId('rule-12');
    await userEvent.click(within(region).getByRole('button', { name: 'Reject x_studio_region' }));
    await waitFor(() => expect(posts(calls)).toHaveLength(1));

    await userEvent.click(within(region).getByRole('button', { name: 'Change the target of x_studio_region' }));
    const target = within(region).getByLabelText('Target of x_studio_region');
    expect(target).toHaveValue('state');
    // Only the entity's canonical fields, and the extras.
    const options = within(target).getAllByRole('option').map((o) => (o as HTMLOptionElement).value);
    expect(options).toContain('city');
    expect(options).not.toContain('sku');
    await userEvent.selectOptions(target, 'city');
    await userEvent.selectOptions(within(region).getByLabelText('Transform of x_studio_region'), 'as_is');
    await userEvent.click(within(region).getByRole('button', { name: 'Save the change to x_studio_region' }));
    await waitFor(() => expect(posts(calls)).toHaveLength(2));
    await waitFor(() => expect(within(region).queryByLabelText('Target of x_studio_region')).toBeNull());

    await userEvent.click(within(region).getByRole('button', { name: 'Change the target of x_studio_region' }));
    await userEvent.selectOptions(within(region).getByLabelText('Target of x_studio_region'), 'Kept in extras');
    await userEvent.click(within(region).getByRole('button', { name: 'Save the change to x_studio_region' }));
    await waitFor(() => expect(posts(calls)).toHaveLength(3));

    expect(posts(calls).map((c) => c.body)).toEqual([
      { decisions: [{ rule_id: 12, status: 'rejected' }] },
      { decisions: [{ rule_id: 12, status: 'approved', target_field: 'city', transform: 'as_is' }] },
      { decisions: [{ rule_id: 12, status: 'approved', target_field: null }] },
    ]);
  });

  it('shows a refused change on the row it was sent for', async () => {
    await setLanguage('en');
    const calls = mockApi({
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
      [`POST /api/v1/mappings/versions/${DRAFT_ID}/decisions`]: () =>
        jsonResponse(422, {
          error: { code: 'validation_failed', message: 'Invalid', details: { fields: { 'decisions.0.target_field': ['target_taken'] } } },
        }),
    });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    const region = await screen.findByTestId('rule-12');
    await userEvent.click(within(region).getByRole('button', { name: 'Change the target of x_studio_region' }));
    const target = within(region).getByLabelText('Target of x_studio_region');
    await userEvent.selectOptions(target, 'vat_number');
    await userEvent.click(within(region).getByRole('button', { name: 'Save the change to x_studio_region' }));

    expect(await within(region).findByRole('alert')).toHaveTextContent('Another rule already writes this target.');
    expect(target).toHaveAttribute('aria-invalid', 'true');
    expect(target).toHaveAccessibleDescription('Another rule already writes this target.');
    // Still editing, on that row only.
    expect(target).toHaveValue('vat_number');
    expect(within(screen.getByTestId('rule-11')).queryByRole('alert')).toBeNull();
    expect(screen.getAllByRole('alert')).toHaveLength(1);
    expect(posts(calls)[0]?.body).toEqual({ decisions: [{ rule_id: 12, status: 'approved', target_field: 'vat_number' }] });
  });

  it('approves the version after a confirmation, then follows its replay', async () => {
    await setLanguage('en');
    let replayCreated = false;
    const active = () =>
      detail({
        status: 'active',
        proposed: 0,
        approved: 3,
        decided_by: 'superadmin@salescommand.com',
        decided_at: new Date().toISOString(),
        activated_at: new Date().toISOString(),
        replay_run_id: replayCreated ? RUN_ID : null,
      });
    let approved = false;
    const calls = mockApi({
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => {
        if (!approved) return detail();
        replayCreated = true; // The worker created the replay meanwhile.
        return active();
      },
      [`POST /api/v1/mappings/versions/${DRAFT_ID}/approve`]: () => {
        approved = true;
        return active();
      },
      [`GET /api/v1/sync/runs/${RUN_ID}`]: () => ({
        id: RUN_ID, provider: 'odoo', entity: 'res.partner', mode: 'replay', status: 'running',
        progress: { done: 10, estimate: 20 },
        counts: { fetched: 10, unchanged: 0, loaded: 9, quarantined: 1, conflicts: 0, deleted: 0, warned: 0, quarantine_reasons: {} },
        created_at: new Date().toISOString(), timings: {},
      }),
    });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    await userEvent.click(await screen.findByRole('button', { name: 'Approve version' }));
    let dialog = await screen.findByRole('dialog', { name: 'Approve version 4?' });
    expect(dialog).toHaveAccessibleDescription(
      'It becomes the active mapping of res.partner → Organisation: its waiting rules are approved, the version active until now retires, and the raw zone is replayed so that the canonical rows are rebuilt with it. Nothing is read from the source again.',
    );
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(posts(calls)).toEqual([]);

    await userEvent.click(screen.getByRole('button', { name: 'Approve version' }));
    dialog = await screen.findByRole('dialog', { name: 'Approve version 4?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Approve and replay' }));
    expect(await screen.findByText('Version 4 is active: the raw zone is being replayed with it.')).toBeInTheDocument();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(posts(calls).map((c) => c.path)).toEqual([`/api/v1/mappings/versions/${DRAFT_ID}/approve`]);
    expect(screen.getByTestId('version-details')).toHaveTextContent('Active');
    // No rule takes decisions any more.
    expect(screen.queryByRole('button', { name: 'Approve vat' })).toBeNull();
    // The replay is not created yet: the version is read again until it is.
    expect(screen.getByText('The replay is being prepared…')).toBeInTheDocument();
    const panel = await screen.findByTestId('replay-panel', {}, { timeout: 4000 });
    expect(await within(panel).findByRole('progressbar', { name: 'Progress' })).toHaveAttribute('aria-valuenow', '10');
  });

  it('rejects the version after a confirmation', async () => {
    await setLanguage('en');
    const calls = mockApi({
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
      [`POST /api/v1/mappings/versions/${DRAFT_ID}/reject`]: () => detail({ status: 'rejected' }),
    });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    await userEvent.click(await screen.findByRole('button', { name: 'Reject version' }));
    const dialog = await screen.findByRole('dialog', { name: 'Reject version 4?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Reject the version' }));
    expect(await screen.findByText('Version 4 was rejected.')).toBeInTheDocument();
    expect(posts(calls).map((c) => c.path)).toEqual([`/api/v1/mappings/versions/${DRAFT_ID}/reject`]);
    expect(screen.queryByRole('button', { name: 'Approve version' })).toBeNull();
  });

  it('says so when the draft was decided meanwhile', async () => {
    await setLanguage('en');
    mockApi({
      [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail(),
      [`POST /api/v1/mappings/versions/${DRAFT_ID}/decisions`]: () =>
        jsonResponse(409, { error: { code: 'mapping_version_not_draft', message: 'version 4 is active', details: {} } }),
    });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    await userEvent.click(within(await screen.findByTestId('rule-11')).getByRole('button', { name: 'Approve vat' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This version is no longer a draft');
  });

  it('shows a draft without any action to who may only look', async () => {
    await setLanguage('en');
    mockApi({ [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail() });
    renderAt(`/integrations/mappings/versions/${DRAFT_ID}`, VIEWER);
    const table = await screen.findByTestId('rules');
    expect(within(table).queryByRole('columnheader', { name: 'Actions' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Approve|Reject|Change/ })).toBeNull();
  });
});

describe('a retired version', () => {
  it('is re-activated after a confirmation', async () => {
    await setLanguage('en');
    const retired = () => detail({ id: RETIRED_ID, version: 2, status: 'retired', proposed: 0, approved: 3, activated_at: '2026-02-01T08:00:00Z' });
    const calls = mockApi({
      [`GET /api/v1/mappings/versions/${RETIRED_ID}`]: retired,
      [`POST /api/v1/mappings/versions/${RETIRED_ID}/approve`]: () => ({ ...retired(), status: 'active', replay_run_id: RUN_ID, activated_at: new Date().toISOString() }),
      [`GET /api/v1/sync/runs/${RUN_ID}`]: () => ({
        id: RUN_ID, provider: 'odoo', entity: 'res.partner', mode: 'replay', status: 'queued', progress: { done: 0, estimate: null },
        counts: { fetched: 0, unchanged: 0, loaded: 0, quarantined: 0, conflicts: 0, deleted: 0, warned: 0, quarantine_reasons: {} },
        created_at: new Date().toISOString(), timings: {},
      }),
    });
    renderAt(`/integrations/mappings/versions/${RETIRED_ID}`);
    expect(await screen.findByTestId('version-details')).toHaveTextContent('Retired');
    // A retired version takes no decisions.
    expect(screen.queryByRole('button', { name: 'Approve vat' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Re-activate' }));
    const dialog = await screen.findByRole('dialog', { name: 'Re-activate version 2?' });
    expect(dialog).toHaveTextContent('the raw zone is replayed');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Re-activate and replay' }));
    expect(await screen.findByText('Version 2 is active: the raw zone is being replayed with it.')).toBeInTheDocument();
    expect(posts(calls).map((c) => c.path)).toEqual([`/api/v1/mappings/versions/${RETIRED_ID}/approve`]);
    expect(await screen.findByTestId('replay-panel')).toHaveTextContent('Queued');
  });
});

describe('the replay panel', () => {
  it('shows the replay’s progress and counts, read again while it runs', async () => {
    await setLanguage('en');
    let reads = 0;
    mockApi({
      [`GET /api/v1/mappings/versions/${ACTIVE_ID}`]: () =>
        detail({ id: ACTIVE_ID, version: 3, status: 'active', proposed: 0, approved: 3, activated_at: '2026-03-01T08:00:00Z', replay_run_id: RUN_ID }),
      [`GET /api/v1/sync/runs/${RUN_ID}`]: () => {
        reads += 1;
        const done = reads === 1 ? 40 : 160;
        return {
          id: RUN_ID, provider: 'odoo', entity: 'res.partner', mode: 'replay', status: reads === 1 ? 'running' : 'succeeded',
          progress: { done, estimate: 160 },
          counts: { fetched: done, unchanged: 0, loaded: done - 5, quarantined: 3, conflicts: 2, deleted: 0, warned: 0, quarantine_reasons: {} },
          created_at: '2026-03-01T08:00:01Z', timings: {},
        };
      },
    });
    renderAt(`/integrations/mappings/versions/${ACTIVE_ID}`, SYNC_ADMIN);
    const panel = await screen.findByTestId('replay-panel');
    expect(within(panel).getByRole('heading', { name: 'Replay of the raw zone' })).toBeInTheDocument();
    const bar = await within(panel).findByRole('progressbar', { name: 'Progress' });
    expect(bar).toHaveAttribute('aria-valuenow', '40');
    expect(bar).toHaveAttribute('aria-valuemax', '160');
    expect(panel).toHaveTextContent('Running');
    expect(panel).toHaveTextContent('40 of about 160 records');
    expect(within(panel).getByTestId('replay-loaded')).toHaveTextContent('35');
    expect(within(panel).getByTestId('replay-quarantined')).toHaveTextContent('3');
    expect(within(panel).getByTestId('replay-conflicts')).toHaveTextContent('2');
    expect(within(panel).getByRole('link', { name: 'See the sync runs' })).toHaveAttribute('href', '/sync?tab=runs');
    // Polled every 2 s until it ends.
    await waitFor(() => expect(panel).toHaveTextContent('Succeeded'), { timeout: 4000 });
    expect(panel).toHaveTextContent('160 of about 160 records');
    expect(within(panel).getByTestId('replay-loaded')).toHaveTextContent('155');
    const after = reads;
    await new Promise((r) => setTimeout(r, 2500));
    expect(reads).toBe(after);
  });
});

describe('pure helpers', () => {
  it('levels confidence at 90 % and 60 % of the shown percentage', () => {
    expect([0.95, 0.9, 0.895, 0.89, 0.6, 0.59, 0.1].map(confidenceLevel)).toEqual(['high', 'high', 'high', 'medium', 'medium', 'low', 'low']);
  });

  it('searches names and labels without case or accents', () => {
    expect(filterRules(RULES, 'all', 'REGION').map((r) => r.id)).toEqual([12]);
    expect(filterRules(RULES, 'all', 'tax').map((r) => r.id)).toEqual([11]);
    expect(filterRules(RULES, 'approved', '').map((r) => r.id)).toEqual([13]);
  });
});

describe('in French', () => {
  it('translates the review', async () => {
    await setLanguage('fr');
    mockApi({ [`GET /api/v1/mappings/versions/${DRAFT_ID}`]: () => detail() });
    const { unmount } = renderAt(`/integrations/mappings/versions/${DRAFT_ID}`);
    expect(await screen.findByRole('heading', { name: 'res.partner → Organisation, version 4' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Approuver la version' })).toBeInTheDocument();
    const region = screen.getByTestId('rule-12');
    expect(within(region).getByRole('img', { name: /^62\s%, confiance moyenne$/ })).toBeInTheDocument();
    expect(region).toHaveTextContent('Modèle de langage');
    expect(region).toHaveTextContent('En attente');
    expect(within(region).getByRole('button', { name: 'Approuver x_studio_region' })).toBeInTheDocument();
    unmount();
    await setLanguage('en');
  });
});
