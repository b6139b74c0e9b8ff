import { currentLanguage } from './i18n';

function locale(): string {
  return currentLanguage() === 'fr' ? 'fr-FR' : 'en-GB';
}

/** Money from an exact decimal string; formatting only, never arithmetic. */
export function money(amount: string | null | undefined, currency = 'EUR'): string {
  if (amount == null || amount === '') return '—';
  const n = Number(amount);
  if (!Number.isFinite(n)) return amount;
  return new Intl.NumberFormat(locale(), { style: 'currency', currency }).format(n);
}

export function dateTime(v: string | null | undefined): string {
  if (!v) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(
    new Date(v),
  );
}

export function date(v: string | null | undefined): string {
  if (!v) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(new Date(v));
}

export function number(v: number | null | undefined): string {
  if (v == null) return '—';
  return new Intl.NumberFormat(locale()).format(v);
}
