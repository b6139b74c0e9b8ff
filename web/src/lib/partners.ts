import { useQuery } from '@tanstack/react-query';
import { api } from './api';
import { unwrap } from './errors';
import { useMe } from './auth';

/**
 * The partner organisations the caller may pick from (filters, a lead's owner): every
 * partner for staff, the attached ones for a distributor; none for a partner, who only
 * ever sees its own.
 */
export function usePartnerOptions() {
  const me = useMe();
  const enabled = me.role !== 'partner' && me.permissions.includes('partner:view');
  return useQuery({
    queryKey: ['partner-options', me.id],
    enabled,
    staleTime: 60_000,
    queryFn: async () => {
      const out: { id: string; name: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await unwrap(api.GET('/api/v1/partners', { params: { query: { cursor, limit: 200 } } }));
        out.push(...page.items.map((p) => ({ id: p.id, name: p.name })));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return out;
    },
  });
}

/** The distributors the caller may pick from (staff with `distributor:view`). */
export function useDistributorOptions(enabled = true) {
  const me = useMe();
  const allowed = enabled && me.permissions.includes('distributor:view');
  return useQuery({
    queryKey: ['distributor-options', me.id],
    enabled: allowed,
    staleTime: 60_000,
    queryFn: async () => {
      const out: { id: string; name: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await unwrap(api.GET('/api/v1/distributors', { params: { query: { cursor, limit: 200 } } }));
        out.push(...page.items.map((d) => ({ id: d.id, name: d.name })));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return out;
    },
  });
}
