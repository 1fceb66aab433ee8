import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { langStore, setLang, t, tDyn } from '../i18n';
import { THEMES, setTheme, themeStore } from '../theme';
import { Link, useLocation } from '../router';
import { authStore, dismissToast, logout, mailHealthStore, refreshMailHealth, toastStore, unreadStore } from '../state';
import { useStore } from '../store';

export function LangSwitch() {
  const lang = useStore(langStore);
  return (
    <button
      type="button"
      class="lang-switch"
      lang={lang === 'ru' ? 'en' : 'ru'}
      data-testid="lang-switch"
      onClick={() => {
        const next = lang === 'ru' ? 'en' : 'ru';
        setLang(next);
        // Signed in, the choice is the account's: emails follow it too.
        if (authStore.get().status === 'ready') void api('PUT', '/api/users/me/preferences', { locale: next }).catch(() => {});
      }}
    >
      {lang === 'ru' ? 'EN' : 'RU'}
      {/* The visible "EN" starts the accessible name (axe label-content-name-mismatch). */}
      <span class="sr-only"> — {t('lang.switchLabel')}</span>
    </button>
  );
}

const THEME_ICONS = {
  system: 'M12 3a9 9 0 1 0 0 18V3z',
  light: 'M12 7a5 5 0 1 0 0 10 5 5 0 0 0 0-10zm0-5v3m0 14v3M2 12h3m14 0h3M4.9 4.9l2.1 2.1m10 10 2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1',
  dark: 'M20 14.5A8 8 0 0 1 9.5 4 8 8 0 1 0 20 14.5z',
};

/** Light, dark or the system's scheme; the choice stays in this browser. */
export function ThemeSwitch() {
  const theme = useStore(themeStore);
  const next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  const label = t('theme.label', { theme: tDyn(`theme.${theme}`, theme), next: tDyn(`theme.${next}`, next) });
  return (
    <button
      type="button"
      class="theme-switch"
      data-testid="theme-switch"
      data-theme-choice={theme}
      aria-label={label}
      title={label}
      onClick={() => setTheme(next)}
    >
      <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
        <path d={THEME_ICONS[theme]} fill={theme === 'light' ? 'none' : 'currentColor'} stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
      </svg>
    </button>
  );
}

export function Toasts() {
  const toasts = useStore(toastStore);
  return (
    <div class="toasts" aria-live="polite" aria-relevant="additions" data-testid="toasts">
      {toasts.map((x) => (
        <div key={x.id} class={`toast toast-${x.kind}`} role={x.kind === 'error' ? 'alert' : 'status'} data-testid="toast">
          <span>{x.text}</span>
          <button type="button" class="icon-btn" aria-label={t('common.dismiss')} onClick={() => dismissToast(x.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/** On admin pages while email is failing: says so, links to the Mail page. */
function MailBanner({ path }: { path: string }) {
  const mail = useStore(mailHealthStore);
  useEffect(() => void refreshMailHealth(), [path]);
  if (!mail || mail.status !== 'failing') return null;
  return (
    <div class="mail-banner" role="alert" data-testid="mail-banner">
      <span>{t('mail.banner', { n: mail.failing })}</span>
      {mail.last_error ? <span class="mail-banner-error">{mail.last_error}</span> : null}
      {path !== '/admin/mail' ? (
        <Link href="/admin/mail" data-testid="mail-banner-link">
          {t('mail.bannerLink')}
        </Link>
      ) : null}
    </div>
  );
}

function NavLink({ href, children, testid, exact }: { href: string; children: ComponentChildren; testid: string; exact?: boolean }) {
  const { path } = useLocation();
  const active = exact ? path === href : path === href || path.startsWith(`${href}/`);
  return (
    <Link href={href} class={`nav-link${active ? ' active' : ''}`} aria-current={active ? 'page' : undefined} data-testid={testid}>
      {children}
    </Link>
  );
}

export function Shell({ children }: { children: ComponentChildren }) {
  const auth = useStore(authStore);
  const unread = useStore(unreadStore);
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  const me = auth.status === 'ready' ? auth.me : null;
  const isAdmin = me?.role === 'ADMINISTRATOR';

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <Link href={me ? '/dashboard' : '/login'} class="brand" data-testid="brand">
            <span class="brand-mark" aria-hidden="true">
              А
            </span>
            <span>{t('app.brand')}</span>
          </Link>
          {me ? (
            <>
              <nav id="main-nav" class={`nav${menuOpen ? ' open' : ''}`} aria-label={t('app.menu')}>
                <div class="nav-main">
                  <NavLink href="/dashboard" testid="nav-dashboard">
                    {t('nav.dashboard')}
                  </NavLink>
                  <NavLink href="/events" testid="nav-events">
                    {t('nav.events')}
                  </NavLink>
                  <NavLink href="/notifications" testid="nav-notifications">
                    {t('nav.notifications')}
                    {unread ? <span class="count-pill">{unread > 99 ? '99+' : unread}</span> : null}
                  </NavLink>
                  <NavLink href="/profile" testid="nav-profile">
                    {t('nav.profile')}
                  </NavLink>
                </div>
                {isAdmin ? (
                  <div class="nav-group" role="group" aria-labelledby="admin-nav-label" data-testid="admin-nav">
                    <span class="nav-group-label" id="admin-nav-label">
                      {t('nav.admin')}
                    </span>
                    <NavLink href="/admin/users" testid="nav-admin-users">
                      {t('nav.adminUsers')}
                    </NavLink>
                    <NavLink href="/admin/events" testid="nav-admin-events">
                      {t('nav.adminEvents')}
                    </NavLink>
                    <NavLink href="/admin/analytics" testid="nav-admin-analytics">
                      {t('nav.adminAnalytics')}
                    </NavLink>
                    <NavLink href="/admin/mail" testid="nav-admin-mail">
                      {t('nav.adminMail')}
                    </NavLink>
                    <NavLink href="/admin/audit" testid="nav-admin-audit">
                      {t('nav.adminAudit')}
                    </NavLink>
                    <NavLink href="/admin/webhooks" testid="nav-admin-webhooks">
                      {t('nav.adminWebhooks')}
                    </NavLink>
                  </div>
                ) : null}
                <div class="nav-tail">
                  <ThemeSwitch />
                  <LangSwitch />
                  <button type="button" class="btn btn-ghost btn-sm" data-testid="logout" onClick={() => void logout()}>
                    {t('nav.logout')}
                  </button>
                </div>
              </nav>
              <Link
                href="/notifications"
                class="bell"
                data-testid="bell"
                aria-label={`${t('nav.notifications')}${unread ? `, ${t('nav.unread', { n: unread })}` : ''}`}
              >
                <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                  <path
                    fill="currentColor"
                    d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
                  />
                </svg>
                {unread ? (
                  <span class="bell-badge" data-testid="unread-badge">
                    {unread > 99 ? '99+' : unread}
                  </span>
                ) : null}
              </Link>
              <button
                type="button"
                class="menu-toggle"
                aria-expanded={menuOpen ? 'true' : 'false'}
                aria-controls="main-nav"
                data-testid="menu-toggle"
                onClick={() => setMenuOpen(!menuOpen)}
              >
                <span class="burger" aria-hidden="true" />
                <span class="sr-only">{t('app.menu')}</span>
              </button>
            </>
          ) : (
            <div class="nav-tail anon">
              <ThemeSwitch />
              <LangSwitch />
            </div>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {isAdmin && path.startsWith('/admin') ? <MailBanner path={path} /> : null}
        {children}
      </main>
      <footer class="footer">
        <span>{t('app.brand')}</span>
        {isAdmin ? <a href="/api/docs">{t('app.docs')}</a> : null}
      </footer>
      <Toasts />
    </div>
  );
}
