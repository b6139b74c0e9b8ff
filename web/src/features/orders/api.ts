import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { BasketLine, Order, OrderFilters } from './types';

export const orderKeys = {
  all: ['orders'] as const,
  list: (f: OrderFilters) => ['orders', 'list', f] as const,
  detail: (id: string) => ['orders', 'detail', id] as const,
};

export function useOrders(filters: OrderFilters) {
  return useInfiniteQuery({
    queryKey: orderKeys.list(filters),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/orders', {
          params: {
            query: {
              state: filters.state || undefined,
              q: filters.q || undefined,
              sort: filters.sort || undefined,
              partner_id: filters.partner_id || undefined,
              cursor: pageParam,
              limit: 25,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useOrder(id: string) {
  return useQuery({
    queryKey: orderKeys.detail(id),
    queryFn: () => unwrap(api.GET('/api/v1/orders/{id}', { params: { path: { id } } })),
  });
}

/** The active catalogue, every page of it (the wizard offers all products). */
export function useCatalogue() {
  return useQuery({
    queryKey: ['catalogue', 'products'],
    queryFn: async () => {
      const items = [];
      let cursor: string | undefined;
      do {
        const page = await unwrap(api.GET('/api/v1/products', { params: { query: { cursor, limit: 200 } } }));
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return items;
    },
    staleTime: 60_000,
  });
}

export function useDurations() {
  return useQuery({
    queryKey: ['catalogue', 'durations'],
    queryFn: () => unwrap(api.GET('/api/v1/durations')),
    staleTime: 60_000,
  });
}

/** `POST /api/v1/quotes/preview` for the basket as it stands (nothing is created). */
export function useQuotePreview(lines: BasketLine[], enabled: boolean) {
  return useQuery({
    queryKey: ['quotes', 'preview', lines],
    queryFn: () => unwrap(api.POST('/api/v1/quotes/preview', { body: { lines } })),
    enabled,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

export function useCreateOrder() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (lines: BasketLine[]) => unwrap(api.POST('/api/v1/orders', { body: { lines } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: orderKeys.all }),
  });
}

export function useOrderTransition() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ order, event }: { order: Order; event: string }) =>
      unwrap(
        api.POST('/api/v1/orders/{id}/transitions', {
          params: { path: { id: order.id } },
          body: { event, expected_version: order.version },
        }),
      ),
    onSuccess: (order) => {
      qc.setQueryData(orderKeys.detail(order.id), order);
      void qc.invalidateQueries({ queryKey: ['orders', 'list'] });
      void qc.invalidateQueries({ queryKey: ['lifecycle', 'orders', order.id] });
      void qc.invalidateQueries({ queryKey: ['orders', 'contract', order.id] });
    },
  });
}

/**
 * The contract an order's fulfilment created, if any. It is made in the background
 * right after the order is fulfilled: look again until it is there.
 */
export function useOrderContract(orderId: string, enabled: boolean) {
  return useQuery({
    refetchInterval: (q) => (q.state.data === null && q.state.dataUpdateCount < 40 ? 1500 : false),
    queryKey: ['orders', 'contract', orderId],
    queryFn: async () => {
      const page = await unwrap(api.GET('/api/v1/contracts', { params: { query: { order_id: orderId, limit: 1 } } }));
      return page.items[0] ?? null;
    },
    enabled,
  });
}

/** `PUT /api/v1/orders/{id}/lines`: new lines for an order still `created`, re-priced. */
export function useReplaceOrderLines() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ order, lines }: { order: Order; lines: BasketLine[] }) =>
      unwrap(
        api.PUT('/api/v1/orders/{id}/lines', {
          params: { path: { id: order.id } },
          body: { lines, expected_version: order.version },
        }),
      ),
    onSuccess: (order) => {
      qc.setQueryData(orderKeys.detail(order.id), order);
      void qc.invalidateQueries({ queryKey: ['orders', 'list'] });
      void qc.invalidateQueries({ queryKey: ['lifecycle', 'orders', order.id] });
    },
  });
}

export function useDeleteOrder() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v1/orders/{id}', { params: { path: { id } } })),
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: orderKeys.detail(id) });
      void qc.invalidateQueries({ queryKey: ['orders', 'list'] });
    },
  });
}

export function useReassignOrder() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, partner_id, distributor_id }: { id: string; partner_id: string | null; distributor_id: string | null }) =>
      unwrap(api.POST('/api/v1/orders/{id}/reassign', { params: { path: { id } }, body: { partner_id, distributor_id } })),
    onSuccess: (order) => {
      qc.setQueryData(orderKeys.detail(order.id), order);
      void qc.invalidateQueries({ queryKey: ['orders', 'list'] });
    },
  });
}
