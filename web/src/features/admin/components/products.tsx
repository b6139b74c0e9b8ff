import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Plus } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { FormField } from '@/components/form-field';
import { Empty, ErrorMessage, LoadMore, Loading, PageHeader } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import { dateTime, money, number } from '@/lib/format';
import {
  useAdminDurations,
  useCreateDuration,
  usePriceHistory,
  useProducts,
  useSetProductActive,
  useUpdateDuration,
  type Product,
  type Tier,
} from '../api';
import { ProductForm } from './product-form';

function tierText(tier: Tier, currency: string, t: (k: string) => string): string {
  const range = tier.max_quantity == null ? `${tier.min_quantity + 1}+` : `${tier.min_quantity + 1}–${tier.max_quantity}`;
  return `${range}: ${money(tier.price_per_unit, currency)} / ${t(`products.periods.${tier.period}`)}`;
}

/** A history row's tiers: `{ tiers: [...] }` (or a bare list in older rows). */
function historyTiers(list: unknown): Tier[] {
  if (Array.isArray(list)) return list as Tier[];
  const tiers = (list as { tiers?: unknown } | null)?.tiers;
  return Array.isArray(tiers) ? (tiers as Tier[]) : [];
}

function PriceHistory({ product }: { product: Product }) {
  const { t } = useTranslation();
  const h = usePriceHistory(product.id);
  if (h.isPending) return <Loading />;
  if (h.error) return <ErrorMessage error={h.error} />;
  return (
    <ol className="flex flex-col gap-2 text-sm">
      {h.data.map((row, i) => (
        <li key={i} className="rounded border border-slate-200 p-2">
          <p className="font-medium">{dateTime(row.changed_at)} — {t(`products.modes.${row.pricing_mode}`)}</p>
          <ul className="text-xs">
            {historyTiers(row.price_list).map((tier, j) => (
              <li key={j}>{tierText(tier, product.currency, t)}</li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}

function Durations() {
  const { t } = useTranslation();
  const q = useAdminDurations();
  const create = useCreateDuration();
  const update = useUpdateDuration();
  const [months, setMonths] = React.useState('');
  const [discount, setDiscount] = React.useState('0');
  const fields = create.error instanceof ApiError ? create.error.fields : {};
  const msg = (f: string) => fields[f]?.map((c) => fieldMessage(t, c)).join(' ');
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('durations.title')}</CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-3">
        <ErrorMessage error={q.error ?? update.error} />
        {q.data ? (
          <Table>
            <THead>
              <TR>
                <TH>{t('durations.months')}</TH>
                <TH>{t('durations.discount')}</TH>
                <TH>{t('common.state')}</TH>
                <TH>{t('common.actions')}</TH>
              </TR>
            </THead>
            <TBody>
              {q.data.map((d) => (
                <TR key={d.id}>
                  <TD>{d.months}</TD>
                  <TD>{number(Number(d.discount_percentage))} %</TD>
                  <TD>{d.is_active ? <Badge variant="green">{t('admin.active')}</Badge> : <Badge>{t('admin.inactive')}</Badge>}</TD>
                  <TD>
                    <Button size="sm" variant="outline" onClick={() => update.mutate({ id: d.id, body: { is_active: !d.is_active } })}>
                      {d.is_active ? t('durations.retire') : t('durations.offer')}
                    </Button>
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        ) : null}
        <form
          className="grid gap-2 sm:grid-cols-3 sm:items-end"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ months: Number(months), discount_percentage: discount.trim() }, { onSuccess: () => setMonths('') });
          }}
        >
          <FormField id="duration-months" label={t('durations.months')} error={msg('months')}>
            {(a) => <Input inputMode="numeric" {...a} value={months} onChange={(e) => setMonths(e.target.value)} />}
          </FormField>
          <FormField id="duration-discount" label={t('durations.discount')} error={msg('discount_percentage')}>
            {(a) => <Input inputMode="decimal" {...a} value={discount} onChange={(e) => setDiscount(e.target.value)} />}
          </FormField>
          <Button type="submit" disabled={create.isPending}>{t('durations.add')}</Button>
        </form>
        {create.error && !Object.keys(fields).length ? <ErrorMessage error={create.error} /> : null}
      </CardContent>
    </Card>
  );
}

export function Products() {
  const { t } = useTranslation();
  const q = useProducts();
  const setActive = useSetProductActive();
  const [editing, setEditing] = React.useState<Product | 'new' | null>(null);
  const [history, setHistory] = React.useState<Product | null>(null);
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={t('products.title')}
        actions={
          <Button onClick={() => setEditing('new')}>
            <Plus className="h-4 w-4" aria-hidden />
            {t('products.new')}
          </Button>
        }
      />
      <ErrorMessage error={q.error ?? setActive.error} />
      {q.isPending ? <Loading /> : null}
      {q.data && items.length === 0 ? <Empty>{t('products.empty')}</Empty> : null}
      {items.length > 0 ? (
        <Table>
          <THead>
            <TR>
              <TH>{t('products.name')}</TH>
              <TH>{t('products.tiers')}</TH>
              <TH>{t('common.state')}</TH>
              <TH>{t('common.actions')}</TH>
            </TR>
          </THead>
          <TBody>
            {items.map((p) => (
              <TR key={p.id}>
                <TD>
                  <span className="font-medium">{p.name}</span>
                  <span className="block text-xs text-slate-700">{p.type} · {p.unit} · {p.currency} · {t(`products.modes.${p.pricing_mode}`)}</span>
                </TD>
                <TD>
                  <ul className="text-xs">
                    {p.progressive_price_list.map((tier, i) => (
                      <li key={i}>{tierText(tier, p.currency, t)}</li>
                    ))}
                  </ul>
                </TD>
                <TD>{p.is_active ? <Badge variant="green">{t('admin.active')}</Badge> : <Badge>{t('admin.inactive')}</Badge>}</TD>
                <TD>
                  <div className="flex flex-wrap gap-1">
                    <Button size="sm" variant="outline" onClick={() => setEditing(p)} aria-label={t('products.editNamed', { name: p.name })}>{t('common.edit')}</Button>
                    <Button size="sm" variant="outline" onClick={() => setHistory(p)} aria-label={t('products.historyNamed', { name: p.name })}>{t('products.history')}</Button>
                    <Button size="sm" variant="ghost" onClick={() => setActive.mutate({ id: p.id, is_active: !p.is_active })}>
                      {p.is_active ? t('admin.disable') : t('admin.enable')}
                    </Button>
                  </div>
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
      <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
      <Durations />
      <Dialog open={editing !== null} onOpenChange={(o) => !o && setEditing(null)}>
        {editing ? (
          <DialogContent className="max-w-3xl" title={editing === 'new' ? t('products.new') : t('products.edit')}>
            <ProductForm product={editing === 'new' ? undefined : editing} onSaved={() => setEditing(null)} />
          </DialogContent>
        ) : null}
      </Dialog>
      <Dialog open={history !== null} onOpenChange={(o) => !o && setHistory(null)}>
        {history ? (
          <DialogContent title={t('products.historyOf', { name: history.name })}>
            <PriceHistory product={history} />
          </DialogContent>
        ) : null}
      </Dialog>
    </div>
  );
}
