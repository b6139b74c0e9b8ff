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

export function useRuns() {
  return useQuery({
    queryKey: ['sync', 'runs'],
    queryFn: () => unwrap(api.GET('/api/v1/sync/runs', { params: { query: { limit: 50 } } })),
    refetchInterval: (q) => (q.state.data?.items.some((r) => r.status === 'queued' || r.status === 'running') ? 2000 : false),
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
  return useQuery({
    queryKey: ['sync', 'conflicts', resolution],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/sync/conflicts', { params: { query: { resolution, limit: 200 } } }))).items as unknown as Conflict[],
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
