import * as React from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { LogOut, Menu } from 'lucide-react';
import { useAuth, useMe } from '@/lib/auth';
import { Button } from '@/components/ui/button';
import { cn } from '@/lib/utils';
import { visibleNav } from './nav';
import { LanguageSwitch } from '@/components/language-switch';
import { NotificationsLink } from '@/features/notifications/nav-link';

export function AppLayout() {
  const { t } = useTranslation();
  const me = useMe();
  const { logout } = useAuth();
  const items = visibleNav(me.permissions);
  const [open, setOpen] = React.useState(false);
  const location = useLocation();
  React.useEffect(() => setOpen(false), [location.pathname]);

  const links = (
    <ul className="flex flex-col gap-0.5">
      {items.map((item) => (
        <li key={item.to}>
          <NavLink
            to={item.to}
            className={({ isActive }) =>
              cn(
                'block rounded-md px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-200 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600',
                isActive && 'bg-blue-100 text-blue-900',
              )
            }
          >
            {t(item.label)}
          </NavLink>
        </li>
      ))}
    </ul>
  );

  return (
    <div className="min-h-screen">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        {t('header.skip')}
      </a>
      <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b border-slate-200 bg-white px-3 sm:px-4">
        <Button
          variant="ghost"
          size="icon"
          className="md:hidden"
          aria-label={t('header.menu')}
          aria-expanded={open}
          aria-controls="mobile-nav"
          onClick={() => setOpen((o) => !o)}
        >
          <Menu className="h-5 w-5" aria-hidden />
        </Button>
        <span className="text-lg font-bold text-blue-800">Tentabo</span>
        <div className="ml-auto flex items-center gap-2 sm:gap-3">
          <LanguageSwitch />
          <NotificationsLink />
          <span className="hidden text-sm text-slate-800 sm:inline" data-testid="current-user">
            {me.full_name}{' '}
            <span className="text-slate-600">({t(`roles.${me.role}`)})</span>
          </span>
          <Button variant="outline" size="sm" onClick={() => void logout()}>
            <LogOut className="h-4 w-4" aria-hidden />
            <span>{t('header.logout')}</span>
          </Button>
        </div>
      </header>
      <div className="flex">
        <nav
          aria-label={t('nav.label')}
          className="sticky top-14 hidden h-[calc(100vh-3.5rem)] w-56 shrink-0 overflow-y-auto border-r border-slate-200 bg-slate-100 p-3 md:block"
        >
          {links}
        </nav>
        {open ? (
          <nav
            id="mobile-nav"
            aria-label={t('nav.label')}
            className="fixed inset-x-0 top-14 z-20 border-b border-slate-200 bg-slate-100 p-3 shadow md:hidden"
          >
            {links}
          </nav>
        ) : null}
        <main id="main" className="min-w-0 flex-1 p-3 sm:p-6">
          <React.Suspense fallback={<p role="status" className="text-sm text-slate-700">{t('common.loading')}</p>}>
            <Outlet />
          </React.Suspense>
        </main>
      </div>
    </div>
  );
}
