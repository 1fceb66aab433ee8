import type { ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Shell } from './components/Layout';
import { ErrorBox, Loading, PageHeader } from './components/ui';
import { langStore, t } from './i18n';
import { Link, matchPath, navigate, useLocation } from './router';
import { authStore, isPublicPath, loadMe, startUnreadPolling, stopUnreadPolling } from './state';
import { useStore } from './store';
import { LoginPage, RecoveryPage, RegisterPage, SetupPage, SsoLandingPage, VerifyPage } from './pages/Auth';
import { DashboardPage } from './pages/Dashboard';
import { EventsPage } from './pages/Events';
import { EventPage } from './pages/EventPage';
import { CheckInPage } from './pages/CheckIn';
import { NotificationsPage } from './pages/Notifications';
import { ProfilePage } from './pages/Profile';
import { useTitle } from './hooks';

/** Code-split a page: the admin area is only downloaded by administrators who open it. */
function lazyPage<P>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let cached: ComponentType<P> | null = null;
  return function Lazy(props: P) {
    const [C, setC] = useState<ComponentType<P> | null>(() => cached);
    const [err, setErr] = useState<string | null>(null);
    useEffect(() => {
      if (C) return;
      load()
        .then((m) => {
          cached = m;
          setC(() => m);
        })
        .catch((e) => setErr(String((e as Error)?.message ?? e)));
    }, []);
    if (err) return <ErrorBox error={err} onRetry={() => window.location.reload()} />;
    if (!C) return <Loading />;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return <C {...(props as any)} />;
  };
}

const AdminUsersPage = lazyPage(() => import('./pages/admin/Users').then((m) => m.AdminUsersPage));
const AdminEventsPage = lazyPage(() => import('./pages/admin/Events').then((m) => m.AdminEventsPage));
const AdminEventFormPage = lazyPage<{ id: string | null }>(() => import('./pages/admin/EventForm').then((m) => m.AdminEventFormPage));
const AdminMailPage = lazyPage(() => import('./pages/admin/Mail').then((m) => m.AdminMailPage));
const AdminAuditPage = lazyPage(() => import('./pages/admin/Audit').then((m) => m.AdminAuditPage));
const AdminWebhooksPage = lazyPage(() => import('./pages/admin/Webhooks').then((m) => m.AdminWebhooksPage));
const AnalyticsPage = lazyPage(() => import('./pages/admin/Analytics').then((m) => m.AnalyticsPage));

function NotFound() {
  useTitle(t('common.notFound'));
  return (
    <section class="page narrow">
      <PageHeader title={t('common.notFound')} />
      <p>{t('common.notFoundText')}</p>
      <p>
        <Link href="/" class="btn btn-primary">
          {t('common.toHome')}
        </Link>
      </p>
    </section>
  );
}

function Forbidden() {
  useTitle(t('common.forbidden'));
  return (
    <section class="page narrow" data-testid="forbidden">
      <PageHeader title={t('common.forbidden')} />
      <p>{t('common.forbiddenText')}</p>
    </section>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return <Loading />;
}

interface Route {
  pattern: string;
  render: (p: Record<string, string>) => preact.JSX.Element;
  admin?: boolean;
}

const privateRoutes: Route[] = [
  { pattern: '/dashboard', render: () => <DashboardPage /> },
  { pattern: '/events', render: () => <EventsPage /> },
  { pattern: '/events/:id', render: (p) => <EventPage id={p.id} /> },
  { pattern: '/events/:id/check-in', render: (p) => <CheckInPage id={p.id} /> },
  // An event's managers edit it with the administrators' form (the server decides who may).
  { pattern: '/events/:id/manage', render: (p) => <AdminEventFormPage id={p.id} /> },
  { pattern: '/notifications', render: () => <NotificationsPage /> },
  { pattern: '/profile', render: () => <ProfilePage /> },
  { pattern: '/admin', render: () => <Redirect to="/admin/events" />, admin: true },
  { pattern: '/admin/users', render: () => <AdminUsersPage />, admin: true },
  { pattern: '/admin/events', render: () => <AdminEventsPage />, admin: true },
  { pattern: '/admin/events/new', render: () => <AdminEventFormPage id={null} />, admin: true },
  { pattern: '/admin/events/:id', render: (p) => <AdminEventFormPage id={p.id} />, admin: true },
  { pattern: '/admin/analytics', render: () => <AnalyticsPage />, admin: true },
  { pattern: '/admin/mail', render: () => <AdminMailPage />, admin: true },
  { pattern: '/admin/audit', render: () => <AdminAuditPage />, admin: true },
  { pattern: '/admin/webhooks', render: () => <AdminWebhooksPage />, admin: true },
];

const publicRoutes: Route[] = [
  { pattern: '/login', render: () => <LoginPage /> },
  { pattern: '/login/sso', render: () => <SsoLandingPage /> },
  { pattern: '/register', render: () => <RegisterPage /> },
  { pattern: '/verify', render: () => <VerifyPage /> },
  { pattern: '/recovery', render: () => <RecoveryPage /> },
  { pattern: '/setup', render: () => <SetupPage /> },
];

function find(routes: Route[], path: string): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.pattern, path);
    if (params) return { route, params };
  }
  return null;
}

export function App() {
  useStore(langStore); // re-render everything on language change
  const auth = useStore(authStore);
  const { path, search } = useLocation();
  const [bootError, setBootError] = useState<string | null>(null);
  const first = useRef(true);

  useEffect(() => {
    if (auth.status === 'loading') {
      loadMe().catch((e) => setBootError((e as Error).message));
    }
  }, []);

  useEffect(() => {
    if (auth.status === 'ready') startUnreadPolling();
    else stopUnreadPolling();
  }, [auth.status]);

  // Move focus to the page heading after client-side navigation (screen readers announce it).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const id = window.setTimeout(() => {
      const h = document.querySelector<HTMLElement>('main h1');
      if (h && !document.querySelector('dialog[open]')) h.focus({ preventScroll: true });
    }, 60);
    return () => window.clearTimeout(id);
  }, [path]);

  if (auth.status === 'loading') {
    return <Shell>{bootError ? <ErrorBox error={bootError} onRetry={() => window.location.reload()} /> : <Loading />}</Shell>;
  }

  const pub = find(publicRoutes, path);
  if (auth.status === 'anon') {
    if (pub) return <Shell>{pub.route.render(pub.params)}</Shell>;
    if (path === '/' || find(privateRoutes, path)) {
      const next = path === '/' ? '' : `?next=${encodeURIComponent(path + search)}`;
      return <Redirect to={`/login${next}`} />;
    }
    return (
      <Shell>
        <NotFound />
      </Shell>
    );
  }

  // Signed in.
  if (path === '/' || path === '/login' || path === '/register') {
    const next = new URLSearchParams(search).get('next');
    const safe = next && next.startsWith('/') && !next.startsWith('//') ? next : '/dashboard';
    return <Redirect to={safe} />;
  }
  if (pub && isPublicPath(path)) return <Shell>{pub.route.render(pub.params)}</Shell>;
  const hit = find(privateRoutes, path);
  if (!hit) {
    return (
      <Shell>
        <NotFound />
      </Shell>
    );
  }
  if (hit.route.admin && auth.me.role !== 'ADMINISTRATOR') {
    return (
      <Shell>
        <Forbidden />
      </Shell>
    );
  }
  return <Shell>{hit.route.render(hit.params)}</Shell>;
}
