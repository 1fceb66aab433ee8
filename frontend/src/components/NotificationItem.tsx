import { useState } from 'preact/hooks';
import { api, type Notification } from '../api';
import { fmtDateTime } from '../format';
import { locale, t, tDyn } from '../i18n';
import { followUrl, Link } from '../router';
import { refreshUnread, toast } from '../state';
import { Badge, Button } from './ui';

export async function ackNotifications(ids: number[]): Promise<boolean> {
  try {
    await api('POST', '/api/notifications/instant/ack', { ids });
    void refreshUnread();
    return true;
  } catch (e) {
    toast((e as Error).message, 'error');
    return false;
  }
}

/** One icon per kind of notification (decorative: the kind is also said in words). */
const ICONS: Record<string, string> = {
  EVENT_CREATED: 'M19 4h-1V2h-2v2H8V2H6v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2zm0 16H5V10h14zm-7-8h5v5h-5z',
  EVENT_UPDATED: 'M3 17.25V21h3.75L17.8 9.94l-3.75-3.75zM20.7 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75z',
  EVENT_CANCELLED: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm5 13.59L15.59 17 12 13.41 8.41 17 7 15.59 10.59 12 7 8.41 8.41 7 12 10.59 15.59 7 17 8.41 13.41 12z',
  EVENT_REMINDER: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 11h-5v-2h3V6h2z',
  EVENT_PARTICIPATION_CONFIRMED: 'M15 12a4 4 0 1 0-4-4 4 4 0 0 0 4 4zm-9-2V7H4v3H1v2h3v3h2v-3h3v-2zm9 4c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z',
  EVENT_PARTICIPATION_CANCELLED: 'M15 12a4 4 0 1 0-4-4 4 4 0 0 0 4 4zM1 10v2h8v-2zm14 4c-2.67 0-8 1.34-8 4v2h16v-2c0-2.66-5.33-4-8-4z',
  WAITLIST_PROMOTED: 'M9 16.17 4.83 12l-1.42 1.41L9 19 21 7l-1.41-1.41z',
};
const DEFAULT_ICON = 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z';

/** "5 minutes ago", "yesterday", … in the UI's language. */
export function relativeTime(iso: string, now = Date.now()): string {
  const secs = Math.round((new Date(iso).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(secs);
  if (abs < 60) return rtf.format(0, 'second');
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), 'hour');
  if (abs < 86400 * 30) return rtf.format(Math.round(secs / 86400), 'day');
  return fmtDateTime(iso);
}

/** The in-app path of a call to action on this site, or null. */
function localPath(href: string | null | undefined): string | null {
  if (!href) return null;
  try {
    const url = new URL(href, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}

export function NotificationItem({ n, onAcked, compact }: { n: Notification; onAcked: (n: Notification) => void; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const unread = !n.acked_at;
  const markRead = async () => {
    const ok = await ackNotifications([n.id]);
    if (ok) onAcked({ ...n, acked_at: new Date().toISOString() });
  };
  const ack = async () => {
    setBusy(true);
    await markRead();
    setBusy(false);
  };
  const follow = async () => {
    if (unread) await markRead();
    if (n.cta_url) followUrl(n.cta_url);
  };
  const path = localPath(n.cta_url);
  const type = n.type ?? '';
  const kind = tDyn(`ntype.${type}`, type);
  return (
    <li class={`notif${unread ? ' unread' : ''}`} data-testid="notification" data-id={n.id} data-type={type} data-unread={unread ? 'true' : 'false'}>
      <svg class={`notif-icon kind-${type.toLowerCase()}`} viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
        <path fill="currentColor" d={ICONS[type] ?? DEFAULT_ICON} />
      </svg>
      <div class="notif-body">
        <div class="notif-head">
          <h3 class="notif-title">
            {unread ? <span class="dot" aria-hidden="true" /> : null}
            {unread ? <span class="sr-only">{t('notif.new')}: </span> : null}
            {path ? (
              <Link href={path} onClick={() => void (unread ? markRead() : null)} data-testid="notif-link">
                {n.title}
              </Link>
            ) : (
              n.title
            )}
          </h3>
          <time class="muted small" dateTime={n.created_at} title={fmtDateTime(n.created_at)}>
            {relativeTime(n.created_at)}
          </time>
        </div>
        <p class="muted small notif-kind">{kind}</p>
        {!compact ? <p class="notif-content pre">{n.content}</p> : null}
        <div class="notif-actions">
          {compact ? null : unread ? <Badge kind="accent">{t('notif.new')}</Badge> : <Badge>{t('notif.read')}</Badge>}
          {n.cta_url ? (
            <Button small variant="primary" onClick={() => void follow()} data-testid="notif-cta">
              {n.cta_label || t('notif.open')}
            </Button>
          ) : null}
          {unread ? (
            <Button small onClick={() => void ack()} busy={busy} data-testid="notif-ack" aria-label={`${t('notif.markRead')}: ${n.title}`}>
              {t('notif.markRead')}
            </Button>
          ) : null}
        </div>
      </div>
    </li>
  );
}
