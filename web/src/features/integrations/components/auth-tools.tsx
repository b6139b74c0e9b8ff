import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { FormField } from '@/components/form-field';
import { ErrorMessage } from '@/components/page';
import { useDistributorOptions, usePartnerOptions } from '@/lib/partners';
import { useLdapSync, useLdapTestLogin, type LdapTestLoginResult, type Provider } from '../api';

/** The reasons a test login gives (`TestLoginResult.reason`). */
const REASONS = ['invalid_credentials', 'directory_unavailable', 'account_not_mapped', 'organisation_not_found', 'directory_email_missing'];

function PartnerName({ id }: { id: string }) {
  const partners = usePartnerOptions();
  return <>{partners.data?.find((p) => p.id === id)?.name ?? id}</>;
}

function DistributorName({ id }: { id: string }) {
  const distributors = useDistributorOptions();
  return <>{distributors.data?.find((d) => d.id === id)?.name ?? id}</>;
}

/**
 * The organisation a login lands in: its name as the mapping names it (the API answers
 * it), else the name of the partner or distributor it resolved to, else its id.
 */
function Organisation({ result }: { result: LdapTestLoginResult }) {
  if (result.organisation) return <span data-testid="ldap-test-organisation">{result.organisation}</span>;
  if (result.partner_id) return <PartnerName id={result.partner_id} />;
  if (result.distributor_id) return <DistributorName id={result.distributor_id} />;
  return <>—</>;
}

function Term({ children }: { children: React.ReactNode }) {
  return <dt className="font-medium text-slate-800">{children}</dt>;
}

/** What a test login found: whether the login would work (and as what), the entry and its groups. */
export function LdapTestOutcome({ result }: { result: LdapTestLoginResult }) {
  const { t } = useTranslation();
  const reason = result.reason
    ? REASONS.includes(result.reason)
      ? t(`integrations.ldap.reasons.${result.reason}`)
      : t('integrations.ldap.reasons.unknown', { code: result.reason })
    : '';
  const entry = result.entry;
  return (
    <div className="flex flex-col gap-2" data-testid="ldap-test-result">
      <Alert variant={result.ok ? 'success' : 'error'}>
        {result.ok
          ? t('integrations.ldap.loginOk', {
              role: result.role ? t(`roles.${result.role}`, { defaultValue: result.role }) : '—',
              ms: result.latency_ms,
            })
          : t('integrations.ldap.loginRefused', { reason, ms: result.latency_ms })}
      </Alert>
      {result.ok ? (
        <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm" aria-label={t('integrations.ldap.mapped')}>
          <Term>{t('integrations.ldap.role')}</Term>
          <dd>{result.role ? t(`roles.${result.role}`, { defaultValue: result.role }) : '—'}</dd>
          <Term>{t('integrations.ldap.organisation')}</Term>
          <dd>
            <Organisation result={result} />
          </dd>
          <Term>{t('integrations.ldap.email')}</Term>
          <dd className="break-all">{result.email ?? '—'}</dd>
        </dl>
      ) : null}
      {entry ? (
        <section aria-label={t('integrations.ldap.entry')} className="rounded-md border border-slate-200 p-2">
          <h4 className="mb-1 text-sm font-semibold">{t('integrations.ldap.entry')}</h4>
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
            <Term>{t('integrations.ldap.dn')}</Term>
            <dd className="break-all font-mono text-xs">{entry.dn}</dd>
            <Term>{t('integrations.ldap.fullName')}</Term>
            <dd>{entry.full_name ?? '—'}</dd>
            <Term>{t('integrations.ldap.email')}</Term>
            <dd className="break-all">{entry.email ?? '—'}</dd>
            <Term>{t('integrations.ldap.groups', { count: entry.groups.length })}</Term>
            <dd>
              {entry.groups.length ? (
                <ul aria-label={t('integrations.ldap.groups', { count: entry.groups.length })}>
                  {entry.groups.map((g) => (
                    <li key={g} className="break-all font-mono text-xs">
                      {g}
                    </li>
                  ))}
                </ul>
              ) : (
                t('integrations.ldap.noGroups')
              )}
            </dd>
          </dl>
        </section>
      ) : null}
    </div>
  );
}

/**
 * The LDAP directory's own actions: try a login against the directory as saved (what it
 * would give, or why it would fail; nothing is created), and run the directory sync now.
 */
export function LdapTools({ provider }: { provider: Provider }) {
  const { t } = useTranslation();
  const test = useLdapTestLogin();
  const sync = useLdapSync();
  const [login, setLogin] = React.useState('');
  const [password, setPassword] = React.useState('');
  const ready = login.trim() !== '' && password !== '';

  const runTest = (e: React.FormEvent) => {
    e.preventDefault();
    if (!ready) return;
    test.reset();
    test.mutate({ login: login.trim(), password });
  };

  return (
    <>
      <section aria-labelledby="ldap-test-title" className="flex flex-col gap-2">
        <h3 id="ldap-test-title" className="text-sm font-semibold">
          {t('integrations.ldap.testTitle')}
        </h3>
        <p className="text-xs text-slate-700">
          {provider.configured ? t('integrations.ldap.testHint') : t('integrations.ldap.saveFirst')}
        </p>
        <form onSubmit={runTest} noValidate className="grid items-end gap-2 sm:grid-cols-[1fr_1fr_auto]" aria-labelledby="ldap-test-title">
          <FormField id="ldap-test-login" label={t('integrations.ldap.login')}>
            {(a) => <Input {...a} autoComplete="off" value={login} onChange={(e) => setLogin(e.target.value)} />}
          </FormField>
          <FormField id="ldap-test-password" label={t('integrations.ldap.password')}>
            {(a) => (
              <Input {...a} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            )}
          </FormField>
          <Button type="submit" variant="outline" disabled={!provider.configured || !ready || test.isPending}>
            {test.isPending ? t('integrations.testing') : t('integrations.ldap.testSubmit')}
          </Button>
        </form>
        <div aria-live="polite">
          {test.data ? <LdapTestOutcome result={test.data} /> : null}
          <ErrorMessage error={test.error} />
        </div>
      </section>
      <section aria-labelledby="ldap-sync-title" className="flex flex-col gap-2">
        <h3 id="ldap-sync-title" className="text-sm font-semibold">
          {t('integrations.ldap.syncTitle')}
        </h3>
        <p className="text-xs text-slate-700">{provider.active ? t('integrations.ldap.syncHint') : t('integrations.ldap.syncInactive')}</p>
        <div>
          <Button variant="outline" onClick={() => sync.mutate()} disabled={!provider.active || sync.isPending}>
            {sync.isPending ? t('integrations.ldap.syncing') : t('integrations.ldap.sync')}
          </Button>
        </div>
        <div aria-live="polite">
          {sync.data ? (
            <Alert variant="success" data-testid="ldap-sync-result">
              {t('integrations.ldap.synced', { checked: sync.data.checked, updated: sync.data.updated, disabled: sync.data.disabled })}
            </Alert>
          ) : null}
          <ErrorMessage error={sync.error} />
        </div>
      </section>
    </>
  );
}

/** Single sign-on: the redirect URI to register at the identity provider. */
export function OidcRedirectUri({ provider }: { provider: Provider }) {
  const { t } = useTranslation();
  const config = provider.configuration as Record<string, unknown> | null | undefined;
  const base = typeof config?.public_url === 'string' ? config.public_url.replace(/\/+$/, '') : '';
  if (!base) return null;
  return (
    <Alert variant="info" data-testid="oidc-redirect-uri">
      {t('integrations.oidc.redirectUri')} <code className="break-all font-mono text-xs">{`${base}/api/v1/auth/sso/oidc/callback`}</code>
    </Alert>
  );
}
