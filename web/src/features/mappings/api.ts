import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';
import { entityParam } from './targets';

export type LiveFields = components['schemas']['LiveFields'];
export type LiveField = components['schemas']['LiveFieldDto'];
export type VersionList = components['schemas']['VersionList'];
export type Version = components['schemas']['VersionDto'];
export type VersionDetail = components['schemas']['VersionDetailDto'];
export type Rule = components['schemas']['RuleDto'];
export type Decision = components['schemas']['DecisionDto'];
export type Run = components['schemas']['RunDto'];

/** A provider object's fields as the live provider describes them, with raw-zone samples. */
export function useLiveFields(provider: string, object: string | null) {
  return useQuery({
    queryKey: ['mappings', 'fields', provider, object],
    enabled: object !== null && object !== '',
    retry: false,
    queryFn: () =>
      unwrap(api.GET('/api/v1/integrations/{provider}/fields/{object}', { params: { path: { provider, object: object ?? '' } } })),
  });
}

const versionsKey = (provider: string, object: string, entity?: string) => ['mappings', 'versions', provider, object, entity ?? null];

/** The versions of an object's mapping, newest first, and the active one. */
export function useMappingVersions(provider: string, object: string, entity: string | null) {
  const e = entityParam(provider, object, entity);
  return useQuery({
    queryKey: versionsKey(provider, object, e),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/mappings/{provider}/{object}/versions', {
          params: { path: { provider, object }, query: e ? { entity: e } : {} },
        }),
      ),
  });
}

/**
 * Whether the version was activated a moment ago and its replay is not created yet
 * (the worker sets `replay_run_id` shortly after the activation).
 */
export function awaitingReplay(v: Version | undefined, now = Date.now()): boolean {
  if (!v || v.status !== 'active' || v.replay_run_id || !v.activated_at) return false;
  return now - Date.parse(v.activated_at) < 10 * 60_000;
}

/** One version with its rules; read again every 2 s while its replay is being created. */
export function useMappingVersion(id: string) {
  return useQuery({
    queryKey: ['mappings', 'version', id],
    queryFn: () => unwrap(api.GET('/api/v1/mappings/versions/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (awaitingReplay(q.state.data) ? 2000 : false),
  });
}

/** Stores a version as the API answered it, and has its object's list read again. */
function updated(qc: QueryClient, v: VersionDetail) {
  qc.setQueryData(['mappings', 'version', v.id], v);
  return qc.invalidateQueries({ queryKey: ['mappings', 'versions', v.provider, v.object] });
}

/** Proposes a new version from the live fields (a draft, or active at once when every proposal was confident). */
export function useAutoMap(provider: string, object: string, entity: string | null) {
  const qc = useQueryClient();
  const e = entityParam(provider, object, entity);
  return useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v1/mappings/{provider}/{object}/auto-map', {
          params: { path: { provider, object } },
          body: e ? { entity: e } : {},
        }),
      ),
    onSuccess: (v) => updated(qc, v),
  });
}

/** Decisions on rules of a draft, all or none. */
export function useDecide(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (decisions: Decision[]) =>
      unwrap(api.POST('/api/v1/mappings/versions/{id}/decisions', { params: { path: { id } }, body: { decisions } })),
    onSuccess: (v) => updated(qc, v),
  });
}

/** Approves a draft (its waiting rules too) or brings a retired version back: it becomes active and is replayed. */
export function useApproveVersion(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/mappings/versions/{id}/approve', { params: { path: { id } } })),
    onSuccess: (v) => updated(qc, v),
  });
}

/** Rejects a draft as a whole. */
export function useRejectVersion(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/mappings/versions/{id}/reject', { params: { path: { id } } })),
    onSuccess: (v) => updated(qc, v),
  });
}

export const RUNNING = ['queued', 'running'];

/** A replay run, read every 2 s while it is queued or running. */
export function useReplayRun(id: string) {
  return useQuery({
    queryKey: ['mappings', 'replay', id],
    queryFn: () => unwrap(api.GET('/api/v1/sync/runs/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && !RUNNING.includes(q.state.data.status) ? false : 2000),
  });
}
