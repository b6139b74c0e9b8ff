import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, LoadMore, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { dateTime } from '@/lib/format';
import { useQuarantine, useRetryQuarantine, type Reason } from '../api';

export function Quarantine() {
  const { t } = useTranslation();
  const can = useCan();
  const [status, setStatus] = React.useState('open');
  const q = useQuarantine(status);
  const retry = useRetryQuarantine();
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-col gap-1 sm:w-48">
        <Label htmlFor="quarantine-status">{t('common.state')}</Label>
        <Select id="quarantine-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="open">{t('sync.quarantineStatus.open')}</option>
          <option value="resolved">{t('sync.quarantineStatus.resolved')}</option>
          <option value="all">{t('common.all')}</option>
        </Select>
      </div>
      <div aria-live="polite">
        {retry.data ? (
          <Alert variant={retry.data.quarantined > 0 ? 'warning' : 'success'}>
            {t('sync.retried', { retried: retry.data.retried, loaded: retry.data.loaded, quarantined: retry.data.quarantined })}
          </Alert>
        ) : null}
        <ErrorMessage error={retry.error} />
      </div>
      <ErrorMessage error={q.error} />
      {q.isPending ? <Loading /> : null}
      {q.data && items.length === 0 ? <Empty>{t('sync.noQuarantine')}</Empty> : null}
      {items.length > 0 ? (
        <Table>
          <THead>
            <TR>
              <TH>{t('sync.record')}</TH>
              <TH>{t('sync.stage')}</TH>
              <TH>{t('sync.reasons')}</TH>
              <TH>{t('common.actions')}</TH>
            </TR>
          </THead>
          <TBody>
            {items.map((it) => (
              <TR key={it.id}>
                <TD>
                  <span className="font-medium">{it.provider} / {it.source}</span>
                  <span className="block text-xs text-slate-700">{it.external_id ?? '—'} · {dateTime(it.updated_at)}</span>
                  <span className="block text-xs text-slate-700">{t('sync.attempts', { count: it.attempts })}</span>
                </TD>
                <TD>
                  <Badge>{it.stage}</Badge>
                </TD>
                <TD>
                  <ul className="text-xs">
                    {(it.reasons as Reason[]).map((r, i) => (
                      <li key={i}>
                        <span className="font-medium">{r.field ?? '—'}</span>: {r.code}
                        {r.detail ? <span className="text-slate-700"> ({r.detail})</span> : null}
                      </li>
                    ))}
                  </ul>
                </TD>
                <TD>
                  {can('job:manage') && !it.resolution ? (
                    <Button size="sm" variant="outline" disabled={retry.isPending} onClick={() => retry.mutate([it.id])} aria-label={t('sync.retryRecord', { id: it.external_id ?? it.id })}>
                      {t('sync.retry')}
                    </Button>
                  ) : it.resolution ? (
                    <Badge variant="green">{t('sync.resolvedAs', { resolution: it.resolution })}</Badge>
                  ) : null}
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
      <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
    </div>
  );
}
