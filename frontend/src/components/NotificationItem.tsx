import { useState } from 'preact/hooks';
import { api, type Notification } from '../api';
import { fmtDateTime } from '../format';
import { t } from '../i18n';
import { followUrl } from '../router';
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

export function NotificationItem({ n, onAcked, compact }: { n: Notification; onAcked: (n: Notification) => void; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const unread = !n.acked_at;
  const ack = async () => {
    setBusy(true);
    const ok = await ackNotifications([n.id]);
    setBusy(false);
    if (ok) onAcked({ ...n, acked_at: new Date().toISOString() });
  };
  const follow = async () => {
    if (unread) {
      const ok = await ackNotifications([n.id]);
      if (ok) onAcked({ ...n, acked_at: new Date().toISOString() });
    }
    if (n.cta_url) followUrl(n.cta_url);
  };
  return (
    <li class={`notif${unread ? ' unread' : ''}`} data-testid="notification" data-id={n.id} data-unread={unread ? 'true' : 'false'}>
      <div class="notif-head">
        <h3 class="notif-title">
          {unread ? <span class="dot" aria-hidden="true" /> : null}
          {n.title}
        </h3>
        <time class="muted small" dateTime={n.created_at}>
          {fmtDateTime(n.created_at)}
        </time>
      </div>
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
    </li>
  );
}
