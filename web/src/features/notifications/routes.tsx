import * as React from 'react';
import { Link, Route, Routes } from 'react-router';
import { useTranslation } from 'react-i18next';
import { CheckCheck } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Badge } from '@/components/ui/badge';
import { Card } from '@/components/ui/card';
import { Empty, ErrorMessage, LoadMore, Loading, NotFound, PageHeader } from '@/components/page';
import { useCan } from '@/lib/auth';
import { dateTime } from '@/lib/format';
import { cn } from '@/lib/utils';
import { useMarkAllRead, useMarkRead, useNotifications, type Notification } from './api';

const EMAIL_STATES = ['sent', 'skipped', 'pending'] as const;

function EmailState({ status }: { status: string }) {
  const { t } = useTranslation();
  const known = (EMAIL_STATES as readonly string[]).includes(status);
  return (
    <span className="text-xs text-slate-700" data-testid="email-state">
      {known ? t(`notifications.email.${status}`) : t('notifications.email.other', { status })}
    </span>
  );
}

function Item({ n, onRead, busy }: { n: Notification; onRead: (id: string) => void; busy: boolean }) {
  const { t } = useTranslation();
  const can = useCan();
  const unread = !n.read_at;
  const draft = n.data?.draft_reference;
  return (
    <li>
      <Card
        data-testid="notification"
        className={cn('flex flex-col gap-2 p-4', unread && 'border-l-4 border-l-blue-700')}
      >
        <div className="flex flex-col gap-1 sm:flex-row sm:items-start sm:justify-between">
          <div className="flex flex-wrap items-center gap-2">
            <h2 className={cn('text-base text-slate-900', unread ? 'font-semibold' : 'font-medium')}>
              {n.subject}
            </h2>
            {unread ? <Badge variant="blue">{t('notifications.unread')}</Badge> : null}
          </div>
          <time dateTime={n.created_at} className="shrink-0 text-xs text-slate-700">
            {dateTime(n.created_at)}
          </time>
        </div>
        <p className="whitespace-pre-line text-sm text-slate-800">{n.body}</p>
        {draft ? (
          <p className="text-sm text-slate-800" data-testid="draft-hint">
            {can('order:view_own', 'order:activate') ? (
              <Link to={`/orders?q=${encodeURIComponent(draft)}`} className="font-medium text-blue-800 hover:underline">
                {t('notifications.draft', { reference: draft })}
              </Link>
            ) : (
              t('notifications.draft', { reference: draft })
            )}
          </p>
        ) : null}
        <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
          {n.object_type === 'contract' && can('contract:view_own', 'contract:activate') ? (
            <Link to={`/contracts/${n.object_id}`} className="text-sm font-medium text-blue-800 hover:underline">
              {n.data?.order_reference
                ? t('notifications.openContractOf', { reference: n.data.order_reference })
                : t('notifications.openContract')}
            </Link>
          ) : null}
          <EmailState status={n.email_status} />
          {unread ? (
            <Button
              size="sm"
              variant="outline"
              className="sm:ml-auto"
              disabled={busy}
              onClick={() => onRead(n.id)}
              aria-label={t('notifications.markReadOf', { subject: n.subject })}
            >
              {t('notifications.markRead')}
            </Button>
          ) : null}
        </div>
      </Card>
    </li>
  );
}

export function NotificationsPage() {
  const { t } = useTranslation();
  const [unreadOnly, setUnreadOnly] = React.useState(false);
  const list = useNotifications(unreadOnly);
  const markRead = useMarkRead();
  const markAll = useMarkAllRead();
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  // Every page carries the caller's whole unread count; the newest page says it best.
  const unread = list.data?.pages[0]?.unread ?? 0;
  const failure = markRead.error ?? markAll.error;

  return (
    <div className="flex flex-col gap-3">
      <PageHeader
        title={t('notifications.title')}
        actions={
          <Button variant="outline" disabled={unread === 0 || markAll.isPending} onClick={() => markAll.mutate()}>
            <CheckCheck className="h-4 w-4" aria-hidden />
            {t('notifications.markAllRead')}
          </Button>
        }
      >
        {list.data ? (
          <p className="text-sm text-slate-700" data-testid="unread-count">
            {t('notifications.unreadCount', { count: unread })}
          </p>
        ) : null}
      </PageHeader>
      <div className="flex items-center gap-2">
        <input
          id="notifications-unread-only"
          type="checkbox"
          className="h-4 w-4 rounded border-slate-300 focus-visible:ring-2 focus-visible:ring-blue-600"
          checked={unreadOnly}
          onChange={(e) => setUnreadOnly(e.target.checked)}
        />
        <label htmlFor="notifications-unread-only" className="text-sm font-medium text-slate-800">
          {t('notifications.unreadOnly')}
        </label>
      </div>
      <ErrorMessage error={failure} />
      <ErrorMessage error={list.error} />
      {list.isPending ? <Loading /> : null}
      {list.data && items.length === 0 ? (
        <Empty>{unreadOnly ? t('notifications.emptyUnread') : t('notifications.empty')}</Empty>
      ) : null}
      {items.length > 0 ? (
        <ul className="flex flex-col gap-2" aria-label={t('notifications.title')}>
          {items.map((n) => (
            <Item key={n.id} n={n} busy={markRead.isPending} onRead={(id) => markRead.mutate(id)} />
          ))}
        </ul>
      ) : null}
      <LoadMore hasNextPage={list.hasNextPage} isFetchingNextPage={list.isFetchingNextPage} fetchNextPage={list.fetchNextPage} />
    </div>
  );
}

export default function NotificationRoutes() {
  return (
    <Routes>
      <Route index element={<NotificationsPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
