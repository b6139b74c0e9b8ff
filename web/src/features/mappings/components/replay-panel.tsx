import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { ErrorMessage, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { number } from '@/lib/format';
import { useReplayRun } from '../api';

function runVariant(status: string) {
  return status === 'succeeded' ? 'green' : status === 'failed' ? 'red' : status === 'partial' ? 'amber' : 'blue';
}

const COUNTS = ['loaded', 'quarantined', 'conflicts'] as const;

/** The progress of the replay a version's activation started, read every 2 s until it ends. */
export function ReplayPanel({ runId }: { runId: string }) {
  const { t } = useTranslation();
  const can = useCan();
  const run = useReplayRun(runId);
  const r = run.data;
  const done = r?.progress.done ?? 0;
  const estimate = r?.progress.estimate ?? null;
  const pct = r ? (estimate ? Math.min(100, Math.round((done / estimate) * 100)) : r.status === 'running' ? 50 : r.status === 'queued' ? 0 : 100) : 0;
  return (
    <section aria-labelledby={`replay-${runId}`} className="rounded-md border border-slate-200 p-3" data-testid="replay-panel">
      <h3 id={`replay-${runId}`} className="mb-2 text-sm font-semibold">{t('mappings.replay.title')}</h3>
      {run.isPending ? <Loading /> : null}
      <ErrorMessage error={run.error} />
      {r ? (
        <div aria-live="polite" className="flex flex-col gap-2">
          <p className="text-sm">
            <Badge variant={runVariant(r.status)}>{t(`sync.status.${r.status}`, { defaultValue: r.status })}</Badge>
          </p>
          <div
            role="progressbar"
            aria-label={t('sync.progress')}
            aria-valuemin={0}
            aria-valuemax={estimate ?? undefined}
            aria-valuenow={done}
            className="h-2 w-full overflow-hidden rounded bg-slate-200"
          >
            <div className="h-full bg-blue-700 transition-all" style={{ width: `${pct}%` }} />
          </div>
          <p className="text-xs text-slate-700">
            {estimate ? t('sync.doneOf', { done: number(done), estimate: number(estimate) }) : t('sync.done', { done: number(done) })}
          </p>
          <dl className="grid grid-cols-3 gap-1 text-xs">
            {COUNTS.map((k) => (
              <div key={k}>
                <dt className="text-slate-700">{t(`sync.counts.${k}`)}</dt>
                <dd className="font-medium" data-testid={`replay-${k}`}>{number(r.counts[k])}</dd>
              </div>
            ))}
          </dl>
          {r.error ? <Alert>{r.error}</Alert> : null}
          {can('job:view') ? (
            <Link to="/sync?tab=runs" className="text-sm text-blue-800 underline underline-offset-2">
              {t('mappings.replay.runs')}
            </Link>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
