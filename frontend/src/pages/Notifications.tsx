import { useState } from 'preact/hooks';
import { api, get, withQuery, type Notification } from '../api';
import { NotificationItem } from '../components/NotificationItem';
import { Button, Empty, ErrorBox, Loading, PageHeader, Tabs } from '../components/ui';
import { useAsync, useTitle } from '../hooks';
import { t } from '../i18n';
import { setQuery, useQuery } from '../router';
import { refreshUnread, toast } from '../state';

const PAGE = 30;

export function NotificationsPage() {
  useTitle(t('notif.title'));
  const query = useQuery();
  const tab: 'unread' | 'all' = query.get('tab') === 'all' ? 'all' : 'unread';
  const [extra, setExtra] = useState<Notification[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [moreBusy, setMoreBusy] = useState(false);
  const [allBusy, setAllBusy] = useState(false);

  const res = useAsync(async () => {
    const list = await get<Notification[]>(withQuery('/api/notifications/instant', { include_acked: tab === 'all', limit: PAGE + 1, offset: 0 }));
    setExtra([]);
    setHasMore(list.length > PAGE);
    void refreshUnread();
    return list.slice(0, PAGE);
  }, [tab]);
  const items = [...(res.data ?? []), ...extra];

  const loadMore = async () => {
    setMoreBusy(true);
    try {
      // In the unread tab, read items stay listed until reload, so the offset counts only unread ones.
      const offset = tab === 'unread' ? items.filter((n) => !n.acked_at).length : items.length;
      const list = await get<Notification[]>(withQuery('/api/notifications/instant', { include_acked: tab === 'all', limit: PAGE + 1, offset }));
      const seen = new Set(items.map((n) => n.id));
      setHasMore(list.length > PAGE);
      setExtra((e) => [...e, ...list.slice(0, PAGE).filter((n) => !seen.has(n.id))]);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setMoreBusy(false);
    }
  };

  const replace = (n: Notification) => {
    res.setData((l) => (l ?? []).map((x) => (x.id === n.id ? n : x)));
    setExtra((l) => l.map((x) => (x.id === n.id ? n : x)));
  };

  const ackAll = async () => {
    setAllBusy(true);
    try {
      await api('POST', '/api/notifications/instant/ack-all');
      toast(t('notif.allRead'), 'success');
      await refreshUnread();
      res.reload(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setAllBusy(false);
    }
  };
  const anyUnread = items.some((n) => !n.acked_at);

  return (
    <section class="page narrow" data-testid="notifications-page">
      <PageHeader title={t('notif.title')}>
        <Button onClick={ackAll} busy={allBusy} disabled={!anyUnread} data-testid="ack-all">
          {t('notif.markAll')}
        </Button>
      </PageHeader>
      <Tabs
        label={t('notif.title')}
        value={tab}
        onChange={(v) => setQuery({ tab: v === 'unread' ? null : v })}
        tabs={[
          { value: 'unread', label: t('notif.unread') },
          { value: 'all', label: t('notif.all') },
        ]}
      />
      <div role="tabpanel">
        {res.loading && !res.data ? (
          <Loading />
        ) : res.error ? (
          <ErrorBox error={res.error} onRetry={() => res.reload()} />
        ) : items.length === 0 ? (
          <Empty>{tab === 'unread' ? t('notif.emptyUnread') : t('notif.emptyAll')}</Empty>
        ) : (
          <>
            <ul class="notif-list" data-testid="notification-list">
              {items.map((n) => (
                <NotificationItem key={n.id} n={n} onAcked={replace} />
              ))}
            </ul>
            {hasMore ? (
              <div class="center">
                <Button onClick={loadMore} busy={moreBusy}>
                  {t('common.loadMore')}
                </Button>
              </div>
            ) : null}
          </>
        )}
      </div>
    </section>
  );
}
