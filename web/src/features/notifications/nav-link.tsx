import { NavLink } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Bell } from 'lucide-react';
import { cn } from '@/lib/utils';
import { useUnreadCount } from './api';

/** The header's way to the inbox, with the unread count (polled) as a badge. */
export function NotificationsLink() {
  const { t } = useTranslation();
  const unread = useUnreadCount().data ?? 0;
  return (
    <NavLink
      to="/notifications"
      aria-label={unread > 0 ? t('notifications.linkUnread', { count: unread }) : t('notifications.title')}
      className={({ isActive }) =>
        cn(
          'relative inline-flex h-9 items-center gap-2 rounded-md px-2 text-sm font-medium text-slate-800 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600',
          isActive && 'bg-blue-100 text-blue-900',
        )
      }
    >
      <Bell className="h-5 w-5" aria-hidden />
      <span className="hidden lg:inline">{t('notifications.title')}</span>
      {unread > 0 ? (
        <span
          aria-hidden
          data-testid="notifications-badge"
          className="inline-flex min-w-5 items-center justify-center rounded-full bg-red-700 px-1.5 text-xs font-semibold leading-5 text-white"
        >
          {unread > 99 ? '99+' : unread}
        </span>
      ) : null}
    </NavLink>
  );
}
