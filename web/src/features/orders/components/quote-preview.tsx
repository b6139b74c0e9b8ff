import { useTranslation } from 'react-i18next';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { money, number } from '@/lib/format';
import type { Quote } from '../types';

function range(min: number, max: number | null | undefined): string {
  return max == null ? `${min + 1}+` : `${min + 1}–${max}`;
}

/** The pricing engine's working, tier by tier, then the totals. */
export function QuotePreview({ quote }: { quote: Quote }) {
  const { t } = useTranslation();
  const c = quote.currency;
  return (
    <div className="flex flex-col gap-4" data-testid="quote-preview">
      {quote.lines.map((line, i) => (
        <section key={i} aria-labelledby={`quote-line-${i}`} className="rounded-md border border-slate-200 p-2">
          <h3 id={`quote-line-${i}`} className="text-sm font-semibold">
            {line.product_name} — {line.quantity} {line.unit} × {t('orders.months', { count: line.duration_months })}
          </h3>
          <p className="text-xs text-slate-700">
            {t(`orders.pricingMode.${line.pricing_mode}`, { defaultValue: line.pricing_mode })}
          </p>
          <Table className="mt-1">
            <caption className="sr-only">{t('orders.tiersOf', { product: line.product_name })}</caption>
            <THead>
              <TR>
                <TH>{t('orders.tier')}</TH>
                <TH className="text-right">{t('orders.units')}</TH>
                <TH className="text-right">{t('orders.unitPrice')}</TH>
                <TH className="text-right">{t('orders.amount')}</TH>
              </TR>
            </THead>
            <TBody>
              {line.tiers.map((tier, j) => (
                <TR key={j} data-testid="quote-tier">
                  <TD>{range(tier.min_quantity, tier.max_quantity)}</TD>
                  <TD className="text-right">{tier.units}</TD>
                  <TD className="text-right">
                    {money(tier.price_per_unit, c)} / {t(`orders.period.${tier.period}`, { defaultValue: tier.period })}
                  </TD>
                  <TD className="text-right">{money(tier.amount, c)}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
          <dl className="mt-1 grid grid-cols-2 gap-x-2 text-sm">
            <dt className="text-slate-700">{t('orders.subtotal')}</dt>
            <dd className="text-right">{money(line.subtotal, c)}</dd>
            <dt className="text-slate-700">{t('orders.discountPct', { pct: number(Number(line.discount_percentage)) })}</dt>
            <dd className="text-right">−{money(line.discount, c)}</dd>
            <dt className="font-medium">{t('orders.lineTotal')}</dt>
            <dd className="text-right font-medium">{line.total_label}</dd>
          </dl>
        </section>
      ))}
      <dl className="grid grid-cols-2 gap-x-2 border-t border-slate-300 pt-2 text-sm">
        <dt className="text-slate-700">{t('orders.subtotal')}</dt>
        <dd className="text-right">{money(quote.subtotal, c)}</dd>
        <dt className="text-slate-700">{t('orders.discount')}</dt>
        <dd className="text-right">−{money(quote.discount, c)}</dd>
        <dt className="text-base font-semibold">{t('common.total')}</dt>
        <dd className="text-right text-base font-semibold" data-testid="preview-total" data-amount={quote.total}>
          {quote.total_label}
        </dd>
      </dl>
    </div>
  );
}
