import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

export type User = components['schemas']['UserDto'];
export type CreateUserBody = components['schemas']['CreateUser'];
export type UpdateUserBody = components['schemas']['UpdateUser'];
export type Organisation = components['schemas']['OrganisationDto'];
export type Product = components['schemas']['ProductDto'];
export type Tier = components['schemas']['TierDto'];
export type CreateProductBody = components['schemas']['CreateProduct'];
export type UpdateProductBody = components['schemas']['UpdateProduct'];
export type Duration = components['schemas']['DurationDto'];
export type OrgKind = 'partners' | 'distributors';
export const ROLES = ['admin', 'restricted_admin', 'partner', 'distributor', 'fulfiller'] as const;
/** The languages a user's emails may be written in. */
export const LANGUAGES = ['en', 'fr'] as const;

export function useUsers(f: { q?: string; role?: string }) {
  return useInfiniteQuery({
    queryKey: ['admin', 'users', f],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET('/api/v1/users', { params: { query: { q: f.q || undefined, role: f.role || undefined, cursor: pageParam, limit: 25 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useCreateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateUserBody) => unwrap(api.POST('/api/v1/users', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'users'] }),
  });
}

export function useUpdateUser() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: UpdateUserBody }) =>
      unwrap(api.PATCH('/api/v1/users/{id}', { params: { path: { id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'users'] }),
  });
}

export function useOrganisations(kind: OrgKind, q?: string) {
  return useInfiniteQuery({
    queryKey: ['admin', kind, q ?? ''],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET(`/api/v1/${kind}` as '/api/v1/partners', { params: { query: { q: q || undefined, cursor: pageParam, limit: 50 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** Every organisation of a kind (for pickers). */
export function useAllOrganisations(kind: OrgKind) {
  return useQuery({
    queryKey: ['admin', kind, 'all'],
    queryFn: async () => {
      const out: Organisation[] = [];
      let cursor: string | undefined;
      do {
        const page = await unwrap(api.GET(`/api/v1/${kind}` as '/api/v1/partners', { params: { query: { cursor, limit: 200 } } }));
        out.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return out;
    },
  });
}

export function useCreateOrganisation(kind: OrgKind) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => unwrap(api.POST(`/api/v1/${kind}` as '/api/v1/partners', { body: { name } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', kind] }),
  });
}

export function useUpdateOrganisation(kind: OrgKind) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: { name?: string; is_active?: boolean } }) =>
      unwrap(api.PATCH(`/api/v1/${kind}/{id}` as '/api/v1/partners/{id}', { params: { path: { id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', kind] }),
  });
}

export function useAttachedPartners(distributorId: string | null) {
  return useQuery({
    queryKey: ['admin', 'attached', distributorId],
    enabled: distributorId !== null,
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/distributors/{id}/partners', { params: { path: { id: distributorId ?? '' }, query: { limit: 200 } } }))).items,
  });
}

export function useAttachment() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ distributorId, partnerId, attach }: { distributorId: string; partnerId: string; attach: boolean }) => {
      const opts = { params: { path: { id: distributorId, partner_id: partnerId } } };
      return attach
        ? unwrap(api.PUT('/api/v1/distributors/{id}/partners/{partner_id}', opts))
        : unwrap(api.DELETE('/api/v1/distributors/{id}/partners/{partner_id}', opts));
    },
    onSuccess: (_d, v) => qc.invalidateQueries({ queryKey: ['admin', 'attached', v.distributorId] }),
  });
}

export function useProducts() {
  return useInfiniteQuery({
    queryKey: ['admin', 'products'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => unwrap(api.GET('/api/v1/products', { params: { query: { cursor: pageParam, limit: 50 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useSaveProduct() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id?: string; body: CreateProductBody }) =>
      id
        ? unwrap(api.PATCH('/api/v1/products/{id}', { params: { path: { id } }, body: body as UpdateProductBody }))
        : unwrap(api.POST('/api/v1/products', { body })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['admin', 'products'] });
      void qc.invalidateQueries({ queryKey: ['admin', 'price-history'] });
      void qc.invalidateQueries({ queryKey: ['catalogue'] });
    },
  });
}

export function useSetProductActive() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, is_active }: { id: string; is_active: boolean }) =>
      unwrap(api.PATCH('/api/v1/products/{id}', { params: { path: { id } }, body: { is_active } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'products'] }),
  });
}

export function usePriceHistory(id: string | null) {
  return useQuery({
    queryKey: ['admin', 'price-history', id],
    enabled: id !== null,
    queryFn: () => unwrap(api.GET('/api/v1/products/{id}/price-history', { params: { path: { id: id ?? '' } } })),
  });
}

export function useAdminDurations() {
  return useQuery({ queryKey: ['admin', 'durations'], queryFn: () => unwrap(api.GET('/api/v1/durations')) });
}

export function useCreateDuration() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { months: number; discount_percentage: string }) => unwrap(api.POST('/api/v1/durations', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'durations'] }),
  });
}

export function useUpdateDuration() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: { discount_percentage?: string; is_active?: boolean } }) =>
      unwrap(api.PATCH('/api/v1/durations/{id}', { params: { path: { id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['admin', 'durations'] }),
  });
}
