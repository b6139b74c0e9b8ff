import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type {
  Activity,
  CreateActivityBody,
  CreateLeadBody,
  Lead,
  LeadDetail,
  LeadFilters,
  LeadState,
  UpdateLeadBody,
} from './types';

const PAGE = 25;

export const leadKeys = {
  all: ['leads'] as const,
  column: (state: LeadState, f: LeadFilters) => ['leads', 'list', state, f] as const,
  detail: (id: string) => ['leads', 'detail', id] as const,
  activities: (id: string) => ['leads', 'activities', id] as const,
};

/**
 * A lead the API answered after a change (`LeadDto`) merged into the cached detail: the
 * CRM links and activities only come with `GET /api/v1/leads/{id}`, so they are kept.
 */
function mergeDetail(qc: ReturnType<typeof useQueryClient>, lead: Lead) {
  qc.setQueryData<LeadDetail>(leadKeys.detail(lead.id), (old) => (old ? { ...old, ...lead } : undefined));
}

/** One kanban column: the leads in a state, paged by cursor. */
export function useLeadColumn(state: LeadState, filters: LeadFilters) {
  return useInfiniteQuery({
    queryKey: leadKeys.column(state, filters),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/leads', {
          params: {
            query: {
              state,
              q: filters.q || undefined,
              sort: filters.sort || undefined,
              partner_id: filters.partner_id || undefined,
              cursor: pageParam,
              limit: PAGE,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useLead(id: string) {
  return useQuery({
    queryKey: leadKeys.detail(id),
    queryFn: () => unwrap(api.GET('/api/v1/leads/{id}', { params: { path: { id } } })),
  });
}

export function useCreateLead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateLeadBody) => unwrap(api.POST('/api/v1/leads', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: leadKeys.all }),
  });
}

export function useUpdateLead(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateLeadBody) =>
      unwrap(api.PATCH('/api/v1/leads/{id}', { params: { path: { id } }, body })),
    onSuccess: (lead) => {
      mergeDetail(qc, lead);
      void qc.invalidateQueries({ queryKey: ['leads', 'list'] });
    },
  });
}

/**
 * `POST /api/v1/leads/{id}/transitions` with the version the user saw; a `lose` with a
 * reason then stores the reason on the lead (`PATCH`, the transition does not take it).
 */
export function useLeadTransition() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({ lead, event, lostReason }: { lead: Lead; event: string; lostReason?: string }) => {
      const moved = await unwrap(
        api.POST('/api/v1/leads/{id}/transitions', {
          params: { path: { id: lead.id } },
          body: {
            event,
            expected_version: lead.version,
            // The reason travels with the event (kept in the history) and is stored on the lead.
            ...(lostReason ? { payload: { lost_reason: lostReason } as never } : {}),
          },
        }),
      );
      if (!lostReason) return moved;
      return unwrap(api.PATCH('/api/v1/leads/{id}', { params: { path: { id: lead.id } }, body: { lost_reason: lostReason } }));
    },
    onSuccess: (lead) => {
      mergeDetail(qc, lead);
      // Move the card between cached columns at once, then refetch for the truth.
      qc.setQueriesData<InfiniteData<{ items: Lead[]; next_cursor?: string | null }>>(
        { queryKey: ['leads', 'list'] },
        (data) =>
          data && {
            ...data,
            pages: data.pages.map((p) => ({ ...p, items: p.items.filter((l) => l.id !== lead.id) })),
          },
      );
      void qc.invalidateQueries({ queryKey: ['leads', 'list'] });
      void qc.invalidateQueries({ queryKey: ['lifecycle', 'leads', lead.id] });
    },
  });
}

export function useDeleteLead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/leads/{id}', { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: leadKeys.all }),
  });
}

/**
 * The lead's activities (its CRM deal's included). The detail already carries them:
 * they seed the list, which `GET …/activities` refreshes.
 */
export function useLeadActivities(id: string, initial?: { items: Activity[]; at: number }) {
  return useQuery({
    queryKey: leadKeys.activities(id),
    queryFn: () => unwrap(api.GET('/api/v1/leads/{id}/activities', { params: { path: { id } } })),
    initialData: initial ? { items: initial.items } : undefined,
    initialDataUpdatedAt: initial?.at,
  });
}

/** Adds an activity; it is pushed to the CRM by a job (`provider` stays `tentabo` until then). */
export function useCreateActivity(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateActivityBody) =>
      unwrap(api.POST('/api/v1/leads/{id}/activities', { params: { path: { id } }, body })),
    onSuccess: (created) => {
      qc.setQueryData<{ items: Activity[] }>(leadKeys.activities(id), (old) =>
        old ? { items: [...old.items.filter((a) => a.id !== created.id), created] } : { items: [created] },
      );
      void qc.invalidateQueries({ queryKey: leadKeys.activities(id) });
    },
  });
}
