import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useAuth } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader } from '@/components/ui/card';
import { AuthShell } from './shell';
import { isSsoError, safeReturn } from './sso';

/**
 * One exchange per code however often the page mounts: React's StrictMode runs effects
 * twice, and a code is good once (the second call would answer 401).
 */
const exchanges = new Map<string, Promise<void>>();
function exchangeOnce(code: string, exchange: (code: string) => Promise<void>): Promise<void> {
  let p = exchanges.get(code);
  if (!p) {
    p = exchange(code);
    exchanges.set(code, p);
  }
  return p;
}

/** Forgets the codes seen (tests). */
export function resetSsoExchanges(): void {
  exchanges.clear();
}

function loginWith(error: string, returnTo: string | null): string {
  const q = new URLSearchParams({ sso_error: error });
  if (returnTo) q.set('next', returnTo);
  return `/login?${q.toString()}`;
}

/**
 * `/login/sso?code=…[&return_to=…]`, where the API sends the browser after a single
 * sign-on: the one-time code is exchanged for a session (as a password login would start
 * one), then the console opens where the user was going. A refused code goes back to the
 * login page with the reason.
 */
export function SsoLanding() {
  const { t } = useTranslation();
  const { state, exchangeSso } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  // What went wrong when it is not for the login page to say: the API's message, or
  // `null` for no answer at all (the network).
  const [failure, setFailure] = React.useState<{ message: string | null } | null>(null);
  const code = params.get('code');
  const returnTo = safeReturn(params.get('return_to'));
  // The exchange waits for the session restore of the page load: a refresh answering
  // late must not replace the new session's token with an older one.
  const restoring = state.status === 'restoring';
  const exchange = React.useRef(exchangeSso);
  exchange.current = exchangeSso;

  React.useEffect(() => {
    if (restoring) return;
    if (!code) {
      void navigate(loginWith('sso_code_missing', returnTo), { replace: true });
      return;
    }
    let cancelled = false;
    exchangeOnce(code, (c) => exchange.current(c)).then(
      () => {
        if (!cancelled) void navigate(returnTo ?? '/', { replace: true });
      },
      (err: unknown) => {
        if (cancelled) return;
        if (err instanceof ApiError && err.status === 401) {
          // Used, unknown or expired code.
          void navigate(loginWith('sso_code_refused', returnTo), { replace: true });
        } else if (err instanceof ApiError && isSsoError(err.code)) {
          void navigate(loginWith(err.code, returnTo), { replace: true });
        } else {
          setFailure({ message: err instanceof ApiError ? err.message : null });
        }
      },
    );
    return () => {
      cancelled = true;
    };
  }, [restoring, code, returnTo, navigate]);

  return (
    <AuthShell>
      <Card>
        <CardHeader>
          <h1 className="text-lg font-semibold">{t('login.sso.title')}</h1>
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          {failure ? (
            <>
              <Alert>
                {t('login.sso.failed')} {failure.message ?? t('errors.network')}
              </Alert>
              <Link to={returnTo ? `/login?next=${encodeURIComponent(returnTo)}` : '/login'} className="text-sm text-blue-800 underline">
                {t('login.sso.back')}
              </Link>
            </>
          ) : (
            <p role="status" className="text-sm text-slate-700">
              {t('login.sso.signingIn')}
            </p>
          )}
        </CardContent>
      </Card>
    </AuthShell>
  );
}
