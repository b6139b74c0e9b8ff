import * as React from 'react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { Button, buttonVariants } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { FormField } from '@/components/form-field';
import { ErrorMessage, Loading, PageHeader } from '@/components/page';
import { useCan } from '@/lib/auth';
import { dateTime } from '@/lib/format';
import {
  useActivate,
  useConfigure,
  useHealth,
  useOdooFields,
  useProvider,
  useProviders,
  useTestConnection,
  type ProviderSummary,
  type TestResult,
} from './api';
import { SchemaForm } from './components/schema-form';
import { PipedriveConnect } from './components/pipedrive-connect';
import { LdapTools, OidcRedirectUri } from './components/auth-tools';
import { DeactivateProvider, DeactivationNotice, type DeactivationOutcome } from './components/deactivate';

const KINDS = ['auth', 'crm', 'billing', 'erp', 'llm'];

function healthVariant(status: string | null | undefined) {
  return status === 'healthy' ? 'green' : status === 'degraded' ? 'amber' : status === 'offline' ? 'red' : 'default';
}

function TestOutcome({ result }: { result: TestResult }) {
  const { t } = useTranslation();
  return (
    <Alert variant={result.ok ? 'success' : 'error'} data-testid="test-result">
      {result.ok ? t('integrations.testOk', { ms: result.latency_ms }) : t('integrations.testFailed', { ms: result.latency_ms })}{' '}
      ({t(`integrations.health.${result.status}`, { defaultValue: result.status })}){result.reason ? ` — ${result.reason}` : ''}
    </Alert>
  );
}

function OdooFields() {
  const { t } = useTranslation();
  const [model, setModel] = React.useState('res.partner');
  const [asked, setAsked] = React.useState<string | null>(null);
  const q = useOdooFields(asked);
  return (
    <div className="flex flex-col gap-2">
      <form className="flex items-end gap-2" onSubmit={(e) => { e.preventDefault(); setAsked(model.trim()); }}>
        <FormField id="odoo-model" label={t('integrations.odooModel')}>
          {(a) => <Input {...a} value={model} onChange={(e) => setModel(e.target.value)} />}
        </FormField>
        <Button type="submit" variant="outline">{t('integrations.showFields')}</Button>
      </form>
      <ErrorMessage error={q.error} />
      {q.isFetching ? <Loading /> : null}
      {q.data && q.data.fields.length === 0 ? <p className="text-sm text-slate-700">{t('integrations.noFields')}</p> : null}
      {q.data && q.data.fields.length > 0 ? (
        <Table>
          <THead>
            <TR>
              <TH>{t('integrations.label')}</TH>
              <TH>{t('integrations.field')}</TH>
              <TH>{t('integrations.type')}</TH>
              <TH>{t('integrations.samples')}</TH>
            </TR>
          </THead>
          <TBody>
            {q.data.fields.map((f) => (
              <TR key={f.name}>
                <TD>{f.label ?? '—'}</TD>
                <TD className="font-mono text-xs">{f.name}</TD>
                <TD>{f.type ?? '—'}{f.relation ? ` → ${f.relation}` : ''}</TD>
                <TD className="max-w-64 text-xs">
                  {f.samples.length > 0 ? (
                    <span className="block truncate" title={f.samples.join(', ')}>{f.samples.slice(0, 3).join(', ')}</span>
                  ) : (
                    '—'
                  )}
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
    </div>
  );
}

function ProviderPanel({ summary }: { summary: ProviderSummary }) {
  const { t } = useTranslation();
  const can = useCan();
  const { kind, name } = summary;
  const provider = useProvider(kind, name);
  const configure = useConfigure(kind, name);
  const activate = useActivate(kind, name);
  const health = useHealth(kind, name);
  const testConnection = useTestConnection(kind, name);
  const [test, setTest] = React.useState<TestResult | null>(null);
  const [saved, setSaved] = React.useState(false);
  const [deactivated, setDeactivated] = React.useState<DeactivationOutcome | null>(null);
  const testing = testConnection.isPending;
  const testError = testConnection.error;

  const runTest = () => {
    setTest(null);
    testConnection.mutate(undefined, {
      onSuccess: (r) => {
        setTest(r);
        void health.refetch();
      },
    });
  };

  if (provider.isPending) return <Loading />;
  if (provider.error) return <ErrorMessage error={provider.error} />;
  const p = provider.data;
  return (
    <div className="flex flex-col gap-4">
      <p className="text-sm text-slate-700">{p.description}</p>
      {kind === 'crm' && name === 'pipedrive' ? <PipedriveConnect provider={p} /> : null}
      {kind === 'auth' && name === 'oidc' ? <OidcRedirectUri provider={p} /> : null}
      {saved ? <Alert variant="success">{t('integrations.saved')}</Alert> : null}
      {can('provider:manage') ? (
        <SchemaForm
          key={p.version ?? 0}
          provider={p}
          saving={configure.isPending}
          error={configure.error}
          onSubmit={(body) => {
            setSaved(false);
            configure.mutate(body, { onSuccess: () => setSaved(true) });
          }}
        />
      ) : null}
      <div className="flex flex-wrap gap-2">
        <Button variant="outline" onClick={runTest} disabled={testing || !p.configured}>
          {testing ? t('integrations.testing') : t('integrations.test')}
        </Button>
        {can('provider:manage') && !p.active ? (
          <Button
            onClick={() =>
              activate.mutate(undefined, {
                onSuccess: (a) => {
                  setDeactivated(null);
                  setTest(a.test);
                },
              })
            }
            disabled={activate.isPending || !p.configured}
          >
            {t('integrations.activate')}
          </Button>
        ) : null}
        {can('provider:manage') && p.active ? (
          <DeactivateProvider
            kind={kind}
            name={name}
            label={p.label}
            onDone={(o) => {
              setTest(null);
              setDeactivated(o);
            }}
          />
        ) : null}
      </div>
      <div aria-live="polite">
        {deactivated ? <DeactivationNotice outcome={deactivated} /> : null}
        {test ? <TestOutcome result={test} /> : null}
        <ErrorMessage error={testError ?? activate.error} />
      </div>
      {kind === 'auth' && name === 'ldap' && can('provider:manage') ? <LdapTools provider={p} /> : null}
      <section aria-labelledby={`health-${kind}-${name}`}>
        <h3 id={`health-${kind}-${name}`} className="mb-1 text-sm font-semibold">{t('integrations.healthTitle')}</h3>
        {health.data ? (
          <>
            <p className="text-sm">
              <Badge variant={healthVariant(health.data.current.status)}>
                {health.data.current.status ? t(`integrations.health.${health.data.current.status}`) : t('integrations.neverChecked')}
              </Badge>{' '}
              {t('integrations.breaker', { state: health.data.current.breaker })}
              {health.data.current.last_check ? ` · ${dateTime(health.data.current.last_check)}` : ''}
            </p>
            {health.data.checks.length > 0 ? (
              <Table className="mt-1">
                <THead>
                  <TR>
                    <TH>{t('integrations.checkedAt')}</TH>
                    <TH>{t('common.state')}</TH>
                    <TH className="text-right">{t('integrations.latency')}</TH>
                    <TH>{t('integrations.reason')}</TH>
                  </TR>
                </THead>
                <TBody>
                  {health.data.checks.slice(0, 5).map((c, i) => (
                    <TR key={i}>
                      <TD>{dateTime(c.checked_at)}</TD>
                      <TD>{t(`integrations.health.${c.status}`, { defaultValue: c.status })}</TD>
                      <TD className="text-right">{c.latency_ms} ms</TD>
                      <TD className="text-xs">{c.reason ?? '—'}</TD>
                    </TR>
                  ))}
                </TBody>
              </Table>
            ) : null}
          </>
        ) : (
          <ErrorMessage error={health.error} />
        )}
      </section>
      {name === 'odoo' && p.configured ? (
        <section aria-labelledby="odoo-fields-title">
          <h3 id="odoo-fields-title" className="mb-1 text-sm font-semibold">{t('integrations.odooFields')}</h3>
          <OdooFields />
        </section>
      ) : null}
    </div>
  );
}

type OAuthOutcome = { ok: true } | { ok: false; reason: string };

const OAUTH_REASONS = ['oauth_state_invalid', 'oauth_exchange_failed', 'user_denied', 'access_denied', 'missing_code', 'internal'];

/**
 * Where Pipedrive's OAuth callback lands: `?oauth=connected` or `?oauth=failed&reason=…`.
 * The outcome is kept on the page and the parameters dropped from the address (a reload
 * or a bookmark does not show it again).
 */
function useOAuthOutcome(): [OAuthOutcome | null, () => void] {
  const [params, setParams] = useSearchParams();
  const qc = useQueryClient();
  const [outcome, setOutcome] = React.useState<OAuthOutcome | null>(null);
  const oauth = params.get('oauth');
  React.useEffect(() => {
    if (oauth === null) return;
    const reason = params.get('reason') ?? '';
    setOutcome(oauth === 'connected' ? { ok: true } : { ok: false, reason });
    if (oauth === 'connected') void qc.invalidateQueries({ queryKey: ['providers'] });
    const next = new URLSearchParams(params);
    next.delete('oauth');
    next.delete('reason');
    setParams(next, { replace: true });
  }, [oauth, params, setParams, qc]);
  return [outcome, () => setOutcome(null)];
}

function OAuthBanner({ outcome, onDismiss }: { outcome: OAuthOutcome; onDismiss: () => void }) {
  const { t } = useTranslation();
  const reason = outcome.ok
    ? ''
    : OAUTH_REASONS.includes(outcome.reason)
      ? t(`integrations.oauth.reasons.${outcome.reason}`)
      : t('integrations.oauth.reasons.unknown', { code: outcome.reason || '—' });
  return (
    <Alert variant={outcome.ok ? 'success' : 'error'} className="flex flex-wrap items-center justify-between gap-2" data-testid="oauth-outcome">
      <span>{outcome.ok ? t('integrations.oauth.connected') : t('integrations.oauth.failed', { reason })}</span>
      <Button size="sm" variant="outline" onClick={onDismiss}>
        {t('integrations.oauth.dismiss')}
      </Button>
    </Alert>
  );
}

export default function Integrations() {
  const { t } = useTranslation();
  const providers = useProviders();
  const [open, setOpen] = React.useState<ProviderSummary | null>(null);
  const [oauth, dismissOAuth] = useOAuthOutcome();
  const [deactivated, setDeactivated] = React.useState<DeactivationOutcome | null>(null);
  const can = useCan();
  const items = providers.data?.items ?? [];
  const kinds = [...KINDS, ...new Set(items.map((p) => p.kind).filter((k) => !KINDS.includes(k)))];
  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={t('integrations.title')}
        actions={
          <Link to="/integrations/mappings" className={buttonVariants({ variant: 'outline' })}>
            {t('integrations.mappingsLink')}
          </Link>
        }
      />
      {oauth ? <OAuthBanner outcome={oauth} onDismiss={dismissOAuth} /> : null}
      <div aria-live="polite">
        {deactivated ? <DeactivationNotice outcome={deactivated} onDismiss={() => setDeactivated(null)} /> : null}
      </div>
      <ErrorMessage error={providers.error} />
      {providers.isPending ? <Loading /> : null}
      {kinds.map((kind) => {
        const ofKind = items.filter((p) => p.kind === kind);
        if (ofKind.length === 0) return null;
        return (
          <Card key={kind}>
            <CardHeader>
              <CardTitle>{t(`integrations.kinds.${kind}`, { defaultValue: kind })}</CardTitle>
            </CardHeader>
            <CardContent>
              <ul className="grid gap-2 md:grid-cols-2">
                {ofKind.map((p) => (
                  <li key={p.name} className="flex flex-col gap-1 rounded-md border border-slate-200 p-3" data-testid={`provider-${kind}-${p.name}`}>
                    <div className="flex flex-wrap items-center gap-2">
                      <span className="font-semibold">{p.label}</span>
                      {p.active ? <Badge variant="blue">{t('integrations.active')}</Badge> : null}
                      <Badge variant={p.configured ? 'green' : 'default'}>{p.configured ? t('integrations.configured') : t('integrations.notConfigured')}</Badge>
                      <Badge variant={healthVariant(p.health.status)}>
                        {p.health.status ? t(`integrations.health.${p.health.status}`) : t('integrations.neverChecked')}
                      </Badge>
                    </div>
                    <p className="text-xs text-slate-700">{p.description}</p>
                    <div className="flex flex-wrap gap-2">
                      <Button size="sm" variant="outline" onClick={() => setOpen(p)} aria-label={t('integrations.openNamed', { name: p.label })}>
                        {t('integrations.open')}
                      </Button>
                      {p.active && can('provider:manage') ? (
                        <DeactivateProvider size="sm" kind={p.kind} name={p.name} label={p.label} onDone={setDeactivated} />
                      ) : null}
                    </div>
                  </li>
                ))}
              </ul>
            </CardContent>
          </Card>
        );
      })}
      <Dialog open={open !== null} onOpenChange={(o) => !o && setOpen(null)}>
        {open ? (
          <DialogContent className="max-w-3xl" title={`${open.label} (${t(`integrations.kinds.${open.kind}`, { defaultValue: open.kind })})`}>
            <ProviderPanel summary={open} />
          </DialogContent>
        ) : null}
      </Dialog>
    </div>
  );
}
