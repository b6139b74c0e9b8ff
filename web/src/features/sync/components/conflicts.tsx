import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Empty, ErrorMessage, LoadMore, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { dateTime } from '@/lib/format';
import { useConflicts, useResolveConflict, type Conflict } from '../api';

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The local and the source's versions side by side, differing fields marked. */
function Versions({ c }: { c: Conflict }) {
  const { t } = useTranslation();
  const fields = [...new Set([...Object.keys(c.local ?? {}), ...Object.keys(c.remote ?? {})])].sort();
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-sm">
        <caption className="sr-only">{t('sync.versionsOf', { id: c.external_id })}</caption>
        <thead>
          <tr className="border-b border-slate-200 text-left text-xs uppercase text-slate-700">
            <th scope="col" className="px-2 py-1">{t('sync.field')}</th>
            <th scope="col" className="px-2 py-1">{t('sync.local')}</th>
            <th scope="col" className="px-2 py-1">{t('sync.source')}</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((f) => {
            const differs = show(c.local?.[f]) !== show(c.remote?.[f]);
            return (
              <tr key={f} className={differs ? 'bg-amber-50' : undefined} data-differs={differs || undefined}>
                <th scope="row" className="px-2 py-1 text-left font-medium">{f}{differs ? <span className="sr-only"> ({t('sync.differs')})</span> : null}</th>
                <td className="break-all px-2 py-1">{show(c.local?.[f])}</td>
                <td className="break-all px-2 py-1">{show(c.remote?.[f])}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function Conflicts() {
  const { t } = useTranslation();
  const can = useCan();
  const [resolution, setResolution] = React.useState('pending');
  const q = useConflicts(resolution);
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  const resolve = useResolveConflict();
  const [message, setMessage] = React.useState<{ ok: boolean; text: string } | null>(null);
  const act = (c: Conflict, keep: 'source' | 'local') => {
    setMessage(null);
    resolve.mutate(
      { id: c.id, keep },
      {
        onSuccess: () => setMessage({ ok: true, text: t(`sync.resolved.${keep}`, { id: c.external_id }) }),
        onError: (e) => setMessage({ ok: false, text: e instanceof ApiError ? e.message : t('errors.network') }),
      },
    );
  };
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-col gap-1 sm:w-56">
        <Label htmlFor="conflict-resolution">{t('common.state')}</Label>
        <Select id="conflict-resolution" value={resolution} onChange={(e) => setResolution(e.target.value)}>
          {['pending', 'source_applied', 'local_kept'].map((r) => (
            <option key={r} value={r}>{t(`sync.resolution.${r}`)}</option>
          ))}
        </Select>
      </div>
      <div aria-live="polite">{message ? <Alert variant={message.ok ? 'success' : 'error'}>{message.text}</Alert> : null}</div>
      <ErrorMessage error={q.error} />
      {q.isPending ? <Loading /> : null}
      {q.data && items.length === 0 ? <Empty>{t('sync.noConflicts')}</Empty> : null}
      {items.map((c) => (
        <Card key={c.id} data-testid="conflict">
          <CardHeader>
            <CardTitle>
              {c.provider} / {t(`sync.entities.${c.entity}`, { defaultValue: c.entity })} {c.external_id}
            </CardTitle>
            <p className="text-xs text-slate-700">
              {t('sync.policy', { policy: c.policy })} · {dateTime(c.created_at)}
            </p>
          </CardHeader>
          <CardContent className="flex flex-col gap-3">
            <Versions c={c} />
            {c.resolution === 'pending' && can('job:manage') ? (
              <div className="flex flex-wrap gap-2">
                <Button disabled={resolve.isPending} onClick={() => act(c, 'source')}>{t('sync.keepSource')}</Button>
                <Button variant="outline" disabled={resolve.isPending} onClick={() => act(c, 'local')}>{t('sync.keepLocal')}</Button>
              </div>
            ) : (
              <p className="text-sm">{t(`sync.resolution.${c.resolution}`)} {c.resolved_at ? `· ${dateTime(c.resolved_at)}` : ''}</p>
            )}
          </CardContent>
        </Card>
      ))}
      <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
    </div>
  );
}
