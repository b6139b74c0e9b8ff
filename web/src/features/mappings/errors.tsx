import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/ui/alert';
import { ErrorMessage } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';

/** A decision error's message (`target_taken`, …), else the shared field message. */
export function decisionMessage(t: TFunction, code: string): string {
  return t(`mappings.decisionErrors.${code}`, { defaultValue: fieldMessage(t, code) });
}

/** A row's refused decision: messages for its target, its transform, and the rest. */
export interface RowErrors {
  target: string[];
  transform: string[];
  other: string[];
}

/**
 * Spreads a 422's `details.fields` over the rules: `decisions.<i>.<part>` belongs to the
 * rule of the i-th decision sent, `rules.<rule id>.<part>` to that rule; anything else is
 * answered apart.
 */
export function decisionErrors(
  t: TFunction,
  err: unknown,
  sent: readonly number[],
): { rows: Record<number, RowErrors>; rest: string[] } | null {
  if (!(err instanceof ApiError) || Object.keys(err.fields).length === 0) return null;
  const rows: Record<number, RowErrors> = {};
  const rest: string[] = [];
  for (const [key, codes] of Object.entries(err.fields)) {
    const messages = codes.map((c) => decisionMessage(t, c));
    const m = /^(decisions|rules)\.(\d+)\.?(.*)$/.exec(key);
    const ruleId = m ? (m[1] === 'decisions' ? sent[Number(m[2])] : Number(m[2])) : undefined;
    if (ruleId === undefined) {
      rest.push(...messages);
      continue;
    }
    const row = (rows[ruleId] ??= { target: [], transform: [], other: [] });
    const part = m?.[3] ?? '';
    if (part === 'target_field' || part === 'target') row.target.push(...messages);
    else if (part === 'transform') row.transform.push(...messages);
    else row.other.push(...messages);
  }
  return { rows, rest };
}

/** An error of the mapping API in words: the provider unset or failing, a version already decided. */
export function MappingError({ error, provider }: { error: unknown; provider?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  const name = provider ? provider.charAt(0).toUpperCase() + provider.slice(1) : t('mappings.object');
  if (error instanceof ApiError) {
    if (error.status === 409 && error.code === 'provider_not_configured')
      return <Alert>{t('mappings.errors.providerNotConfigured', { provider: name })}</Alert>;
    if (error.status === 502) return <Alert>{t('mappings.errors.providerFailed', { provider: name })}</Alert>;
    if (error.status === 409 && error.code === 'mapping_version_not_draft') return <Alert>{t('mappings.errors.notDraft')}</Alert>;
  }
  return <ErrorMessage error={error} />;
}
