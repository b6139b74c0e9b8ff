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

/** A calendar day (`YYYY-MM-DD`) as written: no time zone moves it to the day before. */
export function day(v: string | null | undefined): string {
  if (!v) return '—';
  const d = new Date(`${v.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return v;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

/** A share in [0, 1] as a whole percentage (`92 %` in French). */
export function percent(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(v);
}
