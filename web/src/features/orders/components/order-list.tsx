import * as React from 'react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Plus } from 'lucide-react';
import { buttonVariants } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Badge } from '@/components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, LoadMore, Loading, PageHeader } from '@/components/page';
import { useCan } from '@/lib/auth';
import { usePartnerOptions } from '@/lib/partners';
import { dateTime, money } from '@/lib/format';
import { useOrders } from '../api';
import { ORDER_STATES, type OrderFilters } from '../types';

export function stateVariant(state: string): 'blue' | 'green' | 'amber' | 'red' | 'default' {
  switch (state) {
    case 'fulfilled':
    case 'active':
      return 'green';
    case 'sent':
    case 'in_fulfillment':
      return 'amber';
    case 'cancelled':
    case 'lost':
      return 'red';
    default:
      return 'blue';
  }
}

export function OrderList() {
  const { t } = useTranslation();
  const can = useCan();
  // `?q=ORD-000123` (a notification's drafted renewal) opens the list on that reference.
  const [params] = useSearchParams();
  const initialQ = params.get('q')?.trim() ?? '';
  const [search, setSearch] = React.useState(initialQ);
  const [filters, setFilters] = React.useState<OrderFilters>({ sort: '-created_at', q: initialQ || undefined });
  React.useEffect(() => {
    const h = setTimeout(() => setFilters((f) => ({ ...f, q: search.trim() || undefined })), 300);
    return () => clearTimeout(h);
  }, [search]);
  const q = useOrders(filters);
  const partners = usePartnerOptions();
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div>
      <PageHeader
        title={t('orders.title')}
        actions={
          can('order:create') ? (
            <Link to="/orders/new" className={buttonVariants()}>
              <Plus className="h-4 w-4" aria-hidden />
              {t('orders.new')}
            </Link>
          ) : null
        }
      />
      <div className="mb-3 flex flex-col gap-2 sm:flex-row sm:items-end">
        <div className="flex flex-col gap-1 sm:w-60">
          <Label htmlFor="order-search">{t('orders.searchReference')}</Label>
          <Input id="order-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="ORD-" />
        </div>
        <div className="flex flex-col gap-1 sm:w-48">
          <Label htmlFor="order-state">{t('common.state')}</Label>
          <Select id="order-state" value={filters.state ?? ''} onChange={(e) => setFilters((f) => ({ ...f, state: e.target.value || undefined }))}>
            <option value="">{t('common.all')}</option>
            {ORDER_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`states.${s}`)}
              </option>
            ))}
          </Select>
        </div>
        {partners.data && partners.data.length > 0 ? (
          <div className="flex flex-col gap-1 sm:w-56">
            <Label htmlFor="order-partner">{t('orders.partner')}</Label>
            <Select id="order-partner" value={filters.partner_id ?? ''} onChange={(e) => setFilters((f) => ({ ...f, partner_id: e.target.value || undefined }))}>
              <option value="">{t('common.all')}</option>
              {partners.data.map((p) => (
                <option key={p.id} value={p.id}>{p.name}</option>
              ))}
            </Select>
          </div>
        ) : null}
        <div className="flex flex-col gap-1 sm:w-48">
          <Label htmlFor="order-sort">{t('common.sort')}</Label>
          <Select id="order-sort" value={filters.sort} onChange={(e) => setFilters((f) => ({ ...f, sort: e.target.value }))}>
            <option value="-created_at">{t('orders.sortNewest')}</option>
            <option value="created_at">{t('orders.sortOldest')}</option>
            <option value="-total">{t('orders.sortTotal')}</option>
            <option value="reference">{t('orders.sortReference')}</option>
          </Select>
        </div>
      </div>
      <ErrorMessage error={q.error} />
      {q.isPending ? <Loading /> : null}
      {q.data && items.length === 0 ? <Empty>{t('orders.empty')}</Empty> : null}
      {items.length > 0 ? (
        <Table>
          <THead>
            <TR>
              <TH>{t('orders.reference')}</TH>
              <TH>{t('common.state')}</TH>
              <TH className="text-right">{t('common.total')}</TH>
              <TH className="hidden sm:table-cell">{t('common.created')}</TH>
            </TR>
          </THead>
          <TBody>
            {items.map((o) => (
              <TR key={o.id}>
                <TD>
                  <Link to={`/orders/${o.id}`} className="font-medium text-blue-800 hover:underline">
                    {o.reference}
                  </Link>
                </TD>
                <TD>
                  <Badge variant={stateVariant(o.state)}>{t(`states.${o.state}`)}</Badge>
                </TD>
                <TD className="text-right">{money(o.total, o.currency)}</TD>
                <TD className="hidden sm:table-cell">{dateTime(o.created_at)}</TD>
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
      <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
    </div>
  );
}
