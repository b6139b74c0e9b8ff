import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

export type AuthMethods = components['schemas']['AuthMethods'];

/** `GET /api/v1/auth/methods`: how one may sign in here (demo logins in demo mode). */
export function useAuthMethods() {
  return useQuery({
    queryKey: ['auth', 'methods'],
    queryFn: () => unwrap(api.GET('/api/v1/auth/methods')),
    staleTime: Infinity,
    retry: false,
  });
}
