import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '@/lib/errors';
import { Alert } from './ui/alert';
import { Button } from './ui/button';

export function PageHeader({
  title,
  actions,
  children,
}: {
  title: string;
  actions?: React.ReactNode;
  children?: React.ReactNode;
}) {
  return (
    <div className="mb-4 flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
      <div>
        <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
        {children}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/** An error as the API explained it (message in the user's language). */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  const message =
    error instanceof ApiError
      ? error.message
      : error instanceof Error
        ? t('errors.network')
        : t('errors.unknown');
  return <Alert>{message}</Alert>;
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p role="status" className="py-6 text-sm text-slate-700">
      {t('common.loading')}
    </p>
  );
}

export function Empty({ children }: { children: React.ReactNode }) {
  return <p className="py-6 text-center text-sm text-slate-700">{children}</p>;
}

/** The "next page" of a cursor-paged list. */
export function LoadMore({
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
}: {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}) {
  const { t } = useTranslation();
  if (!hasNextPage) return null;
  return (
    <div className="mt-3 flex justify-center">
      <Button variant="outline" onClick={() => fetchNextPage()} disabled={isFetchingNextPage}>
        {isFetchingNextPage ? t('common.loading') : t('common.loadMore')}
      </Button>
    </div>
  );
}

export function Forbidden() {
  const { t } = useTranslation();
  return (
    <div className="mx-auto max-w-md py-16 text-center">
      <h1 className="text-2xl font-semibold">{t('forbidden.title')}</h1>
      <p className="mt-2 text-slate-700">{t('forbidden.body')}</p>
    </div>
  );
}

export function NotFound() {
  const { t } = useTranslation();
  return (
    <div className="mx-auto max-w-md py-16 text-center">
      <h1 className="text-2xl font-semibold">{t('notFound.title')}</h1>
      <p className="mt-2 text-slate-700">{t('notFound.body')}</p>
    </div>
  );
}

export function StateBadgeText({ prefix, value }: { prefix: string; value: string }) {
  const { t } = useTranslation();
  return <>{t(`${prefix}.${value}`, { defaultValue: value })}</>;
}
