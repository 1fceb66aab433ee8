import { get, type EventCard, type EventDTO } from '../api';
import { Cover, EventActions, ParticipationBadge, SeatsInfo } from '../components/EventCard';
import { Badge, Empty, ErrorBox, Loading, PageHeader } from '../components/ui';
import { fmtRange, timeZone } from '../format';
import { useAsync, useTitle } from '../hooks';
import { t, tDyn } from '../i18n';
import { Link } from '../router';
import { currentMe } from '../state';

/** There is no single-card route: look the event up among the cards (active first, then past). */
async function findCard(id: number): Promise<EventCard | null> {
  for (const status of ['ACTIVE', 'PAST']) {
    const list = await get<EventCard[]>(`/api/events/cards?status=${status}`);
    const hit = list.find((c) => c.id === id);
    if (hit) return hit;
  }
  // Administrators can still see a cancelled event.
  if (currentMe()?.role === 'ADMINISTRATOR') {
    try {
      const e = await get<EventDTO>(`/api/events/${id}`);
      return {
        ...e,
        participants_count: e.participants.filter((p) => p.status === 'PARTICIPATING').length,
        participation_status: e.participants.find((p) => p.user_id === currentMe()?.id)?.status ?? 'NONE',
      };
    } catch {
      return null;
    }
  }
  return null;
}

export function EventPage({ id }: { id: string }) {
  const num = /^\d+$/.test(id) ? parseInt(id, 10) : NaN;
  const res = useAsync(() => (isNaN(num) ? Promise.resolve(null) : findCard(num)), [id]);
  const card = res.data;
  useTitle(card ? card.name : t('events.title'));
  const isAdmin = currentMe()?.role === 'ADMINISTRATOR';

  if (res.loading && res.data === undefined) return <Loading />;
  if (res.error) return <ErrorBox error={res.error} onRetry={() => res.reload()} />;
  if (!card) {
    return (
      <section class="page narrow" data-testid="event-not-found">
        <PageHeader title={t('events.notFound')} />
        <Empty>{t('events.notFoundText')}</Empty>
        <p>
          <Link href="/events">← {t('events.back')}</Link>
        </p>
      </section>
    );
  }
  return (
    <article class="page event-page" data-testid="event-page" data-event-id={card.id}>
      <p class="crumbs">
        <Link href={card.status === 'PAST' ? '/events?status=PAST' : '/events'}>← {t('events.back')}</Link>
      </p>
      <Cover card={card} large />
      <PageHeader title={card.name}>
        {isAdmin ? (
          <Link href={`/admin/events/${card.id}`} class="btn btn-secondary btn-sm">
            {t('events.editAdmin')}
          </Link>
        ) : null}
      </PageHeader>
      <div class="event-meta">
        {card.status !== 'ACTIVE' ? (
          <Badge kind={card.status === 'REJECTED' ? 'danger' : 'neutral'}>{card.status === 'REJECTED' ? t('events.cancelled') : t('events.finished')}</Badge>
        ) : null}
        <ParticipationBadge status={card.participation_status} />
      </div>
      {card.short_description ? <p class="lead">{card.short_description}</p> : null}
      <dl class="facts">
        <div>
          <dt>{t('events.when')}</dt>
          <dd>
            <time dateTime={card.starts_at}>{fmtRange(card.starts_at, card.ends_at)}</time>
            <span class="muted small"> ({timeZone()})</span>
          </dd>
        </div>
        {card.location ? (
          <div>
            <dt>{t('events.where')}</dt>
            <dd>{card.location}</dd>
          </div>
        ) : null}
        {card.payment_info ? (
          <div>
            <dt>{t('events.payment')}</dt>
            <dd class="pre">{card.payment_info}</dd>
          </div>
        ) : null}
        <div>
          <dt>{tDyn('aevents.participants', 'Participants')}</dt>
          <dd>
            <SeatsInfo card={card} />
          </dd>
        </div>
      </dl>
      <EventActions card={card} onChange={(c) => res.setData(c)} />
      {card.description ? (
        <section class="description">
          <h2>{t('events.description')}</h2>
          <p class="pre">{card.description}</p>
        </section>
      ) : null}
    </article>
  );
}
