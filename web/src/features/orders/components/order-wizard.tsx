import * as React from 'react';
import { useFieldArray, useForm, useWatch } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { Plus, Trash2 } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { ErrorMessage, Loading, PageHeader } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import { number } from '@/lib/format';
import { useCatalogue, useCreateOrder, useDurations, useQuotePreview, useReplaceOrderLines } from '../api';
import type { BasketLine, Order } from '../types';
import { QuotePreview } from './quote-preview';

const lineSchema = z.object({
  product_id: z.string().min(1, 'required'),
  duration_months: z.string().min(1, 'required'),
  quantity: z.string().trim().regex(/^[1-9][0-9]{0,6}$/, 'out_of_range'),
  billing_period: z.enum(['month', 'year']),
});
const schema = z.object({ lines: z.array(lineSchema).min(1) });
type Values = z.infer<typeof schema>;

function basket(lines: Values['lines']): BasketLine[] | null {
  const ok = lines.every((l) => lineSchema.safeParse(l).success);
  if (!ok || lines.length === 0) return null;
  return lines.map((l) => ({
    product_id: l.product_id,
    duration_months: Number(l.duration_months),
    quantity: Number(l.quantity),
    billing_period: l.billing_period,
  }));
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = React.useState(value);
  React.useEffect(() => {
    const h = setTimeout(() => setV(value), ms);
    return () => clearTimeout(h);
  }, [value, ms]);
  return v;
}

/** Products, duration and quantity per line, priced live by the API; then review and create.
 * Given an order still `created`, edits its lines instead (one step, saved in place). */
export function OrderWizard({ order }: { order?: Order } = {}) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const products = useCatalogue();
  const durations = useDurations();
  const create = useCreateOrder();
  const replace = useReplaceOrderLines();
  const editing = order !== undefined;
  const [step, setStep] = React.useState<1 | 2>(1);
  const [failure, setFailure] = React.useState<unknown>(null);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: {
      lines:
        order && order.lines.length > 0
          ? order.lines.map((l) => ({
              product_id: l.product_id,
              duration_months: String(l.duration_months),
              quantity: String(l.quantity),
              billing_period: l.billing_period === 'year' ? ('year' as const) : ('month' as const),
            }))
          : [{ product_id: '', duration_months: '', quantity: '1', billing_period: 'month' }],
    },
    mode: 'onChange',
  });
  const { fields, append, remove } = useFieldArray({ control: form.control, name: 'lines' });
  const watched = useWatch({ control: form.control, name: 'lines' });
  const current = React.useMemo(() => basket(watched ?? []), [watched]);
  const debounced = useDebounced(current, 300);
  const preview = useQuotePreview(debounced ?? [], debounced !== null);

  // Default duration once the durations are known.
  React.useEffect(() => {
    const first = durations.data?.find((d) => d.is_active);
    if (!first) return;
    form.getValues('lines').forEach((l, i) => {
      if (!l.duration_months) form.setValue(`lines.${i}.duration_months`, String(first.months));
    });
  }, [durations.data, form, fields.length]);

  // The API's field errors (`lines[0].quantity`) under the field they concern.
  const apiFieldErrors = React.useMemo(() => {
    const e = preview.error ?? create.error ?? replace.error;
    const out: Record<string, string> = {};
    if (e instanceof ApiError) {
      for (const [k, codes] of Object.entries(e.fields)) out[k] = codes.map((c) => fieldMessage(t, c)).join(' ');
    }
    return out;
  }, [preview.error, create.error, replace.error, t]);

  const lineError = (i: number, f: keyof Values['lines'][number]) => {
    const local = form.formState.errors.lines?.[i]?.[f]?.message;
    if (local && (form.formState.touchedFields.lines?.[i]?.[f] || form.formState.isSubmitted)) {
      return t(`fieldErrors.${local}`);
    }
    return apiFieldErrors[`lines[${i}].${f}`];
  };

  const submit = form.handleSubmit(async (v) => {
    if (order) {
      setFailure(null);
      const lines = basket(v.lines);
      if (!lines) return;
      try {
        await replace.mutateAsync({ order, lines });
        void navigate(`/orders/${order.id}`);
      } catch (e) {
        setFailure(e);
      }
      return;
    }
    if (step === 1) {
      setStep(2);
      return;
    }
    setFailure(null);
    const lines = basket(v.lines);
    if (!lines) return;
    try {
      const order = await create.mutateAsync(lines);
      void navigate(`/orders/${order.id}`);
    } catch (e) {
      setFailure(e);
      if (e instanceof ApiError && Object.keys(e.fields).length) setStep(1);
    }
  });

  if (products.isPending || durations.isPending) return <Loading />;
  if (products.error || durations.error) return <ErrorMessage error={products.error ?? durations.error} />;
  const activeDurations = (durations.data ?? []).filter((d) => d.is_active);
  const productOptions = (products.data ?? []).filter((p) => p.is_active);
  const previewReady = preview.data && current !== null && !preview.isFetching && debounced === current;

  return (
    <div>
      <PageHeader title={order ? t('orders.editLinesOf', { reference: order.reference }) : t('orders.new')}>
        {editing ? null : <ol className="mt-1 flex gap-3 text-sm" aria-label={t('orders.steps')}>
          <li aria-current={step === 1 ? 'step' : undefined} className={step === 1 ? 'font-semibold text-blue-800' : 'text-slate-700'}>
            1. {t('orders.stepLines')}
          </li>
          <li aria-current={step === 2 ? 'step' : undefined} className={step === 2 ? 'font-semibold text-blue-800' : 'text-slate-700'}>
            2. {t('orders.stepReview')}
          </li>
        </ol>}
      </PageHeader>
      <form
        onSubmit={submit}
        noValidate
        className="grid gap-4 lg:grid-cols-5"
        aria-label={order ? t('orders.editLinesOf', { reference: order.reference }) : t('orders.new')}
      >
        <div className="flex flex-col gap-3 lg:col-span-3">
          <ErrorMessage error={failure} />
          {step === 1 ? (
            <>
              {fields.map((field, i) => (
                <Card key={field.id}>
                  <CardHeader className="flex-row items-center justify-between">
                    <CardTitle>{t('orders.line', { n: i + 1 })}</CardTitle>
                    {fields.length > 1 ? (
                      <Button variant="ghost" size="sm" onClick={() => remove(i)} aria-label={t('orders.removeLine', { n: i + 1 })}>
                        <Trash2 className="h-4 w-4" aria-hidden />
                      </Button>
                    ) : null}
                  </CardHeader>
                  <CardContent className="grid gap-3 sm:grid-cols-2">
                    <FormField id={`line-${i}-product`} label={t('orders.product')} error={lineError(i, 'product_id')}>
                      {(a) => (
                        <Select {...a} {...form.register(`lines.${i}.product_id`)}>
                          <option value="">{t('orders.chooseProduct')}</option>
                          {productOptions.map((p) => (
                            <option key={p.id} value={p.id}>
                              {p.name} ({p.unit})
                            </option>
                          ))}
                        </Select>
                      )}
                    </FormField>
                    <FormField id={`line-${i}-duration`} label={t('orders.duration')} error={lineError(i, 'duration_months')}>
                      {(a) => (
                        <Select {...a} {...form.register(`lines.${i}.duration_months`)}>
                          {activeDurations.map((d) => (
                            <option key={d.id} value={String(d.months)}>
                              {t('orders.months', { count: d.months })}
                              {Number(d.discount_percentage) > 0 ? ` (−${number(Number(d.discount_percentage))} %)` : ''}
                            </option>
                          ))}
                        </Select>
                      )}
                    </FormField>
                    <FormField id={`line-${i}-quantity`} label={t('orders.quantity')} error={lineError(i, 'quantity')}>
                      {(a) => <Input inputMode="numeric" {...a} {...form.register(`lines.${i}.quantity`)} />}
                    </FormField>
                    <FormField id={`line-${i}-period`} label={t('orders.billingPeriod')} error={lineError(i, 'billing_period')}>
                      {(a) => (
                        <Select {...a} {...form.register(`lines.${i}.billing_period`)}>
                          <option value="month">{t('orders.period.month')}</option>
                          <option value="year">{t('orders.period.year')}</option>
                        </Select>
                      )}
                    </FormField>
                  </CardContent>
                </Card>
              ))}
              <div className="flex flex-wrap gap-2">
                <Button
                  variant="outline"
                  onClick={() =>
                    append({
                      product_id: '',
                      duration_months: String(activeDurations[0]?.months ?? ''),
                      quantity: '1',
                      billing_period: 'month',
                    })
                  }
                >
                  <Plus className="h-4 w-4" aria-hidden />
                  {t('orders.addLine')}
                </Button>
                {editing ? (
                  <>
                    <Button type="button" variant="outline" onClick={() => void navigate(`/orders/${order.id}`)}>
                      {t('common.cancel')}
                    </Button>
                    <Button type="submit" disabled={!previewReady || replace.isPending}>
                      {t('orders.saveLines')}
                    </Button>
                  </>
                ) : (
                  <Button type="submit" disabled={!previewReady}>
                    {t('orders.next')}
                  </Button>
                )}
              </div>
            </>
          ) : (
            <Card>
              <CardHeader>
                <CardTitle>{t('orders.stepReview')}</CardTitle>
              </CardHeader>
              <CardContent className="flex flex-col gap-3">
                <p className="text-sm">{t('orders.reviewHint')}</p>
                <div className="flex gap-2">
                  <Button variant="outline" onClick={() => setStep(1)}>
                    {t('common.back')}
                  </Button>
                  <Button type="submit" disabled={create.isPending || !previewReady}>
                    {t('orders.create')}
                  </Button>
                </div>
              </CardContent>
            </Card>
          )}
        </div>
        <aside className="lg:col-span-2" aria-labelledby="preview-title">
          <Card>
            <CardHeader>
              <CardTitle id="preview-title">{t('orders.preview')}</CardTitle>
            </CardHeader>
            <CardContent aria-live="polite" aria-busy={preview.isFetching}>
              {current === null ? <p className="text-sm text-slate-700">{t('orders.previewHint')}</p> : null}
              {current !== null && preview.error && !(preview.error instanceof ApiError && Object.keys(preview.error.fields).length) ? (
                <ErrorMessage error={preview.error} />
              ) : null}
              {current !== null && preview.error instanceof ApiError && Object.keys(preview.error.fields).length ? (
                <Alert>{preview.error.message}</Alert>
              ) : null}
              {current !== null && preview.data && !preview.error ? <QuotePreview quote={preview.data} /> : null}
              {current !== null && preview.isFetching ? (
                <p role="status" className="mt-2 text-xs text-slate-700">{t('orders.pricing')}</p>
              ) : null}
            </CardContent>
          </Card>
        </aside>
      </form>
    </div>
  );
}
