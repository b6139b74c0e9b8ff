import { useTranslation } from 'react-i18next';
import { Badge } from '@/components/ui/badge';
import { cn } from '@/lib/utils';
import { percent } from '@/lib/format';

export function versionVariant(status: string) {
  return status === 'active' ? 'green' : status === 'draft' ? 'blue' : status === 'rejected' ? 'red' : 'default';
}

export function VersionStatus({ status }: { status: string }) {
  const { t } = useTranslation();
  return <Badge variant={versionVariant(status)}>{t(`mappings.versionStatus.${status}`, { defaultValue: status })}</Badge>;
}

export function RuleStatus({ status }: { status: string }) {
  const { t } = useTranslation();
  const variant = status === 'approved' ? 'green' : status === 'rejected' ? 'red' : 'amber';
  return <Badge variant={variant}>{t(`mappings.ruleStatus.${status}`, { defaultValue: status })}</Badge>;
}

export function EngineBadge({ engine }: { engine: string }) {
  const { t } = useTranslation();
  const variant = engine === 'person' ? 'blue' : 'default';
  return <Badge variant={variant}>{t(`mappings.engine.${engine}`, { defaultValue: engine })}</Badge>;
}

export type ConfidenceLevel = 'high' | 'medium' | 'low';

/** ≥ 90 %: high, ≥ 60 %: medium, else low (on the percentage as shown). */
export function confidenceLevel(confidence: number): ConfidenceLevel {
  const pct = Math.round(confidence * 100);
  return pct >= 90 ? 'high' : pct >= 60 ? 'medium' : 'low';
}

const LEVEL_COLOURS: Record<ConfidenceLevel, { bar: string; text: string }> = {
  high: { bar: 'bg-green-600', text: 'text-green-900' },
  medium: { bar: 'bg-amber-500', text: 'text-amber-900' },
  low: { bar: 'bg-red-600', text: 'text-red-900' },
};

/** A proposal's confidence: the percentage, a bar coloured by level, and the level in words. */
export function Confidence({ value }: { value: number }) {
  const { t } = useTranslation();
  const level = confidenceLevel(value);
  const pct = percent(value);
  const width = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <span
      className="flex min-w-16 flex-col gap-1"
      data-level={level}
      aria-label={t('mappings.confidence.label', { pct, level: t(`mappings.confidence.${level}`) })}
      role="img"
    >
      <span className={cn('text-sm font-semibold', LEVEL_COLOURS[level].text)} aria-hidden>
        {pct}
      </span>
      <span className="block h-1.5 w-full overflow-hidden rounded bg-slate-200" aria-hidden>
        <span className={cn('block h-full', LEVEL_COLOURS[level].bar)} style={{ width: `${width}%` }} />
      </span>
    </span>
  );
}

/** "Organisation" for `organization`. */
export function useEntityLabel() {
  const { t } = useTranslation();
  return (entity: string) => t(`mappings.entities.${entity}`, { defaultValue: entity });
}
