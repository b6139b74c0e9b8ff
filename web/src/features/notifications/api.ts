import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

/** The document types `data` as an empty object; these are the facts a renewal carries. */
export interface NotificationData {
  order_reference?: string | null;
  expires_on?: string | null;
  draft_reference?: string | null;
}
export type Notification = Omit<components['schemas']['NotificationDto'], 'data'> & { data: NotificationData };
export interface NotificationPage {
  items: Notification[];
  next_cursor?: string | null;
  unread: number;
}

/** How often the header asks for the unread count. */
export const UNREAD_POLL_MS = 60_000;

export function useNotifications(unreadOnly: boolean) {
  return useInfiniteQuery({
    queryKey: ['notifications', 'list', { unread: unreadOnly }],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      (await unwrap(
        api.GET('/api/v1/notifications', {
          params: { query: { unread: unreadOnly || undefined, cursor: pageParam, limit: 25 } },
        }),
      )) as unknown as NotificationPage,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** The caller's unread count (all of them, not one page's), polled for the header badge. */
export function useUnreadCount() {
  return useQuery({
    queryKey: ['notifications', 'unread'],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/notifications', { params: { query: { unread: true, limit: 1 } } }))).unread,
    refetchInterval: UNREAD_POLL_MS,
  });
}

export function useMarkRead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/v1/notifications/{id}/read', { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['notifications'] }),
  });
}

export function useMarkAllRead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/notifications/read-all')),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['notifications'] }),
  });
}
