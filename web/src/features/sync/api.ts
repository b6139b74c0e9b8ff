import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

export type Run = components['schemas']['RunDto'];
export type QuarantineItem = components['schemas']['QuarantineItemDto'];
export type Zone = components['schemas']['ZoneDto'];
export const ENTITIES = ['organization', 'contact', 'lead', 'order', 'product', 'invoice'] as const;
/** Which entities each sync source offers. */
export const SOURCES: Record<string, readonly string[]> = {
  odoo: ENTITIES,
  pennylane: ['invoice'],
};

export interface Conflict {
  id: number;
  sync_run_id: string | null;
  provider: string;
  entity: string;
  external_id: string;
  policy: string;
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  resolution: string;
  resolved_at: string | null;
  created_at: string;
}

export interface Reason {
  field?: string | null;
  code?: string;
  detail?: string | null;
}

/** A page of a list that may or may not be cursor-paged yet (`next_cursor` optional). */
type MaybePaged = { next_cursor?: string | null };

/**
 * The newest runs, 50 a page. `cursor` / `next_cursor` are sent and read when the API
 * has them; without `next_cursor` the list is one page, as before.
 */
export function useRuns() {
  return useInfiniteQuery({
    queryKey: ['sync', 'runs'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/sync/runs', {
          params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } as { limit: number } },
        }),
      ),
    getNextPageParam: (last) => (last as MaybePaged).next_cursor ?? undefined,
    refetchInterval: (q) =>
      q.state.data?.pages[0]?.items.some((r) => r.status === 'queued' || r.status === 'running') ? 2000 : false,
  });
}

/** One run, polled while it is queued or running. */
export function useRun(id: string | null) {
  return useQuery({
    queryKey: ['sync', 'run', id],
    queryFn: () => unwrap(api.GET('/api/v1/sync/runs/{id}', { params: { path: { id: id ?? '' } } })),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data && !['queued', 'running'].includes(q.state.data.status) ? false : 1000),
  });
}

export function useStartRun() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ provider, entity, mode }: { provider: string; entity: string; mode: 'full' | 'incremental' }) =>
      unwrap(api.POST('/api/v1/sync/{provider}/{entity}', { params: { path: { provider, entity } }, body: { mode } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['sync', 'runs'] }),
  });
}

export function useQuarantine(status: string) {
  return useInfiniteQuery({
    queryKey: ['sync', 'quarantine', status],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET('/api/v1/sync/quarantine', { params: { query: { status, cursor: pageParam, limit: 25 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useRetryQuarantine() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (ids: number[]) => unwrap(api.POST('/api/v1/sync/quarantine/retry', { body: { ids } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['sync', 'quarantine'] }),
  });
}

export function useConflicts(resolution: string) {
  return useInfiniteQuery({
    queryKey: ['sync', 'conflicts', resolution],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const page = await unwrap(
        api.GET('/api/v1/sync/conflicts', {
          params: { query: { resolution, limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      );
      return { items: page.items as unknown as Conflict[], next_cursor: (page as MaybePaged).next_cursor ?? null };
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useResolveConflict() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, keep }: { id: number; keep: 'source' | 'local' }) =>
      unwrap(api.POST('/api/v1/sync/conflicts/{id}/resolve', { params: { path: { id } }, body: { keep } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['sync', 'conflicts'] }),
  });
}

export function useLakeHealth() {
  return useQuery({ queryKey: ['sync', 'lake-health'], queryFn: () => unwrap(api.GET('/api/v1/data-lake/health')) });
}

export type ZoneName = 'raw' | 'canonical' | 'serving';

/** Rows of one table of the lake, paged by cursor. */
export function useLakeRows(zone: ZoneName, table: string) {
  return useInfiniteQuery({
    queryKey: ['sync', 'lake', zone, table],
    initialPageParam: undefined as string | undefined,
    enabled: zone === 'raw' || table !== '',
    queryFn: ({ pageParam }) => {
      const query = { cursor: pageParam, limit: 25 };
      if (zone === 'raw') return unwrap(api.GET('/api/v1/data-lake/raw', { params: { query } }));
      if (zone === 'canonical')
        return unwrap(api.GET('/api/v1/data-lake/canonical/{entity}', { params: { path: { entity: table }, query } }));
      return unwrap(api.GET('/api/v1/data-lake/serving/{table}', { params: { path: { table }, query } }));
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** Canonical columns that are the lake's own bookkeeping, not the record's fields. */
export const SYSTEM_COLUMNS = /^(id|provider|external_id|raw_id|sync_run_id|issues|content_hash|hash|.*_at)$/;

export function useEditCanonical() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ entity, provider, external_id, changes }: { entity: string; provider: string; external_id: string; changes: Record<string, unknown> }) =>
      unwrap(
        api.PATCH('/api/v1/data-lake/canonical/{entity}/{provider}/{external_id}', {
          params: { path: { entity, provider, external_id } },
          body: changes as never,
        }),
      ),
    onSuccess: (_r, v) => qc.invalidateQueries({ queryKey: ['sync', 'lake', 'canonical', v.entity] }),
  });
}

export type Severity = 'error' | 'warning' | 'discard_value';
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'discard_value'];
export const LEAD_STATUSES = ['new', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
/** Providers whose records are read under sync settings. */
export const SETTINGS_PROVIDERS = ['odoo'] as const;

export interface SyncSettings {
  default_country?: string | null;
  severity?: Record<string, Severity>;
  lead_stages?: Record<string, string>;
}

export interface SettingsView {
  provider: string;
  stored: SyncSettings;
  effective: { default_country?: string | null; severity: Record<string, Severity>; lead_stages: Record<string, string> };
  updated_by?: string | null;
  updated_at?: string | null;
}

export function useSyncSettings(provider: string) {
  return useQuery({
    queryKey: ['sync', 'settings', provider],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/sync/settings/{provider}', { params: { path: { provider } } }))) as unknown as SettingsView,
  });
}

export function useSaveSyncSettings(provider: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: SyncSettings) =>
      (await unwrap(
        api.PUT('/api/v1/sync/settings/{provider}', { params: { path: { provider } }, body: body as never }),
      )) as unknown as SettingsView,
    onSuccess: (view) => qc.setQueryData(['sync', 'settings', provider], view),
  });
}

export interface OwnerLink {
  provider: string;
  owner_external_id: string;
  partner_id: string | null;
  distributor_id: string | null;
  created_at: string;
}

export function useOwnerLinks() {
  return useQuery({
    queryKey: ['sync', 'owners'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/sync/owners'))).items as unknown as OwnerLink[],
  });
}

export function useLinkOwner() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ provider, owner_external_id, partner_id, distributor_id }: Omit<OwnerLink, 'created_at'>) =>
      unwrap(
        api.PUT('/api/v1/sync/owners/{provider}/{owner_external_id}', {
          params: { path: { provider, owner_external_id } },
          body: { partner_id, distributor_id },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['sync', 'owners'] }),
  });
}
