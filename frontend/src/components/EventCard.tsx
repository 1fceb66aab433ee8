import { useState } from 'preact/hooks';
import { api, download, get, type EventCard as Card, type Participation } from '../api';
import { fmtRange } from '../format';
import { t } from '../i18n';
import { Link } from '../router';
import { refreshUnread, toast } from '../state';
import { Badge, Button, SeriesMark } from './ui';

export function seatsLeft(c: Pick<Card, 'max_participants_count' | 'participants_count'>): number | null {
  if (c.max_participants_count === null || c.max_participants_count === undefined) return null;
  return Math.max(0, c.max_participants_count - c.participants_count);
}

/** Apply my new participation status to a card locally (the server confirmed it with 204). */
export function applyParticipation(c: Card, next: Participation): Card {
  let count = c.participants_count;
  let waiting = c.waitlist_count ?? 0;
  if (c.participation_status === 'PARTICIPATING' && next !== 'PARTICIPATING') count -= 1;
  if (c.participation_status !== 'PARTICIPATING' && next === 'PARTICIPATING') count += 1;
  if (c.participation_status === 'WAITLISTED' && next !== 'WAITLISTED') waiting -= 1;
  if (c.participation_status !== 'WAITLISTED' && next === 'WAITLISTED') waiting += 1;
  return {
    ...c,
    participation_status: next,
    participants_count: Math.max(0, count),
    waitlist_count: Math.max(0, waiting),
    waitlist_position: next === 'WAITLISTED' ? (c.participation_status === 'WAITLISTED' ? c.waitlist_position : waiting) : null,
  };
}

/** The card as the server has it now (a change may have moved others too); the local guess if that fails. */
export async function refreshedCard(c: Card, next: Participation): Promise<Card> {
  try {
    return await get<Card>(`/api/events/${c.id}/card`);
  } catch {
    return applyParticipation(c, next);
  }
}

export async function setParticipation(c: Card, next: Participation): Promise<boolean> {
  try {
    await api('PUT', `/api/events/${c.id}/participants/me`, { status: next });
  } catch (e) {
    toast((e as Error).message, 'error');
    return false;
  }
  const key =
    next === 'PARTICIPATING'
      ? 'events.joined'
      : next === 'WAITLISTED'
        ? 'events.waitlisted'
        : next === 'REJECTED'
          ? 'events.declined'
          : c.participation_status === 'PARTICIPATING'
            ? 'events.left'
            : c.participation_status === 'WAITLISTED'
              ? 'events.leftWaitlist'
              : 'events.reset';
  toast(t(key, { name: c.name }), 'success');
  void refreshUnread();
  return true;
}

export async function downloadIcs(id: number): Promise<void> {
  try {
    await download(`/api/events/${id}/ics`, `event-${id}.ics`);
  } catch (e) {
    toast((e as Error).message, 'error');
  }
}

export function Cover({ card, large }: { card: Pick<Card, 'image_url' | 'name'>; large?: boolean }) {
  const [broken, setBroken] = useState(false);
  if (!card.image_url || broken) {
    return (
      <div class={`cover cover-empty${large ? ' cover-large' : ''}`} role="img" aria-label={t('events.noCover')}>
        <span aria-hidden="true">{card.name.slice(0, 1).toUpperCase()}</span>
      </div>
    );
  }
  return (
    <div class={`cover${large ? ' cover-large' : ''}`}>
      <img src={card.image_url} alt={t('events.coverAlt', { name: card.name })} loading="lazy" decoding="async" onError={() => setBroken(true)} />
    </div>
  );
}

export function SeatsInfo({ card }: { card: Card }) {
  const left = seatsLeft(card);
  return (
    <p class="seats" data-testid="seats">
      <span data-testid="participants-count" data-count={card.participants_count}>
        {t('events.participants', { n: card.participants_count })}
      </span>
      {card.waitlist_count ? (
        <>
          {' · '}
          <span data-testid="waitlist-count" data-count={card.waitlist_count}>
            {t('events.waitlistCount', { n: card.waitlist_count })}
          </span>
        </>
      ) : null}
      {' · '}
      {left === null ? (
        <span data-testid="seats-left">{t('events.unlimited')}</span>
      ) : left === 0 ? (
        <span class="text-warn" data-testid="seats-left" data-left="0">
          {t('events.noSeats')}
        </span>
      ) : (
        <span data-testid="seats-left" data-left={left}>
          {t('events.seatsLeft', { left, max: card.max_participants_count ?? 0 })}
        </span>
      )}
    </p>
  );
}

export function ParticipationBadge({ status, position }: { status: Participation; position?: number | null }) {
  if (status === 'WAITLISTED')
    return (
      <Badge kind="accent" testid="participation-badge">
        {t('events.youWaitlisted', { n: position ?? '?' })}
      </Badge>
    );
  if (status === 'PARTICIPATING')
    return (
      <Badge kind="success" testid="participation-badge">
        ✓ {t('events.youParticipate')}
      </Badge>
    );
  if (status === 'REJECTED')
    return (
      <Badge kind="neutral" testid="participation-badge">
        {t('events.youDeclined')}
      </Badge>
    );
  return null;
}

export function EventActions({ card, onChange }: { card: Card; onChange: (c: Card) => void }) {
  const [busy, setBusy] = useState<Participation | null>(null);
  const act = async (next: Participation) => {
    setBusy(next);
    const ok = await setParticipation(card, next);
    if (ok) onChange(await refreshedCard(card, next));
    setBusy(null);
  };
  const left = seatsLeft(card);
  const active = card.status === 'ACTIVE';
  const ps = card.participation_status;
  const full = left === 0;
  return (
    <div class="card-actions">
      {active && full && ps !== 'PARTICIPATING' && ps !== 'WAITLISTED' ? (
        <Button
          variant="primary"
          small
          busy={busy === 'WAITLISTED'}
          disabled={busy !== null}
          onClick={() => act('WAITLISTED')}
          data-testid="waitlist-btn"
          aria-label={`${t('events.joinWaitlist')}: ${card.name}`}
        >
          {t('events.joinWaitlist')}
        </Button>
      ) : null}
      {active && ps === 'WAITLISTED' ? (
        <Button variant="ghost" small busy={busy === 'NONE'} disabled={busy !== null} onClick={() => act('NONE')} data-testid="leave-waitlist-btn" aria-label={`${t('events.leaveWaitlist')}: ${card.name}`}>
          {t('events.leaveWaitlist')}
        </Button>
      ) : null}
      {active && !full && ps !== 'PARTICIPATING' && ps !== 'WAITLISTED' ? (
        <Button
          variant="primary"
          small
          busy={busy === 'PARTICIPATING'}
          disabled={busy !== null || left === 0}
          onClick={() => act('PARTICIPATING')}
          data-testid="join-btn"
          aria-label={`${t('events.join')}: ${card.name}`}
        >
          {t('events.join')}
        </Button>
      ) : null}
      {active && ps === 'NONE' ? (
        <Button small busy={busy === 'REJECTED'} disabled={busy !== null} onClick={() => act('REJECTED')} data-testid="decline-btn" aria-label={`${t('events.decline')}: ${card.name}`}>
          {t('events.decline')}
        </Button>
      ) : null}
      {active && ps === 'PARTICIPATING' ? (
        <Button variant="danger" small busy={busy === 'NONE'} disabled={busy !== null} onClick={() => act('NONE')} data-testid="leave-btn" aria-label={`${t('events.leave')}: ${card.name}`}>
          {t('events.leave')}
        </Button>
      ) : null}
      {active && ps === 'REJECTED' ? (
        <Button variant="ghost" small busy={busy === 'NONE'} disabled={busy !== null} onClick={() => act('NONE')} data-testid="undo-decline-btn">
          {t('events.undoDecline')}
        </Button>
      ) : null}
      {card.status !== 'REJECTED' ? (
        <Button variant="ghost" small class="ics" onClick={() => void downloadIcs(card.id)} data-testid="ics-btn" aria-label={t('events.icsLabel', { name: card.name })}>
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
            <path fill="currentColor" d="M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2zm-2 8h14v10H5zm2 2v2h2v-2zm4 0v2h2v-2zm4 0v2h2v-2z" />
          </svg>
          {t('events.ics')}
        </Button>
      ) : null}
    </div>
  );
}

/** `heading`: the card title's level under the page's outline (h2 in a
 * page's list, h3 inside a titled panel). */
export function EventCardView({ card, onChange, heading: Heading = 'h3' }: { card: Card; onChange: (c: Card) => void; heading?: 'h2' | 'h3' }) {
  return (
    <article class="event-card" data-testid="event-card" data-event-id={card.id} aria-labelledby={`ev-${card.id}-title`}>
      <Cover card={card} />
      <div class="event-card-body">
        <p class="event-when">
          <time dateTime={card.starts_at}>{fmtRange(card.starts_at, card.ends_at)}</time>
          {card.series_id ? <> <SeriesMark /></> : null}
        </p>
        <Heading id={`ev-${card.id}-title`} class="event-title">
          <Link href={`/events/${card.id}`} data-testid="event-link">
            {card.name}
          </Link>
        </Heading>
        {card.location ? (
          <p class="event-where">
            <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true">
              <path fill="currentColor" d="M12 2a7 7 0 0 0-7 7c0 5.25 7 13 7 13s7-7.75 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z" />
            </svg>
            <span class="sr-only">{t('events.where')}: </span>
            {card.location}
          </p>
        ) : null}
        {card.short_description ? <p class="event-short">{card.short_description}</p> : null}
        <SeatsInfo card={card} />
        <ParticipationBadge status={card.participation_status} position={card.waitlist_position} />
        <EventActions card={card} onChange={onChange} />
      </div>
    </article>
  );
}
