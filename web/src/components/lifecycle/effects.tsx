import { useTranslation } from 'react-i18next';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { ErrorMessage, Loading } from '@/components/page';
import { dateTime } from '@/lib/format';
import { useEffects, type Effect, type Kind } from './api';

function outcome(e: Effect): { key: string; variant: 'green' | 'amber' | 'red' | 'blue' | 'default' } {
  if (e.status === 'done') return { key: 'done', variant: 'green' };
  if (e.status === 'dead') return { key: 'dead', variant: 'red' };
  if (e.status === 'discarded') return { key: 'discarded', variant: 'default' };
  if (e.status === 'pending' && e.attempts > 0) return { key: 'retrying', variant: 'amber' };
  return { key: 'pending', variant: 'blue' };
}

/** What each transition asked of other systems, and how it went. */
export function Effects({ kind, id, version }: { kind: Kind; id: string; version?: number }) {
  const { t } = useTranslation();
  const q = useEffects(kind, id, version);
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('effects.title')}</CardTitle>
      </CardHeader>
      <CardContent>
        {q.isPending ? <Loading /> : null}
        <ErrorMessage error={q.error} />
        {q.data && q.data.items.length === 0 ? <p className="text-sm text-slate-700">{t('effects.none')}</p> : null}
        <ul className="flex flex-col gap-2" aria-live="polite">
          {q.data?.items.map((e) => {
            const o = outcome(e);
            return (
              <li key={e.id} className="text-sm" data-testid="effect">
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-medium">{t(`effects.queue.${e.queue}`, { defaultValue: e.queue })}</span>
                  <Badge variant={o.variant}>{t(`effects.status.${o.key}`)}</Badge>
                  <span className="text-xs text-slate-700">
                    {t('effects.attempts', { attempts: e.attempts, max: e.max_attempts })} · {dateTime(e.finished_at ?? e.created_at)}
                  </span>
                </div>
                {e.last_error ? <code className="block whitespace-pre-wrap break-words text-xs text-red-800">{e.last_error}</code> : null}
              </li>
            );
          })}
        </ul>
      </CardContent>
    </Card>
  );
}
