import * as React from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { AlarmClock } from 'lucide-react';
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Badge } from '@/components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, LoadMore, Loading, PageHeader } from '@/components/page';
import { date } from '@/lib/format';
import { usePartnerOptions } from '@/lib/partners';
import { cn } from '@/lib/utils';
import { CONTRACT_STATES, useContracts, type ContractFilters } from '../api';

export function stateVariant(s: string) {
  return s === 'active' ? 'green' : s === 'lost' ? 'red' : 'blue';
}

export function ContractList() {
  const { t } = useTranslation();
  const [filters, setFilters] = React.useState<ContractFilters>({ sort: '-created_at' });
  const q = useContracts(filters);
  const partners = usePartnerOptions();
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div>
      <PageHeader title={t('contracts.title')} />
      <div className="mb-3 flex flex-col gap-2 sm:flex-row sm:items-end">
        <div className="flex flex-col gap-1 sm:w-48">
          <Label htmlFor="contract-state">{t('common.state')}</Label>
          <Select id="contract-state" value={filters.state ?? ''} onChange={(e) => setFilters((f) => ({ ...f, state: e.target.value || undefined }))}>
            <option value="">{t('common.all')}</option>
            {CONTRACT_STATES.map((s) => (
              <option key={s} value={s}>
                {t(`states.${s}`)}
              </option>
            ))}
          </Select>
        </div>
        <div className="flex flex-col gap-1 sm:w-56">
          <Label htmlFor="contract-renewal">{t('contracts.renewal')}</Label>
          <Select
            id="contract-renewal"
            value={filters.renewal_due === undefined ? '' : String(filters.renewal_due)}
            onChange={(e) => setFilters((f) => ({ ...f, renewal_due: e.target.value === '' ? undefined : e.target.value === 'true' }))}
          >
            <option value="">{t('common.all')}</option>
            <option value="true">{t('contracts.renewalDueOnly')}</option>
            <option value="false">{t('contracts.notDue')}</option>
          </Select>
        </div>
        {partners.data && partners.data.length > 0 ? (
          <div className="flex flex-col gap-1 sm:w-56">
            <Label htmlFor="contract-partner">{t('contracts.partner')}</Label>
            <Select
              id="contract-partner"
              value={filters.partner_id ?? ''}
              onChange={(e) => setFilters((f) => ({ ...f, partner_id: e.target.value || undefined }))}
            >
              <option value="">{t('common.all')}</option>
              {partners.data.map((p) => (
                <option key={p.id} value={p.id}>{p.name}</option>
              ))}
            </Select>
          </div>
        ) : null}
        <div className="flex flex-col gap-1 sm:w-48">
          <Label htmlFor="contract-sort">{t('common.sort')}</Label>
          <Select id="contract-sort" value={filters.sort} onChange={(e) => setFilters((f) => ({ ...f, sort: e.target.value }))}>
            <option value="-created_at">{t('contracts.sortNewest')}</option>
            <option value="-activation_date">{t('contracts.sortActivation')}</option>
          </Select>
        </div>
      </div>
      <ErrorMessage error={q.error} />
      {q.isPending ? <Loading /> : null}
      {q.data && items.length === 0 ? <Empty>{t('contracts.empty')}</Empty> : null}
      {items.length > 0 ? (
        <Table>
          <THead>
            <TR>
              <TH>{t('contracts.contract')}</TH>
              <TH>{t('common.state')}</TH>
              <TH>{t('contracts.activation')}</TH>
              <TH>{t('contracts.expiration')}</TH>
              <TH>{t('contracts.renewal')}</TH>
            </TR>
          </THead>
          <TBody>
            {items.map((c) => (
              <TR key={c.id} className={cn(c.renewal_due && 'bg-amber-50')} data-renewal-due={c.renewal_due || undefined}>
                <TD>
                  <Link to={`/contracts/${c.id}`} className="font-medium text-blue-800 hover:underline">
                    {c.id.slice(0, 8)}
                  </Link>
                </TD>
                <TD>
                  <Badge variant={stateVariant(c.state)}>{t(`states.${c.state}`)}</Badge>
                </TD>
                <TD>{date(c.activation_date)}</TD>
                <TD>{date(c.expiration_date)}</TD>
                <TD>
                  {c.renewal_due ? (
                    <Badge variant="amber">
                      <AlarmClock className="mr-1 h-3 w-3" aria-hidden />
                      {t('contracts.renewalDue')}
                    </Badge>
                  ) : (
                    <span className="text-slate-700">—</span>
                  )}
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
      <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
    </div>
  );
}
