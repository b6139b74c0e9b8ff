import * as React from 'react';
import { useFieldArray, useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Plus, Trash2 } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { FormField } from '@/components/form-field';
import { ErrorMessage } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import { useSaveProduct, type Product, type Tier } from '../api';

interface TierRow {
  min_quantity: string;
  max_quantity: string;
  price_per_unit: string;
  period: 'month' | 'year';
}
interface Values {
  name: string;
  type: string;
  unit: string;
  pricing_mode: 'graduated' | 'volume';
  currency: string;
  tiers: TierRow[];
}

const LIST = 'progressive_price_list';

function toRows(tiers: Tier[]): TierRow[] {
  return tiers.map((t) => ({
    min_quantity: String(t.min_quantity),
    max_quantity: t.max_quantity == null ? '' : String(t.max_quantity),
    price_per_unit: t.price_per_unit,
    period: t.period === 'year' ? 'year' : 'month',
  }));
}

function toTiers(rows: TierRow[]): Tier[] {
  return rows.map((r) => ({
    min_quantity: Number(r.min_quantity || 0),
    max_quantity: r.max_quantity.trim() === '' ? null : Number(r.max_quantity),
    price_per_unit: r.price_per_unit.trim(),
    period: r.period,
  }));
}

/**
 * A product with its progressive price list. The tier editor shows the API's checks
 * (`progressive_price_list[1].min_quantity: gap_with_previous_tier`) on the cell they
 * concern.
 */
export function ProductForm({ product, onSaved }: { product?: Product; onSaved: () => void }) {
  const { t } = useTranslation();
  const save = useSaveProduct();
  const [apiErrors, setApiErrors] = React.useState<Record<string, string>>({});
  const [failure, setFailure] = React.useState<unknown>(null);
  const form = useForm<Values>({
    defaultValues: {
      name: product?.name ?? '',
      type: product?.type ?? '',
      unit: product?.unit ?? '',
      pricing_mode: product?.pricing_mode === 'volume' ? 'volume' : 'graduated',
      currency: product?.currency ?? 'EUR',
      tiers: product ? toRows(product.progressive_price_list) : [{ min_quantity: '0', max_quantity: '', price_per_unit: '', period: 'month' }],
    },
  });
  const tiers = useFieldArray({ control: form.control, name: 'tiers' });

  const submit = form.handleSubmit(async (v) => {
    setApiErrors({});
    setFailure(null);
    const body = {
      name: v.name.trim(),
      type: v.type.trim(),
      unit: v.unit.trim(),
      pricing_mode: v.pricing_mode,
      ...(product ? {} : { currency: v.currency.trim() }),
      progressive_price_list: toTiers(v.tiers),
    };
    try {
      await save.mutateAsync({ id: product?.id, body });
      onSaved();
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        const out: Record<string, string> = {};
        for (const [k, codes] of Object.entries(e.fields)) out[k] = codes.map((c) => fieldMessage(t, c)).join(' ');
        setApiErrors(out);
      } else {
        setFailure(e);
      }
    }
  });

  const err = (path: string) => apiErrors[path];
  const tierErr = (i: number, f: keyof TierRow) => err(`${LIST}[${i}].${f}`);
  const known = new Set(['name', 'type', 'unit', 'currency', 'pricing_mode', LIST]);
  const others = Object.entries(apiErrors).filter(([k]) => !known.has(k) && !k.startsWith(`${LIST}[`));

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label={product ? t('products.edit') : t('products.new')}>
      <ErrorMessage error={failure} />
      {Object.keys(apiErrors).length ? <Alert>{t('products.fixErrors')}</Alert> : null}
      {others.map(([k, m]) => (
        <Alert key={k}>{k}: {m}</Alert>
      ))}
      <div className="grid gap-3 sm:grid-cols-2">
        <FormField id="product-name" label={t('products.name')} error={err('name')}>
          {(a) => <Input {...a} {...form.register('name')} />}
        </FormField>
        <FormField id="product-type" label={t('products.type')} error={err('type')}>
          {(a) => <Input {...a} {...form.register('type')} />}
        </FormField>
        <FormField id="product-unit" label={t('products.unit')} error={err('unit')}>
          {(a) => <Input {...a} {...form.register('unit')}  placeholder={t('products.unitPlaceholder')} />}
        </FormField>
        <FormField id="product-mode" label={t('products.mode')} error={err('pricing_mode')}>
          {(a) => (
            <Select {...a} {...form.register('pricing_mode')}>
              <option value="graduated">{t('products.modes.graduated')}</option>
              <option value="volume">{t('products.modes.volume')}</option>
            </Select>
          )}
        </FormField>
        {!product ? (
          <FormField id="product-currency" label={t('products.currency')} error={err('currency')}>
            {(a) => (
              <Select {...a} {...form.register('currency')}>
                {['EUR', 'USD', 'GBP', 'CHF'].map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </Select>
            )}
          </FormField>
        ) : null}
      </div>
      <fieldset className="rounded-md border border-slate-200 p-2">
        <legend className="px-1 text-sm font-semibold">{t('products.tiers')}</legend>
        <p className="mb-2 text-xs text-slate-700">{t('products.tiersHint')}</p>
        {err(LIST) ? <p className="mb-2 text-xs font-medium text-red-700">{err(LIST)}</p> : null}
        <ol className="flex flex-col gap-2">
          {tiers.fields.map((f, i) => (
            <li key={f.id} className="grid grid-cols-2 gap-2 rounded border border-slate-100 p-2 sm:grid-cols-[1fr_1fr_1fr_1fr_auto]" data-testid="tier-row">
              <FormField id={`tier-${i}-min`} label={t('products.tierMin', { n: i + 1 })} error={tierErr(i, 'min_quantity')}>
                {(a) => <Input inputMode="numeric" {...a} {...form.register(`tiers.${i}.min_quantity`)} />}
              </FormField>
              <FormField id={`tier-${i}-max`} label={t('products.tierMax', { n: i + 1 })} error={tierErr(i, 'max_quantity')}>
                {(a) => <Input inputMode="numeric" placeholder={t('products.openEnded')} {...a} {...form.register(`tiers.${i}.max_quantity`)} />}
              </FormField>
              <FormField id={`tier-${i}-price`} label={t('products.tierPrice', { n: i + 1 })} error={tierErr(i, 'price_per_unit')}>
                {(a) => <Input inputMode="decimal" placeholder="12.50" {...a} {...form.register(`tiers.${i}.price_per_unit`)} />}
              </FormField>
              <FormField id={`tier-${i}-period`} label={t('products.tierPeriod', { n: i + 1 })} error={tierErr(i, 'period')}>
                {(a) => (
                  <Select {...a} {...form.register(`tiers.${i}.period`)}>
                    <option value="month">{t('products.periods.month')}</option>
                    <option value="year">{t('products.periods.year')}</option>
                  </Select>
                )}
              </FormField>
              <div className="flex items-end">
                <Button variant="ghost" size="icon" disabled={tiers.fields.length === 1} onClick={() => tiers.remove(i)} aria-label={t('products.removeTier', { n: i + 1 })}>
                  <Trash2 className="h-4 w-4" aria-hidden />
                </Button>
              </div>
            </li>
          ))}
        </ol>
        <Button
          variant="outline"
          size="sm"
          className="mt-2"
          onClick={() => {
            const rows = form.getValues('tiers');
            const last = rows[rows.length - 1];
            tiers.append({ min_quantity: last?.max_quantity ?? '', max_quantity: '', price_per_unit: '', period: last?.period ?? 'month' });
          }}
        >
          <Plus className="h-4 w-4" aria-hidden />
          {t('products.addTier')}
        </Button>
      </fieldset>
      <div className="flex gap-2">
        <Button type="submit" disabled={save.isPending}>{t('common.save')}</Button>
      </div>
    </form>
  );
}
