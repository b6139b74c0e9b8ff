import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, LoadMore, Loading, PageHeader } from '@/components/page';
import { useCan } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { dateTime, number } from '@/lib/format';
import { COUNTS, useFailures, useJobAction, useQueues } from './api';

export default function Jobs() {
  const { t } = useTranslation();
  const can = useCan();
  const queues = useQueues();
  const [queue, setQueue] = React.useState<string>('');
  const failures = useFailures(queue || undefined);
  const action = useJobAction();
  const [message, setMessage] = React.useState<{ ok: boolean; text: string } | null>(null);
  const items = failures.data?.pages.flatMap((p) => p.items) ?? [];

  const act = (id: number, kind: 'retry' | 'discard') => {
    setMessage(null);
    action.mutate(
      { id, action: kind },
      {
        onSuccess: () => setMessage({ ok: true, text: t(`jobs.done.${kind}`, { id }) }),
        onError: (e) => setMessage({ ok: false, text: e instanceof ApiError ? e.message : t('errors.network') }),
      },
    );
  };

  return (
    <div className="flex flex-col gap-4">
      <PageHeader title={t('jobs.title')} />
      <Card>
        <CardHeader>
          <CardTitle>{t('jobs.queues')}</CardTitle>
        </CardHeader>
        <CardContent>
          {queues.isPending ? <Loading /> : null}
          <ErrorMessage error={queues.error} />
          {queues.data ? (
            <Table>
              <THead>
                <TR>
                  <TH>{t('jobs.queue')}</TH>
                  {COUNTS.map((c) => (
                    <TH key={c} className="text-right">
                      {t(`jobs.state.${c}`)}
                    </TH>
                  ))}
                </TR>
              </THead>
              <TBody>
                {queues.data.map((q) => (
                  <TR key={q.queue} data-testid={`queue-${q.queue}`}>
                    <TD className="font-medium">{q.queue}</TD>
                    {COUNTS.map((c) => (
                      <TD key={c} className={`text-right ${c === 'dead' && q.dead > 0 ? 'font-semibold text-red-700' : ''}`}>
                        {number(q[c])}
                      </TD>
                    ))}
                  </TR>
                ))}
              </TBody>
            </Table>
          ) : null}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('jobs.failures')}</CardTitle>
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          <div className="flex flex-col gap-1 sm:w-64">
            <Label htmlFor="jobs-queue">{t('jobs.queue')}</Label>
            <Select id="jobs-queue" value={queue} onChange={(e) => setQueue(e.target.value)}>
              <option value="">{t('common.all')}</option>
              {(queues.data ?? []).map((q) => (
                <option key={q.queue} value={q.queue}>
                  {q.queue}
                </option>
              ))}
            </Select>
          </div>
          <div aria-live="polite">{message ? <Alert variant={message.ok ? 'success' : 'error'}>{message.text}</Alert> : null}</div>
          <ErrorMessage error={failures.error} />
          {failures.isPending ? <Loading /> : null}
          {failures.data && items.length === 0 ? <Empty>{t('jobs.noFailures')}</Empty> : null}
          {items.length > 0 ? (
            <Table>
              <THead>
                <TR>
                  <TH>{t('jobs.job')}</TH>
                  <TH>{t('common.state')}</TH>
                  <TH>{t('jobs.attempts')}</TH>
                  <TH>{t('jobs.lastError')}</TH>
                  <TH>{t('common.actions')}</TH>
                </TR>
              </THead>
              <TBody>
                {items.map((j) => (
                  <TR key={j.id} data-testid="failed-job">
                    <TD>
                      <span className="font-medium">#{j.id}</span>
                      <span className="block text-xs text-slate-700">{j.queue}</span>
                      <span className="block text-xs text-slate-700">{dateTime(j.created_at)}</span>
                    </TD>
                    <TD>
                      <Badge variant={j.status === 'dead' ? 'red' : j.status === 'discarded' ? 'default' : 'amber'}>
                        {t(`jobs.status.${j.status === 'pending' && j.attempts > 0 ? 'failed' : j.status}`, { defaultValue: j.status })}
                      </Badge>
                    </TD>
                    <TD>
                      {j.attempts} / {j.max_attempts}
                    </TD>
                    <TD className="max-w-md">
                      <code className="block whitespace-pre-wrap break-words text-xs">{j.last_error ?? '—'}</code>
                    </TD>
                    <TD>
                      {can('job:manage') ? (
                        <div className="flex flex-wrap gap-1">
                          {j.status === 'dead' || j.status === 'discarded' ? (
                            <Button size="sm" disabled={action.isPending} onClick={() => act(j.id, 'retry')} aria-label={t('jobs.retryJob', { id: j.id })}>
                              {t('jobs.retry')}
                            </Button>
                          ) : null}
                          {j.status !== 'discarded' ? (
                            <Button size="sm" variant="outline" disabled={action.isPending} onClick={() => act(j.id, 'discard')} aria-label={t('jobs.discardJob', { id: j.id })}>
                              {t('jobs.discard')}
                            </Button>
                          ) : null}
                        </div>
                      ) : null}
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          ) : null}
          <LoadMore hasNextPage={failures.hasNextPage} isFetchingNextPage={failures.isFetchingNextPage} fetchNextPage={failures.fetchNextPage} />
        </CardContent>
      </Card>
    </div>
  );
}
