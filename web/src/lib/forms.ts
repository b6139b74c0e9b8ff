import type { FieldValues, Path, UseFormSetError } from 'react-hook-form';
import type { TFunction } from 'i18next';
import { ApiError } from './errors';

/** The message for one API field-error code (`required`, `too_long`, …). */
export function fieldMessage(t: TFunction, code: string): string {
  return t(`fieldErrors.${code}`, { defaultValue: t('fieldErrors.unknown', { code }) });
}

/**
 * Puts a 422's `details.fields` on the form's fields; answers the messages of fields
 * the form does not show (for a banner) and whether the error was a validation error.
 */
export function applyApiErrors<T extends FieldValues>(
  t: TFunction,
  err: unknown,
  setError: UseFormSetError<T>,
  known: readonly string[],
): { handled: boolean; others: string[] } {
  if (!(err instanceof ApiError) || Object.keys(err.fields).length === 0) {
    return { handled: false, others: [] };
  }
  const others: string[] = [];
  for (const [field, codes] of Object.entries(err.fields)) {
    const message = codes.map((c) => fieldMessage(t, c)).join(' ');
    if (known.includes(field)) {
      setError(field as Path<T>, { type: 'server', message });
    } else {
      others.push(`${field}: ${message}`);
    }
  }
  return { handled: true, others };
}
