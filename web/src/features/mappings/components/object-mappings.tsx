import { Link, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { dateTime, number } from '@/lib/format';
import { useAutoMap, useMappingVersions, type Version } from '../api';
import { MappingError } from '../errors';
import { versionPath } from '../targets';
import { useEntityLabel, VersionStatus } from './labels';
import { ReplayPanel } from './replay-panel';

function ActiveSummary({ active }: { active: Version | null | undefined }) {
  const { t } = useTranslation();
  if (!active) return <p className="text-sm text-slate-700">{t('mappings.active.none')}</p>;
  return (
    <div className="flex flex-col gap-3" data-testid="active-version">
      <p className="text-sm">
        {t('mappings.active.summary', {
          version: active.version,
          origin: t(`mappings.origin.${active.origin}`, { defaultValue: active.origin }),
          at: dateTime(active.activated_at),
          who: active.decided_by ?? active.created_by ?? t('mappings.system'),
        })}{' '}
        <Link to={versionPath(active.id)} className="text-blue-800 underline underline-offset-2">
          {t('mappings.active.open')}
        </Link>
      </p>
      {active.replay_run_id ? <ReplayPanel runId={active.replay_run_id} /> : null}
    </div>
  );
}

/** An object's mapping: the active version, the history, and a new proposal on request. */
export function ObjectMappings({ provider, object, entity }: { provider: string; object: string; entity: string | null }) {
  const { t } = useTranslation();
  const can = useCan();
  const navigate = useNavigate();
  const entityLabel = useEntityLabel();
  const versions = useMappingVersions(provider, object, entity);
  const autoMap = useAutoMap(provider, object, entity);
  const list = versions.data?.versions ?? [];
  const shownEntity = entity ?? list[0]?.entity ?? '';

  const propose = () =>
    autoMap.mutate(undefined, {
      onSuccess: (v) => navigate(versionPath(v.id), { state: { proposed: true } }),
    });

  return (
    <div className="flex flex-col gap-4">
      <Card>
        <CardHeader className="flex-row flex-wrap items-center justify-between gap-2">
          <CardTitle>{t('mappings.objectTitle', { object, entity: shownEntity ? entityLabel(shownEntity) : '—' })}</CardTitle>
          {can('provider:manage') ? (
            <Button onClick={propose} disabled={autoMap.isPending}>
              {autoMap.isPending ? t('mappings.proposing') : t('mappings.propose')}
            </Button>
          ) : null}
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          <div aria-live="polite">
            <MappingError error={autoMap.error} provider={provider} />
          </div>
          <section aria-labelledby="active-version-title">
            <h3 id="active-version-title" className="mb-1 text-sm font-semibold">{t('mappings.active.title')}</h3>
            {versions.isPending ? <Loading /> : null}
            <ErrorMessage error={versions.error} />
            {versions.data ? <ActiveSummary active={versions.data.active} /> : null}
          </section>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('mappings.history.title')}</CardTitle>
        </CardHeader>
        <CardContent>
          {versions.data && list.length === 0 ? <Empty>{t('mappings.history.empty')}</Empty> : null}
          {list.length > 0 ? (
            <Table data-testid="version-history">
              <THead>
                <TR>
                  <TH>{t('mappings.history.version')}</TH>
                  <TH>{t('mappings.history.status')}</TH>
                  <TH>{t('mappings.history.origin')}</TH>
                  <TH>{t('mappings.history.created')}</TH>
                  <TH className="text-right">{t('mappings.history.waiting')}</TH>
                  <TH className="text-right">{t('mappings.history.approved')}</TH>
                  <TH className="text-right">{t('mappings.history.rejected')}</TH>
                </TR>
              </THead>
              <TBody>
                {list.map((v) => (
                  <TR key={v.id} data-testid={`version-${v.version}`}>
                    <TD>
                      <Link to={versionPath(v.id)} className="font-medium text-blue-800 underline-offset-2 hover:underline">
                        {t('mappings.history.versionN', { version: v.version })}
                      </Link>
                    </TD>
                    <TD>
                      <VersionStatus status={v.status} />
                    </TD>
                    <TD>{t(`mappings.origin.${v.origin}`, { defaultValue: v.origin })}</TD>
                    <TD>
                      {dateTime(v.created_at)}
                      <span className="block text-xs text-slate-700">{t('mappings.history.by', { who: v.created_by ?? t('mappings.system') })}</span>
                    </TD>
                    <TD className="text-right">{number(v.proposed)}</TD>
                    <TD className="text-right">{number(v.approved)}</TD>
                    <TD className="text-right">{number(v.rejected)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          ) : null}
        </CardContent>
      </Card>
    </div>
  );
}
