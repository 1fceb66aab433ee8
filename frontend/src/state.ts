import { api, clearSession, get, getSession, saveSession, setSessionLostHandler, type AdminHealth, type Me } from './api';
import { t } from './i18n';
import { locationStore, navigate } from './router';
import { createStore } from './store';

/* ---- auth ---- */

export type AuthState = { status: 'loading' } | { status: 'anon' } | { status: 'ready'; me: Me };

export const authStore = createStore<AuthState>(getSession() ? { status: 'loading' } : { status: 'anon' });

export const PUBLIC_PATHS = ['/login', '/login/sso', '/register', '/verify', '/recovery', '/setup'];

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.includes(path.replace(/\/+$/, '') || '/');
}

setSessionLostHandler(() => {
  const wasIn = authStore.get().status === 'ready';
  authStore.set({ status: 'anon' });
  unreadStore.set(null);
  const loc = locationStore.get();
  if (!isPublicPath(loc.path)) {
    if (wasIn) toast(t('auth.sessionExpired'), 'error');
    navigate(`/login?next=${encodeURIComponent(loc.path + loc.search)}`, { replace: true });
  }
});

export async function loadMe(): Promise<void> {
  if (!getSession()) {
    authStore.set({ status: 'anon' });
    return;
  }
  try {
    const me = await get<Me>('/api/login');
    authStore.set({ status: 'ready', me });
    void refreshUnread();
  } catch (e) {
    // A lost session is handled by the API layer; keep "loading" off on network errors too.
    if (getSession()) authStore.set({ status: 'anon' });
    throw e;
  }
}

export async function login(email: string, password: string): Promise<void> {
  const res = await api<{ login_session_uid: string; login_session_token: string }>(
    'POST',
    '/api/login',
    { email, password },
    { noAuthRedirect: true },
  );
  saveSession({ uid: res.login_session_uid, token: res.login_session_token });
  await loadMe();
}

/** Keeps a session handed over by the identity provider sign-in
 * (`/login/sso#uid=…&token=…`), as after a password login. */
export async function adoptSession(uid: string, token: string): Promise<void> {
  saveSession({ uid, token });
  await loadMe();
}

export async function logout(): Promise<void> {
  try {
    await api('POST', '/api/logout', undefined, { noAuthRedirect: true });
  } catch {
    /* the session is dropped locally either way */
  }
  clearSession();
  authStore.set({ status: 'anon' });
  unreadStore.set(null);
  navigate('/login');
}

export function currentMe(): Me | null {
  const a = authStore.get();
  return a.status === 'ready' ? a.me : null;
}

/* ---- unread notifications badge ---- */

export const unreadStore = createStore<number | null>(null);

export async function refreshUnread(): Promise<void> {
  if (!getSession()) return;
  try {
    const r = await get<{ count: number }>('/api/notifications/instant/unread-count');
    unreadStore.set(r.count);
  } catch {
    /* keep the last value */
  }
}

let pollTimer: number | undefined;
export function startUnreadPolling(): void {
  stopUnreadPolling();
  pollTimer = window.setInterval(() => {
    if (!document.hidden && authStore.get().status === 'ready') void refreshUnread();
  }, 45_000);
}
export function stopUnreadPolling(): void {
  if (pollTimer !== undefined) window.clearInterval(pollTimer);
  pollTimer = undefined;
}
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && authStore.get().status === 'ready') void refreshUnread();
});

/* ---- toasts ---- */

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'success' | 'error';
}

export const toastStore = createStore<Toast[]>([]);
let toastSeq = 0;

export function toast(text: string, kind: Toast['kind'] = 'info'): void {
  const id = ++toastSeq;
  toastStore.update((list) => [...list.slice(-3), { id, text, kind }]);
  window.setTimeout(() => dismissToast(id), kind === 'error' ? 8000 : 5000);
}

export function dismissToast(id: number): void {
  toastStore.update((list) => list.filter((x) => x.id !== id));
}

/* ---- registration hand-off (the password stays in memory only) ---- */

let pending: { token: string; email: string; password: string } | null = null;
export function setPending(p: { token: string; email: string; password: string } | null): void {
  pending = p;
}
export function getPending(): { token: string; email: string; password: string } | null {
  return pending;
}

/* ---- mail health (the admin banner) ---- */

export const mailHealthStore = createStore<AdminHealth['mail'] | null>(null);

/** Re-reads the mail part of the admin health report (administrators only). */
export async function refreshMailHealth(): Promise<void> {
  try {
    const h = await get<AdminHealth>('/api/admin/health');
    mailHealthStore.set(h.mail);
  } catch {
    /* the banner simply stays as it was */
  }
}
