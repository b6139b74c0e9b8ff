import * as React from 'react';
import { useForm, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { useAuth } from '@/lib/auth';
import { applyApiErrors } from '@/lib/forms';
import { ApiError } from '@/lib/errors';
import { Button, buttonVariants } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { cn } from '@/lib/utils';
import { useAuthMethods, type AuthMethods } from './api';
import { AuthShell } from './shell';
import { isSsoError, safeReturn, ssoHref } from './sso';

// With a directory active the login is an email or a directory user name (`jdupont`):
// only the email form is checked then.
const byEmail = z.object({
  email: z.string().trim().min(1, 'required').email('invalid_email'),
  password: z.string().min(1, 'required'),
});
const byLogin = z.object({
  email: z.string().trim().min(1, 'required'),
  password: z.string().min(1, 'required'),
});
type Values = z.infer<typeof byEmail>;
const resolvers = { email: zodResolver(byEmail), login: zodResolver(byLogin) };

/**
 * `?sso_error=<code>` (a failed single sign-on sent back here): kept on the page, dropped
 * from the address so a reload or a bookmark does not show it again.
 */
function useSsoError(): string | null {
  const [params, setParams] = useSearchParams();
  const [error] = React.useState(() => params.get('sso_error'));
  const present = params.has('sso_error');
  React.useEffect(() => {
    if (!present) return;
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        next.delete('sso_error');
        return next;
      },
      { replace: true },
    );
  }, [present, setParams]);
  return error;
}

function SsoButtons({ methods, returnTo }: { methods: AuthMethods['sso']; returnTo: string }) {
  const { t } = useTranslation();
  return (
    <ul className="flex flex-col gap-2">
      {methods.map((m) => (
        // A full page load, not a fetch: the API redirects the browser to the provider.
        <li key={m.provider}>
          <a href={ssoHref(m.start_url, returnTo)} className={cn(buttonVariants({ variant: 'outline' }), 'w-full')}>
            {t('login.sso.signInWith', { label: m.label })}
          </a>
        </li>
      ))}
    </ul>
  );
}

export function LoginPage({ expired = false }: { expired?: boolean }) {
  const { t } = useTranslation();
  const { login } = useAuth();
  const methods = useAuthMethods();
  const [params] = useSearchParams();
  const ssoError = useSsoError();
  const [failure, setFailure] = React.useState<string | null>(null);
  const directory = methods.data?.directory ?? false;
  // The methods load after the form shows: the resolver reads the mode when it runs.
  const mode = React.useRef<'email' | 'login'>('email');
  mode.current = directory ? 'login' : 'email';
  const resolver = React.useCallback<Resolver<Values>>((...args) => resolvers[mode.current](...args), []);
  const form = useForm<Values>({ resolver, defaultValues: { email: '', password: '' } });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      await login(v.email.trim(), v.password);
    } catch (err) {
      const { handled } = applyApiErrors(t, err, form.setError, ['email', 'password']);
      if (handled) return;
      if (err instanceof ApiError) {
        // 503 `directory_unavailable`: the API says it in the user's language already.
        setFailure(err.message || (err.code === 'directory_unavailable' ? t('login.directoryUnavailable') : t('errors.unknown')));
      } else {
        setFailure(t('errors.network'));
      }
    }
  });

  const fieldError = (name: keyof Values) => {
    const e = errors[name];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };

  const demo = methods.data?.demo_logins ?? [];
  const sso = methods.data?.sso ?? [];
  const returnTo = safeReturn(params.get('next')) ?? '/';
  const ssoMessage = ssoError
    ? isSsoError(ssoError)
      ? t(`login.sso.errors.${ssoError}`)
      : t('login.sso.errors.unknown', { code: ssoError })
    : null;

  return (
    <AuthShell>
      <Card>
        <CardHeader>
          <h1 className="text-lg font-semibold">{t('login.title')}</h1>
          <p className="text-sm text-slate-700">{t('login.subtitle')}</p>
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          {ssoMessage ? <Alert data-testid="sso-error">{ssoMessage}</Alert> : null}
          {sso.length > 0 ? (
            <>
              <SsoButtons methods={sso} returnTo={returnTo} />
              <div className="flex items-center gap-2 text-xs text-slate-700" role="separator" aria-label={t('login.or')}>
                <span className="h-px flex-1 bg-slate-300" />
                <span aria-hidden>{t('login.or')}</span>
                <span className="h-px flex-1 bg-slate-300" />
              </div>
            </>
          ) : null}
          <form onSubmit={onSubmit} noValidate className="flex flex-col gap-3" aria-label={t('login.title')}>
            {expired ? <Alert variant="info">{t('login.expired')}</Alert> : null}
            {failure ? <Alert>{failure}</Alert> : null}
            <FormField id="email" label={directory ? t('login.emailOrUsername') : t('login.email')} error={fieldError('email')}>
              {(a) => <Input type={directory ? 'text' : 'email'} autoComplete="username" {...a} {...form.register('email')} />}
            </FormField>
            <FormField id="password" label={t('login.password')} error={fieldError('password')}>
              {(a) => <Input type="password" autoComplete="current-password" {...a} {...form.register('password')} />}
            </FormField>
            <Button type="submit" disabled={isSubmitting}>
              {isSubmitting ? t('login.signingIn') : t('login.submit')}
            </Button>
          </form>
        </CardContent>
      </Card>
      {demo.length > 0 ? (
        <section aria-labelledby="demo-title" className="mt-4">
          <h2 id="demo-title" className="mb-2 text-sm font-semibold text-slate-800">
            {t('login.demoTitle')}
          </h2>
          <ul className="grid gap-1">
            {demo.map((d) => (
              <li key={d.email}>
                <button
                  type="button"
                  className="flex w-full items-center justify-between rounded-md border border-slate-300 bg-white px-3 py-1.5 text-left text-sm hover:bg-blue-50 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600"
                  onClick={() => {
                    form.setValue('email', d.email);
                    form.setValue('password', d.password);
                    form.clearErrors();
                  }}
                >
                  <span className="truncate">{d.email}</span>
                  <span className="ml-2 shrink-0 text-xs text-slate-700">
                    {t(`roles.${d.role}`, { defaultValue: d.role })}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </AuthShell>
  );
}
