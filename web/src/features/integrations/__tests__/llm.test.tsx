import { describe, expect, it, vi } from 'vitest';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import Integrations from '../routes';
import { SchemaForm } from '../components/schema-form';
import type { Provider, ProviderSummary } from '../api';
import { ADMIN, mockApi, renderWithProviders } from '@/test/utils';
import { setLanguage } from '@/lib/i18n';

const HEALTH = { breaker: 'closed', status: null, reason: null, last_check: null };

/** The settings of `llm/openai` as the API describes them (schemars, draft 2020-12). */
const LLM_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'OpenAiSettings',
  type: 'object',
  required: ['base_url', 'model'],
  properties: {
    base_url: { type: 'string', format: 'uri', description: 'The API’s base address, such as https://api.openai.com/v1.' },
    model: { type: 'string', minLength: 1, description: 'The model asked for proposals.' },
    timeout_seconds: { type: 'integer', format: 'uint32', minimum: 1, maximum: 120, default: 20 },
    send_samples: {
      type: 'boolean',
      default: false,
      description: 'Whether sample values from the data lake are sent to the LLM with the field descriptions.',
    },
    fields_per_call: { type: 'integer', format: 'uint32', minimum: 1, maximum: 500, default: 100 },
  },
};

const LABEL = 'OpenAI-compatible LLM (your own key)';

const LLM = {
  kind: 'llm',
  name: 'openai',
  label: LABEL,
  description: 'Proposes field mappings with a language model.',
  configured: false,
  active: false,
  configuration: null,
  schema: LLM_SCHEMA,
  credentials: [{ name: 'api_key', label: 'API key', required: true, set: false }],
  health: HEALTH,
  version: null,
} as unknown as Provider;

describe('the LLM provider’s settings', () => {
  it('renders its settings from the schema, with their defaults, help and the write-only API key', async () => {
    await setLanguage('en');
    renderWithProviders(<SchemaForm provider={LLM} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    const url = screen.getByLabelText('Base URL *');
    expect(url).toHaveValue('');
    expect(url).toHaveAttribute('type', 'url');
    expect(url).toHaveAccessibleDescription('The API’s base address, such as https://api.openai.com/v1.');
    expect(screen.getByLabelText('Model *')).toHaveValue('');
    const timeout = screen.getByLabelText('Timeout (seconds)');
    expect(timeout).toHaveValue(20);
    expect(timeout).toHaveAttribute('min', '1');
    expect(timeout).toHaveAttribute('max', '120');
    const samples = screen.getByLabelText('Send sample values');
    expect(samples).toHaveValue('false');
    expect(samples).toHaveAccessibleDescription(
      'Whether sample values from the data lake are sent to the LLM with the field descriptions.',
    );
    const perCall = screen.getByLabelText('Fields per call');
    expect(perCall).toHaveValue(100);
    expect(perCall).toHaveAttribute('max', '500');
    expect(within(screen.getByTestId('credential-api_key')).getByText('API key: not set')).toBeInTheDocument();
    expect(screen.getByLabelText('Set API key')).toHaveAttribute('type', 'password');
  });

  it('sends the typed settings and the API key', async () => {
    await setLanguage('en');
    const onSubmit = vi.fn();
    renderWithProviders(<SchemaForm provider={LLM} onSubmit={onSubmit} saving={false} error={null} />, { me: ADMIN });
    await userEvent.type(screen.getByLabelText('Base URL *'), 'https://llm.example.com/v1');
    await userEvent.type(screen.getByLabelText('Model *'), 'gpt-4o-mini');
    await userEvent.selectOptions(screen.getByLabelText('Send sample values'), 'true');
    await userEvent.clear(screen.getByLabelText('Fields per call'));
    await userEvent.type(screen.getByLabelText('Fields per call'), '50');
    await userEvent.type(screen.getByLabelText('Set API key'), 'sk-test');
    await userEvent.click(screen.getByRole('button', { name: 'Save settings' }));
    expect(onSubmit).toHaveBeenCalledWith({
      configuration: {
        base_url: 'https://llm.example.com/v1',
        model: 'gpt-4o-mini',
        timeout_seconds: 20,
        send_samples: true,
        fields_per_call: 50,
      },
      credentials: { api_key: 'sk-test' },
    });
  });

  it('names its settings in French', async () => {
    await setLanguage('fr');
    renderWithProviders(<SchemaForm provider={LLM} onSubmit={() => {}} saving={false} error={null} />, { me: ADMIN });
    expect(screen.getByLabelText('URL de base *')).toBeInTheDocument();
    expect(screen.getByLabelText('Modèle *')).toBeInTheDocument();
    expect(screen.getByLabelText('Délai d’attente (secondes)')).toHaveValue(20);
    expect(screen.getByLabelText('Envoyer des exemples de valeurs')).toHaveValue('false');
    expect(screen.getByLabelText('Champs par appel')).toHaveValue(100);
    await setLanguage('en');
  });
});

function summary(kind: string, name: string, label: string, active: boolean): ProviderSummary {
  return { kind, name, label, description: `${label}.`, configured: true, active, health: HEALTH };
}

function providersApi(items: ProviderSummary[]) {
  const state = items.map((p) => ({ ...p }));
  const routes: Record<string, (req: Request) => unknown> = { 'GET /api/v1/providers': () => ({ items: state }) };
  for (const p of state) {
    const base = `/api/v1/providers/${p.kind}/${p.name}`;
    routes[`GET ${base}`] = () => ({
      ...p,
      configuration: p.kind === 'llm' ? { base_url: 'https://llm.example.com/v1', model: 'gpt-4o-mini' } : {},
      schema: p.kind === 'llm' ? LLM_SCHEMA : { type: 'object', properties: {} },
      credentials: p.kind === 'llm' ? [{ name: 'api_key', label: 'API key', required: true, set: true }] : [],
      version: 1,
    });
    routes[`GET ${base}/health`] = () => ({ current: p.health, checks: [] });
    routes[`POST ${base}/deactivate`] = () => {
      const was_active = p.active;
      p.active = false;
      return { was_active };
    };
  }
  return mockApi(routes);
}

describe('the LLM engine on the integrations page', () => {
  it('has its own section after the ERP, and its settings open from it', async () => {
    await setLanguage('en');
    providersApi([
      summary('llm', 'openai', LABEL, false),
      summary('erp', 'odoo', 'Odoo', true),
      summary('auth', 'ldap', 'LDAP directory', false),
    ]);
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await screen.findByTestId('provider-llm-openai');
    expect(screen.getAllByRole('heading', { level: 2 }).map((h) => h.textContent)).toEqual([
      'Sign-in',
      'ERP',
      'LLM engine (field mapping)',
    ]);
    await userEvent.click(screen.getByRole('button', { name: `Configure ${LABEL}` }));
    const panel = await screen.findByRole('dialog', { name: `${LABEL} (LLM engine (field mapping))` });
    expect(await within(panel).findByLabelText('Base URL *')).toHaveValue('https://llm.example.com/v1');
    expect(within(panel).getByLabelText('Model *')).toHaveValue('gpt-4o-mini');
    expect(within(panel).getByLabelText('Send sample values')).toHaveValue('false');
  });

  it('says that deactivating it leaves the rules engine alone, in English and in French', async () => {
    await setLanguage('en');
    providersApi([summary('llm', 'openai', LABEL, true)]);
    const { unmount } = renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    await userEvent.click(await screen.findByRole('button', { name: `Deactivate ${LABEL}` }));
    const dialog = await screen.findByRole('dialog', { name: `Deactivate ${LABEL}?` });
    expect(dialog).toHaveAccessibleDescription('Field mapping proposals come from the rules engine alone.');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    expect(await screen.findByTestId('deactivation-outcome')).toHaveTextContent(
      `${LABEL} is no longer active. Field mapping proposals now come from the rules engine alone.`,
    );
    unmount();

    await setLanguage('fr');
    providersApi([summary('llm', 'openai', LABEL, true)]);
    renderWithProviders(<Integrations />, { me: ADMIN, route: '/integrations' });
    expect(await screen.findByRole('heading', { name: 'Moteur LLM (correspondance des champs)' })).toBeInTheDocument();
    await userEvent.click(await screen.findByRole('button', { name: `Désactiver ${LABEL}` }));
    const fr = await screen.findByRole('dialog', { name: `Désactiver ${LABEL} ?` });
    expect(fr).toHaveAccessibleDescription('Les propositions de correspondance des champs viendront du seul moteur de règles.');
    await userEvent.click(within(fr).getByRole('button', { name: 'Désactiver' }));
    expect(await screen.findByTestId('deactivation-outcome')).toHaveTextContent(
      `${LABEL} n’est plus actif. Les propositions de correspondance des champs ne viennent plus que du moteur de règles.`,
    );
    await setLanguage('en');
  });
});
