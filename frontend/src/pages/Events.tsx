import { useEffect, useState } from 'preact/hooks';
import { get, withQuery, type Category, type EventCard } from '../api';
import { EventCardView } from '../components/EventCard';
import { Button, Empty, ErrorBox, PageHeader, SkeletonCards, Tabs } from '../components/ui';
import { dateInputToIso, timeZone } from '../format';
import { useAsync, useDebounced, useTitle } from '../hooks';
import { locale, t } from '../i18n';
import { Link, setQuery, useQuery } from '../router';

const PAGE = 24;

type Tab = 'ACTIVE' | 'MINE' | 'PAST';

const pad = (n: number) => String(n).padStart(2, '0');
const dayKey = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The filters the events page sends with every list request. */
interface Filters {
  status: 'ACTIVE' | 'PAST';
  mine: boolean;
  q: string;
  categories: number[];
  from: string | null;
  to: string | null;
}

function cardsUrl(f: Filters, extra: Record<string, string | number | null>): string {
  return withQuery('/api/events/cards', {
    status: f.status,
    mine: f.mine ? 'true' : null,
    q: f.q,
    category: f.categories,
    from: f.from,
    to: f.to,
    ...extra,
  });
}

function CategoryChips({ categories, selected }: { categories: Category[]; selected: number[] }) {
  if (!categories.length) return null;
  const toggle = (id: number) => {
    const next = selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id];
    setQuery({ cat: next.join(',') });
  };
  return (
    <div class="chips" role="group" aria-label={t('events.categories')} data-testid="category-chips">
      {categories.map((c) => {
        const on = selected.includes(c.id);
        return (
          <button
            key={c.id}
            type="button"
            class={`chip${on ? ' chip-on' : ''}`}
            aria-pressed={on ? 'true' : 'false'}
            data-testid="category-chip"
            onClick={() => toggle(c.id)}
          >
            <span class="chip-dot" style={{ background: c.color }} aria-hidden="true" />
            {c.name}
          </button>
        );
      })}
    </div>
  );
}

function DateRange({ from, to }: { from: string; to: string }) {
  return (
    <div class="date-range" data-testid="date-range">
      <label>
        {t('events.from')}{' '}
        <input type="date" value={from} max={to || undefined} data-testid="date-from" onChange={(e) => setQuery({ from: (e.currentTarget as HTMLInputElement).value })} />
      </label>
      <label>
        {t('events.to')}{' '}
        <input type="date" value={to} min={from || undefined} data-testid="date-to" onChange={(e) => setQuery({ to: (e.currentTarget as HTMLInputElement).value })} />
      </label>
      {from || to ? (
        <Button small variant="ghost" onClick={() => setQuery({ from: null, to: null })}>
          {t('events.clearDates')}
        </Button>
      ) : null}
    </div>
  );
}

/** Days of the month grid: Monday on or before the 1st to Sunday on or after the last day. */
function gridDays(month: Date): Date[] {
  const first = new Date(month.getFullYear(), month.getMonth(), 1);
  const start = new Date(first);
  start.setDate(1 - ((first.getDay() + 6) % 7));
  const last = new Date(month.getFullYear(), month.getMonth() + 1, 0);
  const end = new Date(last);
  end.setDate(last.getDate() + (6 - ((last.getDay() + 6) % 7)));
  const days: Date[] = [];
  for (const d = new Date(start); d <= end; d.setDate(d.getDate() + 1)) days.push(new Date(d));
  return days;
}

function CalendarView({ filters, categories, month }: { filters: Filters; categories: Category[]; month: Date }) {
  const days = gridDays(month);
  const gridFrom = days[0].toISOString();
  const last = new Date(days[days.length - 1]);
  last.setHours(23, 59, 59, 0);
  const gridTo = last.toISOString();
  const from = filters.from && filters.from > gridFrom ? filters.from : gridFrom;
  const to = filters.to && filters.to < gridTo ? filters.to : gridTo;
  const res = useAsync(async () => {
    // The calendar shows both sides of now; the Past tab only the past.
    const statuses: ('ACTIVE' | 'PAST')[] = filters.status === 'PAST' && !filters.mine ? ['PAST'] : ['PAST', 'ACTIVE'];
    const lists = await Promise.all(statuses.map((status) => get<EventCard[]>(cardsUrl({ ...filters, status, from, to }, {}))));
    return lists.flat().sort((a, b) => a.starts_at.localeCompare(b.starts_at) || a.id - b.id);
  }, [JSON.stringify(filters), from, to]);
  const color = new Map(categories.map((c) => [c.id, c.color]));
  // "декабрь 2026 г." → "Декабрь 2026 г." (CSS capitalize would also raise the "г.").
  const monthText = new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric' }).format(month);
  const monthName = monthText.charAt(0).toUpperCase() + monthText.slice(1);
  const weekday = new Intl.DateTimeFormat(locale(), { weekday: 'short' });
  const dayName = new Intl.DateTimeFormat(locale(), { weekday: 'short', day: 'numeric', month: 'short' });
  const time = new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' });
  const shift = (n: number) => {
    const m = new Date(month.getFullYear(), month.getMonth() + n, 1);
    setQuery({ month: `${m.getFullYear()}-${pad(m.getMonth() + 1)}` });
  };
  const events = res.data ?? [];
  const on = (d: Date) => {
    const d0 = d.getTime();
    const d1 = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
    return events.filter((e) => new Date(e.starts_at).getTime() < d1 && new Date(e.ends_at).getTime() > d0);
  };
  const weeks: Date[][] = [];
  for (let i = 0; i < days.length; i += 7) weeks.push(days.slice(i, i + 7));
  const today = dayKey(new Date());
  return (
    <div class="calendar" data-testid="calendar" aria-busy={res.loading ? 'true' : 'false'}>
      <div class="calendar-head">
        <Button small variant="ghost" onClick={() => shift(-1)} aria-label={t('events.prevMonth')} data-testid="cal-prev">
          ‹
        </Button>
        <h2 data-testid="cal-month">{monthName}</h2>
        <Button small variant="ghost" onClick={() => shift(1)} aria-label={t('events.nextMonth')} data-testid="cal-next">
          ›
        </Button>
      </div>
      {res.error ? <ErrorBox error={res.error} onRetry={() => res.reload()} /> : null}
      <div class="cal-weekdays" aria-hidden="true">
        {days.slice(0, 7).map((d) => (
          <span key={d.getDay()}>{weekday.format(d)}</span>
        ))}
      </div>
      {weeks.map((week) => (
        <div class="cal-week" key={dayKey(week[0])}>
          <h3 class="cal-week-title">{t('events.weekOf', { date: dayName.format(week[0]) })}</h3>
          {week.map((d) => {
            const list = on(d);
            const outside = d.getMonth() !== month.getMonth();
            return (
              <div
                key={dayKey(d)}
                class={`cal-day${outside ? ' cal-outside' : ''}${dayKey(d) === today ? ' cal-today' : ''}${list.length ? '' : ' cal-empty'}`}
                data-testid="cal-day"
                data-day={dayKey(d)}
              >
                <span class="cal-date">
                  <span class="cal-date-long">{dayName.format(d)}</span>
                  <span class="cal-date-short">{d.getDate()}</span>
                </span>
                <ul>
                  {list.map((e) => (
                    <li key={e.id}>
                      <Link
                        href={`/events/${e.id}`}
                        class="cal-event"
                        data-testid="cal-event"
                        style={{ borderColor: (e.category_id && color.get(e.category_id)) || undefined }}
                        title={e.name}
                      >
                        <span class="cal-time">{time.format(new Date(e.starts_at))}</span> {e.name}
                      </Link>
                    </li>
                  ))}
                </ul>
              </div>
            );
          })}
        </div>
      ))}
    </div>
  );
}

export function EventsPage() {
  useTitle(t('events.title'));
  const query = useQuery();
  const tab: Tab = query.get('mine') === '1' ? 'MINE' : query.get('status') === 'PAST' ? 'PAST' : 'ACTIVE';
  const q = query.get('q') ?? '';
  const fromDay = query.get('from') ?? '';
  const toDay = query.get('to') ?? '';
  const selected = (query.get('cat') ?? '')
    .split(',')
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
  const calendar = query.get('view') === 'calendar';
  const monthParam = /^\d{4}-\d{2}$/.test(query.get('month') ?? '') ? (query.get('month') as string) : null;
  const base = monthParam ? new Date(`${monthParam}-01T00:00:00`) : fromDay ? new Date(`${fromDay}T00:00:00`) : new Date();
  const month = new Date(base.getFullYear(), base.getMonth(), 1);
  const filters: Filters = {
    status: tab === 'PAST' ? 'PAST' : 'ACTIVE',
    mine: tab === 'MINE',
    q,
    categories: selected,
    from: dateInputToIso(fromDay),
    to: dateInputToIso(toDay, true),
  };
  const key = JSON.stringify(filters);
  const [text, setText] = useState(q);
  const debounced = useDebounced(text, 350);
  const [extra, setExtra] = useState<EventCard[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [moreBusy, setMoreBusy] = useState(false);
  const categories = useAsync(() => get<Category[]>('/api/categories'), []);

  useEffect(() => {
    if (debounced.trim() !== q) setQuery({ q: debounced.trim() });
  }, [debounced]);

  const first = useAsync(async () => {
    if (calendar) return [];
    const list = await get<EventCard[]>(cardsUrl(filters, { limit: PAGE + 1, offset: 0 }));
    setExtra([]);
    setHasMore(list.length > PAGE);
    return list.slice(0, PAGE);
  }, [key, calendar]);

  const items = [...(first.data ?? []), ...extra];

  const loadMore = async () => {
    setMoreBusy(true);
    try {
      const list = await get<EventCard[]>(cardsUrl(filters, { limit: PAGE + 1, offset: items.length }));
      setHasMore(list.length > PAGE);
      setExtra((e) => [...e, ...list.slice(0, PAGE)]);
    } finally {
      setMoreBusy(false);
    }
  };

  const replace = (c: EventCard) => {
    first.setData((list) => (list ?? []).map((x) => (x.id === c.id ? c : x)));
    setExtra((list) => list.map((x) => (x.id === c.id ? c : x)));
  };

  const filtered = q || selected.length || fromDay || toDay;

  return (
    <section class="page" data-testid="events-page">
      <PageHeader title={t('events.title')}>
        <Tabs
          label={t('events.view')}
          value={calendar ? 'calendar' : 'list'}
          onChange={(v) => setQuery({ view: v === 'calendar' ? 'calendar' : null })}
          tabs={[
            { value: 'list', label: t('events.viewList') },
            { value: 'calendar', label: t('events.viewCalendar') },
          ]}
        />
      </PageHeader>
      <div class="toolbar">
        <Tabs
          label={t('events.title')}
          value={tab}
          onChange={(v) => setQuery({ status: v === 'PAST' ? 'PAST' : null, mine: v === 'MINE' ? '1' : null })}
          tabs={[
            { value: 'ACTIVE', label: t('events.active') },
            { value: 'MINE', label: t('events.mine') },
            { value: 'PAST', label: t('events.past') },
          ]}
        />
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: text.trim() });
          }}
        >
          <label for="events-q" class="sr-only">
            {t('common.search')}
          </label>
          <input
            id="events-q"
            type="search"
            placeholder={t('common.searchPlaceholder')}
            value={text}
            data-testid="events-search"
            onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          />
          <Button type="submit" small>
            {t('common.search')}
          </Button>
        </form>
      </div>
      <div class="toolbar">
        <CategoryChips categories={categories.data ?? []} selected={selected} />
        <DateRange from={fromDay} to={toDay} />
      </div>
      <p class="muted small">{t('events.tz', { tz: timeZone() })}</p>
      {calendar ? (
        <CalendarView filters={filters} categories={categories.data ?? []} month={month} />
      ) : (
        <div role="tabpanel" aria-busy={first.loading ? 'true' : 'false'}>
          {first.loading && !first.data ? (
            <SkeletonCards />
          ) : first.error ? (
            <ErrorBox error={first.error} onRetry={() => first.reload()} />
          ) : items.length === 0 ? (
            <Empty>{q ? t('events.emptySearch', { q }) : t('events.empty')}</Empty>
          ) : (
            <>
              <div class="card-grid" data-testid="event-list" data-filtered={filtered ? 'true' : 'false'}>
                {items.map((c) => (
                  <EventCardView key={c.id} card={c} onChange={replace} heading="h2" />
                ))}
              </div>
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
      )}
    </section>
  );
}
