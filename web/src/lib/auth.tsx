import * as React from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, setSessionExpiredHandler } from './api';
import { ApiError } from './errors';
import { refreshSession, session } from './session';
import type { components } from '@/api/schema';

/** `GET /api/v1/auth/me`: the user and what it may do (`"<object>:<action>"`). */
export type Me = Pick<
  components['schemas']['MeDto'],
  'id' | 'email' | 'full_name' | 'role' | 'partner_id' | 'distributor_id' | 'permissions'
>;

type TokenResponse = components['schemas']['TokenResponse'];

type State =
  | { status: 'restoring' }
  | { status: 'anonymous'; expired?: boolean }
  | { status: 'authenticated'; me: Me };

interface AuthApi {
  state: State;
  /** Email (or directory user name) and password. */
  login(email: string, password: string): Promise<void>;
  /** Redeems the one-time code a single sign-on left in the console's address. */
  exchangeSso(code: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = React.createContext<AuthApi | null>(null);

async function fetchMe(): Promise<Me> {
  const { data, error, response } = await api.GET('/api/v1/auth/me');
  if (!response.ok || !data) throw new ApiError(response.status, error);
  return data;
}

export function AuthProvider({ children }: { children: React.ReactNode }) {
  const [state, setState] = React.useState<State>({ status: 'restoring' });
  const queryClient = useQueryClient();

  React.useEffect(() => {
    let cancelled = false;
    setSessionExpiredHandler(() => {
      session.set(null);
      queryClient.clear();
      setState({ status: 'anonymous', expired: true });
    });
    void (async () => {
      const restored = await refreshSession();
      if (cancelled) return;
      // Only the first answer counts: a login during the restore wins.
      const settle = (next: State) => setState((s) => (s.status === 'restoring' ? next : s));
      if (!restored) {
        settle({ status: 'anonymous' });
        return;
      }
      try {
        const me = await fetchMe();
        if (!cancelled) settle({ status: 'authenticated', me });
      } catch {
        if (!cancelled) settle({ status: 'anonymous' });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [queryClient]);

  const value = React.useMemo<AuthApi>(() => {
    /** Keeps the access token of a new session (a login, an SSO exchange) and loads the user. */
    const begin = async (answer: Promise<{ data?: TokenResponse; error?: unknown; response: Response }>) => {
      const { data, error, response } = await answer;
      if (!response.ok || !data) throw new ApiError(response.status, error);
      session.set(data.access_token);
      const me = await fetchMe();
      queryClient.clear();
      setState({ status: 'authenticated', me });
    };
    return {
      state,
      // `cookie: true`: the refresh token comes back as an HttpOnly cookie.
      login: (email, password) => begin(api.POST('/api/v1/auth/login', { body: { email, password, cookie: true } })),
      exchangeSso: (code) => begin(api.POST('/api/v1/auth/sso/exchange', { body: { code, cookie: true } })),
      async logout() {
        try {
          await api.POST('/api/v1/auth/logout', { body: {} });
        } finally {
          session.set(null);
          queryClient.clear();
          setState({ status: 'anonymous' });
        }
      },
    };
  }, [state, queryClient]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const ctx = React.useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user; only for screens behind the authentication guard. */
export function useMe(): Me {
  const { state } = useAuth();
  if (state.status !== 'authenticated') throw new Error('useMe without a session');
  return state.me;
}

/** Whether the signed-in user holds any of the given permissions. */
export function useCan(): (...perms: string[]) => boolean {
  const me = useMe();
  return React.useCallback(
    (...perms: string[]) => perms.some((p) => me.permissions.includes(p)),
    [me.permissions],
  );
}

/** A test helper and the app's provider of a known user (no network). */
export function StaticAuthProvider({ me, children }: { me: Me; children: React.ReactNode }) {
  const value = React.useMemo<AuthApi>(
    () => ({
      state: { status: 'authenticated', me },
      login: async () => {},
      exchangeSso: async () => {},
      logout: async () => {},
    }),
    [me],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
