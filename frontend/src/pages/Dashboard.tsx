import { get, withQuery, type EventCard, type MyStats, type Notification } from '../api';
import { EventCardView } from '../components/EventCard';
import { NotificationItem } from '../components/NotificationItem';
import { Empty, ErrorBox, Loading, PageHeader, SkeletonCards } from '../components/ui';
import { fmtNumber, fmtPercent } from '../format';
import { useAsync, useTitle } from '../hooks';
import { t, tDyn } from '../i18n';
import { Link } from '../router';
import { authStore } from '../state';
import { useStore } from '../store';

const STAT_KEYS: (keyof MyStats)[] = [
  'upcoming_participations',
  'participating_events',
  'participation_rate',
  'active_events',
  'past_events',
  'total_events',
  'rejected_events',
];

/** For someone who has not joined anything yet: what to do first. */
function GettingStarted() {
  const steps: [string, string, string][] = [
    ['/events', t('dash.start.browse'), t('dash.start.browseHint')],
    ['/profile', t('dash.start.calendar'), t('dash.start.calendarHint')],
    ['/profile', t('dash.start.notify'), t('dash.start.notifyHint')],
  ];
  return (
    <div data-testid="getting-started">
      <p>{t('dash.start.intro')}</p>
      <ol class="start-steps">
        {steps.map(([href, title, hint]) => (
          <li key={title}>
            <Link href={href}>{title}</Link>
            <span class="muted small">{hint}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

export function DashboardPage() {
  useTitle(t('dash.title'));
  const auth = useStore(authStore);
  const name = auth.status === 'ready' ? auth.me.full_name : '';
  const events = useAsync(async () => {
    const list = await get<EventCard[]>('/api/events/cards?status=ACTIVE');
    return list.filter((c) => c.participation_status === 'PARTICIPATING').slice(0, 4);
  }, []);
  const notifs = useAsync(() => get<Notification[]>(withQuery('/api/notifications/instant', { include_acked: false, limit: 5 })), []);
  const stats = useAsync(() => get<MyStats>('/api/users/me/statistics'), []);

  return (
    <section class="page" data-testid="dashboard-page">
      <PageHeader title={t('dash.hello', { name })} />
      <div class="dash-grid">
        <section class="panel dash-events" aria-labelledby="dash-events-h">
          <div class="panel-head">
            <h2 id="dash-events-h">{t('dash.myEvents')}</h2>
            <Link href="/events">{t('dash.browse')} →</Link>
          </div>
          {events.loading && !events.data ? (
            <SkeletonCards count={2} compact />
          ) : events.error ? (
            <ErrorBox error={events.error} onRetry={() => events.reload()} />
          ) : !events.data?.length && stats.data && stats.data.participating_events + stats.data.past_events === 0 ? (
            <GettingStarted />
          ) : !events.data?.length ? (
            <Empty>
              <p>{t('dash.noMyEvents')}</p>
              <Link href="/events" class="btn btn-primary btn-sm">
                {t('dash.browse')}
              </Link>
            </Empty>
          ) : (
            <div class="card-grid compact" data-testid="my-events">
              {events.data.map((c) => (
                <EventCardView
                  key={c.id}
                  card={c}
                  onChange={(n) => {
                    events.setData((l) => (l ?? []).map((x) => (x.id === n.id ? n : x)));
                    stats.reload(true);
                  }}
                />
              ))}
            </div>
          )}
        </section>
        <section class="panel" aria-labelledby="dash-notif-h">
          <div class="panel-head">
            <h2 id="dash-notif-h">{t('dash.unread')}</h2>
            <Link href="/notifications">{t('dash.allNotifications')} →</Link>
          </div>
          {notifs.loading && !notifs.data ? (
            <Loading />
          ) : notifs.error ? (
            <ErrorBox error={notifs.error} onRetry={() => notifs.reload()} />
          ) : !notifs.data?.length ? (
            <Empty>{t('dash.noUnread')}</Empty>
          ) : (
            <ul class="notif-list compact" data-testid="dash-notifications">
              {notifs.data.map((n) => (
                <NotificationItem key={n.id} n={n} compact onAcked={(x) => notifs.setData((l) => (l ?? []).map((y) => (y.id === x.id ? x : y)))} />
              ))}
            </ul>
          )}
        </section>
        <section class="panel" aria-labelledby="dash-stats-h">
          <div class="panel-head">
            <h2 id="dash-stats-h">{t('dash.stats')}</h2>
          </div>
          {stats.loading && !stats.data ? (
            <Loading />
          ) : stats.error ? (
            <ErrorBox error={stats.error} onRetry={() => stats.reload()} />
          ) : stats.data ? (
            <dl class="stat-grid" data-testid="my-stats">
              {STAT_KEYS.map((k) => (
                <div class="stat" key={k} data-testid={`stat-${k}`}>
                  <dt>{tDyn(`stats.${k}`, k)}</dt>
                  <dd>{k === 'participation_rate' ? fmtPercent(stats.data![k] ?? 0) : fmtNumber(stats.data![k] ?? 0)}</dd>
                </div>
              ))}
            </dl>
          ) : null}
        </section>
      </div>
    </section>
  );
}
