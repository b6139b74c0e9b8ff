import * as React from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { useAuth } from '@/lib/auth';
import { applyApiErrors } from '@/lib/forms';
import { ApiError } from '@/lib/errors';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { LanguageSwitch } from '@/components/language-switch';
import { useAuthMethods } from './api';

const schema = z.object({
  email: z.string().trim().min(1, 'required').email('invalid_email'),
  password: z.string().min(1, 'required'),
});
type Values = z.infer<typeof schema>;

export function LoginPage({ expired = false }: { expired?: boolean }) {
  const { t } = useTranslation();
  const { login } = useAuth();
  const methods = useAuthMethods();
  const [failure, setFailure] = React.useState<string | null>(null);
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { email: '', password: '' } });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      await login(v.email.trim(), v.password);
    } catch (err) {
      const { handled } = applyApiErrors(t, err, form.setError, ['email', 'password']);
      if (!handled) setFailure(err instanceof ApiError ? err.message : t('errors.network'));
    }
  });

  const fieldError = (name: keyof Values) => {
    const e = errors[name];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };

  const demo = methods.data?.demo_logins ?? [];

  return (
    <div className="flex min-h-screen flex-col items-center justify-center bg-slate-100 p-4">
      <div className="mb-4 flex w-full max-w-sm items-center justify-between">
        <span className="text-2xl font-bold text-blue-800">Tentabo</span>
        <LanguageSwitch />
      </div>
      <main className="w-full max-w-sm">
        <Card>
          <CardHeader>
            <h1 className="text-lg font-semibold">{t('login.title')}</h1>
            <p className="text-sm text-slate-700">{t('login.subtitle')}</p>
          </CardHeader>
          <CardContent>
            <form onSubmit={onSubmit} noValidate className="flex flex-col gap-3" aria-label={t('login.title')}>
              {expired ? <Alert variant="info">{t('login.expired')}</Alert> : null}
              {failure ? <Alert>{failure}</Alert> : null}
              <FormField id="email" label={t('login.email')} error={fieldError('email')}>
                {(a) => <Input type="email" autoComplete="username" {...a} {...form.register('email')} />}
              </FormField>
              <FormField id="password" label={t('login.password')} error={fieldError('password')}>
                {(a) => (
                  <Input type="password" autoComplete="current-password" {...a} {...form.register('password')} />
                )}
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
      </main>
    </div>
  );
}
