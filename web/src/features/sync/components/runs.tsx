import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Select } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { FormField } from '@/components/form-field';
import { Empty, ErrorMessage, LoadMore, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { dateTime, number } from '@/lib/format';
import { SOURCES, useRun, useRuns, useStartRun, type Run } from '../api';

export function runVariant(status: string) {
  return status === 'succeeded' ? 'green' : status === 'failed' ? 'red' : status === 'partial' ? 'amber' : 'blue';
}

function ProgressBar({ run }: { run: Run }) {
  const { t } = useTranslation();
  const { done, estimate } = run.progress;
  const pct = estimate ? Math.min(100, Math.round((done / estimate) * 100)) : undefined;
  return (
    <div>
      <div
        role="progressbar"
        aria-label={t('sync.progress')}
        aria-valuemin={0}
        aria-valuemax={estimate ?? undefined}
        aria-valuenow={done}
        className="h-2 w-full overflow-hidden rounded bg-slate-200"
      >
        <div className="h-full bg-blue-700 transition-all" style={{ width: `${pct ?? (run.status === 'running' ? 50 : 100)}%` }} />
      </div>
      <p className="mt-1 text-xs text-slate-700">
        {estimate ? t('sync.doneOf', { done: number(done), estimate: number(estimate) }) : t('sync.done', { done: number(done) })}
      </p>
    </div>
  );
}

function LiveRun({ id }: { id: string }) {
  const { t } = useTranslation();
  const run = useRun(id);
  if (!run.data) return <Loading />;
  const r = run.data;
  return (
    <section aria-live="polite" className="rounded-md border border-slate-200 p-3" data-testid="live-run">
      <p className="mb-2 text-sm">
        {r.provider} / {r.entity} ({t(`sync.mode.${r.mode}`, { defaultValue: r.mode })}) —{' '}
        <Badge variant={runVariant(r.status)}>{t(`sync.status.${r.status}`, { defaultValue: r.status })}</Badge>
      </p>
      <ProgressBar run={r} />
      <dl className="mt-2 grid grid-cols-3 gap-1 text-xs sm:grid-cols-6">
        {(['fetched', 'unchanged', 'loaded', 'quarantined', 'conflicts', 'warned'] as const).map((k) => (
          <div key={k}>
            <dt className="text-slate-700">{t(`sync.counts.${k}`)}</dt>
            <dd className="font-medium">{number(r.counts[k])}</dd>
          </div>
        ))}
      </dl>
      {r.error ? <Alert className="mt-2">{r.error}</Alert> : null}
    </section>
  );
}

export function Runs() {
  const { t } = useTranslation();
  const can = useCan();
  const runs = useRuns();
  const runItems = runs.data?.pages.flatMap((p) => p.items) ?? [];
  const start = useStartRun();
  const [provider, setProvider] = React.useState('odoo');
  const [entity, setEntity] = React.useState('organization');
  const [mode, setMode] = React.useState<'incremental' | 'full'>('incremental');
  const [live, setLive] = React.useState<string | null>(null);
  const entities = SOURCES[provider] ?? [];

  return (
    <div className="flex flex-col gap-4">
      {can('job:manage') ? (
        <Card>
          <CardHeader>
            <CardTitle>{t('sync.start')}</CardTitle>
          </CardHeader>
          <CardContent className="flex flex-col gap-3">
            <form
              className="grid gap-3 sm:grid-cols-4 sm:items-end"
              onSubmit={(e) => {
                e.preventDefault();
                start.mutate({ provider, entity, mode }, { onSuccess: (r) => setLive(r.id) });
              }}
            >
              <FormField id="sync-provider" label={t('sync.provider')}>
                {(a) => (
                  <Select {...a} value={provider} onChange={(e) => { setProvider(e.target.value); setEntity(SOURCES[e.target.value]?.[0] ?? ''); }}>
                    {Object.keys(SOURCES).map((p) => (
                      <option key={p} value={p}>{p}</option>
                    ))}
                  </Select>
                )}
              </FormField>
              <FormField id="sync-entity" label={t('sync.entity')}>
                {(a) => (
                  <Select {...a} value={entity} onChange={(e) => setEntity(e.target.value)}>
                    {entities.map((en) => (
                      <option key={en} value={en}>{t(`sync.entities.${en}`)}</option>
                    ))}
                  </Select>
                )}
              </FormField>
              <FormField id="sync-mode" label={t('sync.modeLabel')}>
                {(a) => (
                  <Select {...a} value={mode} onChange={(e) => setMode(e.target.value as 'full' | 'incremental')}>
                    <option value="incremental">{t('sync.mode.incremental')}</option>
                    <option value="full">{t('sync.mode.full')}</option>
                  </Select>
                )}
              </FormField>
              <Button type="submit" disabled={start.isPending}>{t('sync.startButton')}</Button>
            </form>
            <ErrorMessage error={start.error} />
            {live ? <LiveRun id={live} /> : null}
          </CardContent>
        </Card>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>{t('sync.history')}</CardTitle>
        </CardHeader>
        <CardContent>
          {runs.isPending ? <Loading /> : null}
          <ErrorMessage error={runs.error} />
          {runs.data && runItems.length === 0 ? <Empty>{t('sync.noRuns')}</Empty> : null}
          {runItems.length > 0 ? (
            <Table>
              <THead>
                <TR>
                  <TH>{t('sync.run')}</TH>
                  <TH>{t('common.state')}</TH>
                  <TH className="text-right">{t('sync.counts.fetched')}</TH>
                  <TH className="text-right">{t('sync.counts.loaded')}</TH>
                  <TH className="text-right">{t('sync.counts.quarantined')}</TH>
                  <TH className="text-right">{t('sync.counts.conflicts')}</TH>
                </TR>
              </THead>
              <TBody>
                {runItems.map((r) => (
                  <TR key={r.id}>
                    <TD>
                      <button type="button" className="text-left font-medium text-blue-800 underline-offset-2 hover:underline" onClick={() => setLive(r.id)}>
                        {r.provider} / {r.entity}
                      </button>
                      <span className="block text-xs text-slate-700">
                        {t(`sync.mode.${r.mode}`, { defaultValue: r.mode })} · {dateTime(r.created_at)}
                      </span>
                    </TD>
                    <TD>
                      <Badge variant={runVariant(r.status)}>{t(`sync.status.${r.status}`, { defaultValue: r.status })}</Badge>
                      {r.error ? <span className="block max-w-xs truncate text-xs text-red-700" title={r.error}>{r.error}</span> : null}
                    </TD>
                    <TD className="text-right">{number(r.counts.fetched)}</TD>
                    <TD className="text-right">{number(r.counts.loaded)}</TD>
                    <TD className="text-right">{number(r.counts.quarantined)}</TD>
                    <TD className="text-right">{number(r.counts.conflicts)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          ) : null}
          <LoadMore hasNextPage={runs.hasNextPage} isFetchingNextPage={runs.isFetchingNextPage} fetchNextPage={runs.fetchNextPage} />
        </CardContent>
      </Card>
    </div>
  );
}
