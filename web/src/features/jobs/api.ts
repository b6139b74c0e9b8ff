import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';

// The ledger's shapes (plain objects in the OpenAPI document).
export interface QueueCounts {
  queue: string;
  pending: number;
  retrying: number;
  enqueued: number;
  running: number;
  dead: number;
  discarded: number;
}
export interface JobSummary {
  id: number;
  queue: string;
  status: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  created_at: string;
  available_at: string;
  finished_at: string | null;
}
export const COUNTS = ['pending', 'retrying', 'enqueued', 'running', 'dead', 'discarded'] as const;

export function useQueues() {
  return useQuery({
    queryKey: ['jobs', 'queues'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/jobs/queues'))).queues as unknown as QueueCounts[],
    refetchInterval: 5000,
  });
}

export function useFailures(queue: string | undefined) {
  return useInfiniteQuery({
    queryKey: ['jobs', 'failures', queue ?? ''],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const page = await unwrap(api.GET('/api/v1/jobs/failures', { params: { query: { queue, cursor: pageParam, limit: 25 } } }));
      return { items: page.items as unknown as JobSummary[], next_cursor: page.next_cursor };
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useJobAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: number; action: 'retry' | 'discard' }) =>
      action === 'retry'
        ? unwrap(api.POST('/api/v1/jobs/{id}/retry', { params: { path: { id } } }))
        : unwrap(api.POST('/api/v1/jobs/{id}/discard', { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['jobs'] }),
  });
}
