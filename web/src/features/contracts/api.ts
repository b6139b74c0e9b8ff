import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

export type Contract = components['schemas']['ContractDto'];
export type ContractDetail = components['schemas']['ContractDetail'];
export const CONTRACT_STATES = ['active', 'lost', 'upgraded', 'downgraded'] as const;

export interface ContractFilters {
  state?: string;
  renewal_due?: boolean;
  sort?: string;
  partner_id?: string;
}

export function useContracts(f: ContractFilters) {
  return useInfiniteQuery({
    queryKey: ['contracts', 'list', f],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/contracts', {
          params: {
            query: {
              state: f.state,
              renewal_due: f.renewal_due,
              sort: f.sort,
              partner_id: f.partner_id || undefined,
              cursor: pageParam,
              limit: 25,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useContract(id: string) {
  return useQuery({
    queryKey: ['contracts', 'detail', id],
    queryFn: () => unwrap(api.GET('/api/v1/contracts/{id}', { params: { path: { id } } })),
  });
}

/** Orders that may replace a contract (upgrade or downgrade). */
export function useReplacementOrders(enabled: boolean) {
  return useQuery({
    queryKey: ['contracts', 'replacement-orders'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/orders', { params: { query: { limit: 100 } } }))).items,
    enabled,
  });
}

export function useContractTransition() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ contract, event, orderId }: { contract: Contract; event: string; orderId?: string }) =>
      unwrap(
        api.POST('/api/v1/contracts/{id}/transitions', {
          params: { path: { id: contract.id } },
          body: {
            event,
            expected_version: contract.version,
            // The document types `payload` as an empty object; an upgrade's is `{ order_id }`.
            ...(orderId ? { payload: { order_id: orderId } as never } : {}),
          },
        }),
      ),
    onSuccess: (_c, v) => {
      void qc.invalidateQueries({ queryKey: ['contracts'] });
      void qc.invalidateQueries({ queryKey: ['lifecycle', 'contracts', v.contract.id] });
    },
  });
}

export function useReassignContract() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, partner_id, distributor_id }: { id: string; partner_id: string | null; distributor_id: string | null }) =>
      unwrap(api.POST('/api/v1/contracts/{id}/reassign', { params: { path: { id } }, body: { partner_id, distributor_id } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['contracts'] }),
  });
}
