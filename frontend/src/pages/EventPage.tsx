import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, type Attendees, type EventCard } from '../api';
import { Cover, EventActions, ParticipationBadge, SeatsInfo } from '../components/EventCard';
import { Badge, Button, Empty, ErrorBox, Loading, PageHeader, SeriesMark } from '../components/ui';
import { fmtDateTime, fmtRange, timeZone } from '../format';
import { useAsync, useTitle } from '../hooks';
import { t, tDyn } from '../i18n';
import { Link } from '../router';
import { currentMe, toast } from '../state';

/** One event's card (cancelled and past ones included); null when there is no such event. */
async function loadCard(id: number): Promise<EventCard | null> {
  try {
    return await get<EventCard>(`/api/events/${id}/card`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** `20260501T100000Z`: the UTC form both calendar links take. */
function calStamp(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function pageUrl(id: number): string {
  return `${window.location.origin}/events/${id}`;
}

export function googleCalendarUrl(card: EventCard): string {
  const q = new URLSearchParams({
    action: 'TEMPLATE',
    text: card.name,
    dates: `${calStamp(card.starts_at)}/${calStamp(card.ends_at)}`,
    details: `${card.short_description ? `${card.short_description}\n\n` : ''}${pageUrl(card.id)}`,
    location: card.location ?? '',
  });
  return `https://calendar.google.com/calendar/render?${q.toString()}`;
}

export function outlookCalendarUrl(card: EventCard): string {
  const q = new URLSearchParams({
    path: '/calendar/action/compose',
    rru: 'addevent',
    subject: card.name,
    startdt: new Date(card.starts_at).toISOString(),
    enddt: new Date(card.ends_at).toISOString(),
    body: `${card.short_description ? `${card.short_description}\n\n` : ''}${pageUrl(card.id)}`,
    location: card.location ?? '',
  });
  return `https://outlook.live.com/calendar/0/deeplink/compose?${q.toString()}`;
}

async function copyLink(id: number): Promise<void> {
  const url = pageUrl(id);
  try {
    await navigator.clipboard.writeText(url);
  } catch {
    // No clipboard API (insecure origin, denied): copy through a selected field.
    const field = document.createElement('textarea');
    field.value = url;
    field.setAttribute('readonly', '');
    field.style.position = 'fixed';
    field.style.opacity = '0';
    document.body.appendChild(field);
    field.select();
    document.execCommand('copy');
    field.remove();
  }
  toast(t('events.linkCopied'), 'success');
}

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('');
}

/** Who is going: names with initials, or why they are not shown. */
function AttendeeList({ card }: { card: EventCard }) {
  const [state, setState] = useState<{ list?: Attendees; hidden?: boolean; error?: string }>({});
  useEffect(() => {
    let live = true;
    get<Attendees>(`/api/events/${card.id}/attendees`)
      .then((list) => live && setState({ list }))
      .catch((e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 403) setState({ hidden: true });
        else setState({ error: (e as Error).message });
      });
    return () => {
      live = false;
    };
  }, [card.id, card.participants_count, card.participation_status]);
  return (
    <section class="attendees" data-testid="attendees">
      <h2>{t('events.attendees')}</h2>
      {state.hidden ? (
        <p class="muted" data-testid="attendees-hidden">
          {t('events.attendeesHidden')}
        </p>
      ) : state.error ? (
        <p class="muted">{state.error}</p>
      ) : !state.list ? null : state.list.count === 0 ? (
        <p class="muted">{t('events.attendeesNone')}</p>
      ) : (
        <>
          <p class="muted small" data-testid="attendees-count" data-count={state.list.count}>
            {t('events.attendeesCount', { n: state.list.count })}
          </p>
          <ul class="attendee-list">
            {state.list.attendees.map((a) => (
              <li key={a.user_id} data-testid="attendee">
                <span class="avatar" aria-hidden="true">
                  {initials(a.full_name)}
                </span>
                <span>{a.full_name}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** The state of the event in words: cancelled (with when), over (and whether I went), my waiting-list place. */
function StateNote({ card }: { card: EventCard }) {
  if (card.status === 'REJECTED')
    return (
      <p class="notice notice-danger" role="status" data-testid="event-cancelled">
        {t('events.cancelledAt', { when: card.rejected_at ? fmtDateTime(card.rejected_at) : '—' })}
      </p>
    );
  if (card.status === 'PAST')
    return (
      <p class="notice" role="status" data-testid="event-past" data-went={card.participation_status === 'PARTICIPATING'} data-attended={card.checked_in_at ? 'true' : 'false'}>
        {card.participation_status === 'PARTICIPATING' ? t('events.overWent') : t('events.overMissed')}
        {card.checked_in_at ? (
          <>
            {' '}
            <strong data-testid="checked-in">{t('checkin.attended')} ✓</strong>
          </>
        ) : null}
      </p>
    );
  if (card.checked_in_at)
    return (
      <p class="notice" role="status" data-testid="checked-in" data-checked-in-at={card.checked_in_at}>
        {t('checkin.checkedIn', { time: fmtDateTime(card.checked_in_at) })}
      </p>
    );
  if (card.participation_status === 'WAITLISTED')
    return (
      <p class="notice" role="status" data-testid="waitlist-position" data-position={card.waitlist_position ?? ''}>
        {t('events.waitlistPosition', { n: card.waitlist_position ?? '?' })}
      </p>
    );
  return null;
}

export function EventPage({ id }: { id: string }) {
  const num = /^\d+$/.test(id) ? parseInt(id, 10) : NaN;
  const res = useAsync(() => (isNaN(num) ? Promise.resolve(null) : loadCard(num)), [id]);
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
    <article class="page event-page" data-testid="event-page" data-event-id={card.id} data-status={card.status}>
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
        {card.can_manage && !isAdmin ? (
          <Link href={`/events/${card.id}/manage`} class="btn btn-secondary btn-sm" data-testid="manage-link">
            {t('checkin.manage')}
          </Link>
        ) : null}
        {card.can_manage && card.status !== 'REJECTED' ? (
          <Link href={`/events/${card.id}/check-in`} class="btn btn-secondary btn-sm" data-testid="checkin-link">
            {t('checkin.link')}
          </Link>
        ) : null}
      </PageHeader>
      <div class="event-meta">
        {card.status !== 'ACTIVE' ? (
          <Badge kind={card.status === 'REJECTED' ? 'danger' : 'neutral'}>{card.status === 'REJECTED' ? t('events.cancelled') : t('events.finished')}</Badge>
        ) : null}
        <ParticipationBadge status={card.participation_status} position={card.waitlist_position} />
        {card.series_id ? <SeriesMark /> : null}
      </div>
      <StateNote card={card} />
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
      {card.ticket && card.status === 'ACTIVE' && !card.checked_in_at ? (
        <section class="ticket panel" data-testid="ticket">
          <h2>{t('checkin.ticket')}</h2>
          <img src={`/api/tickets/${encodeURIComponent(card.ticket.token)}/qr.svg`} alt={t('checkin.ticket')} width={200} height={200} data-testid="ticket-qr" />
          <p class="muted small">{t('checkin.ticketHint')}</p>
        </section>
      ) : null}
      <div class="card-actions share-actions">
        <Button variant="ghost" small onClick={() => void copyLink(card.id)} data-testid="copy-link">
          {t('events.copyLink')}
        </Button>
        {card.status !== 'REJECTED' ? (
          <>
            <a class="btn btn-ghost btn-sm" href={googleCalendarUrl(card)} target="_blank" rel="noopener noreferrer" data-testid="google-cal">
              {t('events.googleCal')}
            </a>
            <a class="btn btn-ghost btn-sm" href={outlookCalendarUrl(card)} target="_blank" rel="noopener noreferrer" data-testid="outlook-cal">
              {t('events.outlookCal')}
            </a>
          </>
        ) : null}
      </div>
      {card.description ? (
        <section class="description">
          <h2>{t('events.description')}</h2>
          <p class="pre">{card.description}</p>
        </section>
      ) : null}
      <AttendeeList card={card} />
    </article>
  );
}
