import * as React from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { Plus } from 'lucide-react';
import { Button, buttonVariants } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Alert } from '@/components/ui/alert';
import { ErrorMessage, LoadMore, PageHeader } from '@/components/page';
import { transitionErrorMessage } from '@/components/lifecycle/api';
import { useCan } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { usePartnerOptions } from '@/lib/partners';
import { useLeadColumn, useLeadTransition } from '../api';
import { LEAD_STATES, moves, type Lead, type LeadFilters, type LeadState } from '../types';
import { LeadCard } from './lead-card';
import { LostReasonDialog } from './lost-reason-dialog';

function Column({
  state,
  filters,
  onEvent,
  pendingId,
  onDropLead,
}: {
  state: LeadState;
  filters: LeadFilters;
  onEvent: (lead: Lead, event: string) => void;
  pendingId: string | null;
  onDropLead: (id: string, to: LeadState) => void;
}) {
  const { t } = useTranslation();
  const q = useLeadColumn(state, filters);
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  const [over, setOver] = React.useState(false);
  return (
    <section
      aria-labelledby={`col-${state}`}
      className={`flex w-64 shrink-0 snap-start flex-col rounded-lg bg-slate-100 p-2 ${over ? 'ring-2 ring-blue-500' : ''}`}
      data-testid={`column-${state}`}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('application/x-tentabo-lead')) {
          e.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        setOver(false);
        const id = e.dataTransfer.getData('application/x-tentabo-lead');
        if (id) onDropLead(id, state);
      }}
    >
      <h2 id={`col-${state}`} className="mb-2 flex items-center justify-between px-1 text-sm font-semibold">
        <span>{t(`states.${state}`)}</span>
        <span className="text-xs font-normal text-slate-700">{q.data ? items.length + (q.hasNextPage ? '+' : '') : ''}</span>
      </h2>
      <ErrorMessage error={q.error} />
      <ul className="flex flex-col gap-2">
        {items.map((lead) => (
          <li key={lead.id}>
            <LeadCard lead={lead} onEvent={onEvent} busy={pendingId === lead.id} />
          </li>
        ))}
      </ul>
      {q.isPending ? <p className="p-2 text-xs text-slate-700">{t('common.loading')}</p> : null}
      {q.data && items.length === 0 ? <p className="p-2 text-xs text-slate-700">{t('leads.emptyColumn')}</p> : null}
      <LoadMore
        hasNextPage={q.hasNextPage}
        isFetchingNextPage={q.isFetchingNextPage}
        fetchNextPage={q.fetchNextPage}
      />
    </section>
  );
}

export function LeadKanban() {
  const { t } = useTranslation();
  const can = useCan();
  const qc = useQueryClient();
  const [search, setSearch] = React.useState('');
  const [filters, setFilters] = React.useState<LeadFilters>({ sort: '-created_at' });
  const transition = useLeadTransition();
  const partners = usePartnerOptions();
  const [failure, setFailure] = React.useState<{ message: string; reload: boolean } | null>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const [losing, setLosing] = React.useState<Lead | null>(null);

  React.useEffect(() => {
    const h = setTimeout(() => setFilters((f) => ({ ...f, q: search.trim() || undefined })), 300);
    return () => clearTimeout(h);
  }, [search]);

  const send = (lead: Lead, event: string) => {
    setFailure(null);
    setNotice(null);
    if (event === 'lose') {
      setLosing(lead);
      return;
    }
    transition.mutate(
      { lead, event },
      {
        onSuccess: (updated) =>
          setNotice(
            event === 'convert'
              ? t('leads.converted', { title: updated.title })
              : t('leads.moved', { title: updated.title, state: t(`states.${updated.state}`) }),
          ),
        onError: (err) =>
          setFailure({
            message: transitionErrorMessage(t, err),
            reload: err instanceof ApiError && err.status === 409,
          }),
      },
    );
  };

  const findLead = (id: string): Lead | undefined => {
    for (const [, data] of qc.getQueriesData<{ pages: { items: Lead[] }[] }>({ queryKey: ['leads', 'list'] })) {
      const hit = data?.pages.flatMap((p) => p.items).find((l) => l.id === id);
      if (hit) return hit;
    }
    return undefined;
  };

  const onDropLead = (id: string, to: LeadState) => {
    const lead = findLead(id);
    if (!lead || lead.state === to) return;
    const move = moves(lead).find((m) => m.to === to);
    if (move) send(lead, move.event);
    else setFailure({ message: t('leads.cannotMoveThere', { state: t(`states.${to}`) }), reload: false });
  };

  return (
    <div>
      <PageHeader
        title={t('leads.title')}
        actions={
          can('lead:create') ? (
            <Link to="/leads/new" className={buttonVariants()}>
              <Plus className="h-4 w-4" aria-hidden />
              {t('leads.new')}
            </Link>
          ) : null
        }
      />
      <div className="mb-3 flex flex-col gap-2 sm:flex-row sm:items-end">
        <div className="flex flex-col gap-1 sm:w-72">
          <Label htmlFor="lead-search">{t('leads.search')}</Label>
          <Input
            id="lead-search"
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder={t('leads.searchPlaceholder')}
          />
        </div>
        <div className="flex flex-col gap-1 sm:w-56">
          <Label htmlFor="lead-sort">{t('common.sort')}</Label>
          <Select
            id="lead-sort"
            value={filters.sort}
            onChange={(e) => setFilters((f) => ({ ...f, sort: e.target.value }))}
          >
            <option value="-created_at">{t('leads.sortNewest')}</option>
            <option value="created_at">{t('leads.sortOldest')}</option>
            <option value="-updated_at">{t('leads.sortUpdated')}</option>
            <option value="title">{t('leads.sortTitle')}</option>
          </Select>
        </div>
        {partners.data && partners.data.length > 0 ? (
          <div className="flex flex-col gap-1 sm:w-56">
            <Label htmlFor="lead-partner">{t('leads.partner')}</Label>
            <Select
              id="lead-partner"
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
      </div>
      <div aria-live="polite">
        {failure ? (
          <Alert className="mb-3 flex flex-wrap items-center justify-between gap-2">
            <span>{failure.message}</span>
            {failure.reload ? (
              <Button
                size="sm"
                variant="outline"
                onClick={() => {
                  setFailure(null);
                  void qc.invalidateQueries({ queryKey: ['leads'] });
                }}
              >
                {t('common.reload')}
              </Button>
            ) : null}
          </Alert>
        ) : null}
        {notice ? (
          <Alert variant="success" className="mb-3">
            {notice}
          </Alert>
        ) : null}
      </div>
      <LostReasonDialog
        open={losing !== null}
        title={losing?.title ?? null}
        onOpenChange={(open) => !open && setLosing(null)}
        onConfirm={async (lostReason) => {
          if (!losing) return;
          try {
            const updated = await transition.mutateAsync({ lead: losing, event: 'lose', lostReason });
            setNotice(t('leads.moved', { title: updated.title, state: t(`states.${updated.state}`) }));
          } catch (err) {
            // A stale or refused move is explained on the board, with its Reload.
            if (!(err instanceof ApiError && err.status === 409)) throw err;
            setFailure({ message: transitionErrorMessage(t, err), reload: true });
          }
        }}
      />
      <div className="-mx-3 flex snap-x gap-3 overflow-x-auto px-3 pb-3 sm:mx-0 sm:px-0" role="region" aria-label={t('leads.board')} tabIndex={0}>
        {LEAD_STATES.map((s) => (
          <Column
            key={s}
            state={s}
            filters={filters}
            onEvent={send}
            pendingId={transition.isPending ? (transition.variables?.lead.id ?? null) : null}
            onDropLead={onDropLead}
          />
        ))}
      </div>
    </div>
  );
}
