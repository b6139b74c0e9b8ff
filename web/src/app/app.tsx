import * as React from 'react';
import { BrowserRouter, Navigate, Outlet, Route, Routes, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { AuthProvider, useAuth, useMe } from '@/lib/auth';
import { Forbidden, NotFound } from '@/components/page';
import { LoginPage } from '@/features/auth/login-page';
import { SsoLanding } from '@/features/auth/sso-page';
import { safeReturn } from '@/features/auth/sso';
import { Providers } from './providers';
import { AppLayout } from './layout';
import { NAV, visibleNav } from './nav';

const Leads = React.lazy(() => import('@/features/leads/routes'));
const Orders = React.lazy(() => import('@/features/orders/routes'));
const Contracts = React.lazy(() => import('@/features/contracts/routes'));
const Dashboards = React.lazy(() => import('@/features/dashboards/routes'));
const Admin = React.lazy(() => import('@/features/admin/routes'));
const Integrations = React.lazy(() => import('@/features/integrations/routes'));
const Mappings = React.lazy(() => import('@/features/mappings/routes'));
const Sync = React.lazy(() => import('@/features/sync/routes'));
const Jobs = React.lazy(() => import('@/features/jobs/routes'));
const Notifications = React.lazy(() => import('@/features/notifications/routes'));

function Splash() {
  const { t } = useTranslation();
  return (
    <p role="status" className="p-8 text-center text-sm text-slate-700">
      {t('common.loading')}
    </p>
  );
}

function RequireAuth() {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status === 'restoring') return <Splash />;
  if (state.status === 'anonymous') {
    const next = location.pathname + location.search;
    return (
      <Navigate
        to={`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}
        replace
        state={{ expired: state.expired }}
      />
    );
  }
  return <Outlet />;
}

function LoginGate() {
  const { state } = useAuth();
  const location = useLocation();
  // The form shows at once; a session restored meanwhile moves on to the app.
  if (state.status === 'authenticated') {
    const next = new URLSearchParams(location.search).get('next');
    return <Navigate to={safeReturn(next) ?? '/'} replace />;
  }
  return <LoginPage expired={state.status === 'anonymous' && Boolean(state.expired)} />;
}

/** Shows the screen only to callers holding one of the permissions of its nav entry. */
function Guard({ path, children }: { path: string; children: React.ReactNode }) {
  const me = useMe();
  const entry = NAV.find((n) => n.to === path);
  const allowed = entry ? entry.perms.some((p) => me.permissions.includes(p)) : false;
  return allowed ? <>{children}</> : <Forbidden />;
}

function Home() {
  const me = useMe();
  const first = visibleNav(me.permissions)[0];
  return first ? <Navigate to={first.to} replace /> : <Forbidden />;
}

function AdminGuard() {
  const me = useMe();
  const allowed = NAV.filter((n) => n.to.startsWith('/admin/')).some((n) => n.perms.some((p) => me.permissions.includes(p)));
  return allowed ? <Admin /> : <Forbidden />;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginGate />} />
      {/* Where a single sign-on comes back with its one-time code (public). */}
      <Route path="/login/sso" element={<SsoLanding />} />
      <Route element={<RequireAuth />}>
        <Route element={<AppLayout />}>
          <Route index element={<Home />} />
          <Route path="leads/*" element={<Guard path="/leads"><Leads /></Guard>} />
          <Route path="orders/*" element={<Guard path="/orders"><Orders /></Guard>} />
          <Route path="contracts/*" element={<Guard path="/contracts"><Contracts /></Guard>} />
          <Route path="dashboards/*" element={<Guard path="/dashboards"><Dashboards /></Guard>} />
          <Route path="admin/*" element={<AdminGuard />} />
          <Route path="integrations/*" element={<Guard path="/integrations"><Integrations /></Guard>} />
          <Route path="integrations/mappings/*" element={<Guard path="/integrations"><Mappings /></Guard>} />
          <Route path="sync/*" element={<Guard path="/sync"><Sync /></Guard>} />
          <Route path="jobs/*" element={<Guard path="/jobs"><Jobs /></Guard>} />
          {/* Everyone signed in has their own inbox. */}
          <Route path="notifications/*" element={<Notifications />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <Providers>
      <AuthProvider>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </AuthProvider>
    </Providers>
  );
}
