import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { api } from '@/lib/api';
import { ApiError, unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

export type Kind = 'leads' | 'orders' | 'contracts';
export type Note = components['schemas']['NoteDto'];
export type HistoryEntry = components['schemas']['HistoryDto'];
export type Effect = components['schemas']['EffectDto'];

// The three resources share the shapes of their notes and history.
const notesPath = (kind: Kind) => `/api/v1/${kind}/{id}/notes` as '/api/v1/leads/{id}/notes';
const effectsPath = (kind: Kind) => `/api/v1/${kind}/{id}/effects` as '/api/v1/orders/{id}/effects';
const historyPath = (kind: Kind) => `/api/v1/${kind}/{id}/history` as '/api/v1/leads/{id}/history';

export const lifecycleKeys = {
  notes: (kind: Kind, id: string) => ['lifecycle', kind, id, 'notes'] as const,
  history: (kind: Kind, id: string) => ['lifecycle', kind, id, 'history'] as const,
};

export function useNotes(kind: Kind, id: string) {
  return useQuery({
    queryKey: lifecycleKeys.notes(kind, id),
    queryFn: () => unwrap(api.GET(notesPath(kind), { params: { path: { id } } })),
  });
}

export function useCreateNote(kind: Kind, id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { visibility: 'internal' | 'partner_visible'; body: string }) =>
      unwrap(api.POST(notesPath(kind), { params: { path: { id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: lifecycleKeys.notes(kind, id) }),
  });
}

export function useHistory(kind: Kind, id: string) {
  return useQuery({
    queryKey: lifecycleKeys.history(kind, id),
    queryFn: () => unwrap(api.GET(historyPath(kind), { params: { path: { id } } })),
  });
}

/** The side effects the transitions queued, watched until they settle. */
export function useEffects(kind: Kind, id: string, version?: number) {
  return useQuery({
    queryKey: ['lifecycle', kind, id, 'effects', version],
    queryFn: () => unwrap(api.GET(effectsPath(kind), { params: { path: { id } } })),
    refetchInterval: (q) =>
      q.state.data?.items.some((e) => ['pending', 'enqueued', 'running'].includes(e.status)) && q.state.dataUpdateCount < 60 ? 2000 : false,
  });
}

/** A refused transition in words: someone moved it first, or the move is gone. */
export function transitionErrorMessage(t: TFunction, err: unknown): string {
  if (err instanceof ApiError && err.status === 409) {
    if (err.code === 'stale_version') return t('lifecycle.stale');
    if (err.code === 'illegal_transition') {
      const state = typeof err.details.state === 'string' ? err.details.state : '';
      return t('lifecycle.illegal', { state: t(`states.${state}`, { defaultValue: state }) });
    }
    return err.message;
  }
  if (err instanceof ApiError) return err.message;
  return t('errors.network');
}
