import { useEffect, useState } from 'preact/hooks';
import { get, withQuery, type EventCard } from '../api';
import { EventCardView } from '../components/EventCard';
import { Button, Empty, ErrorBox, Loading, PageHeader, Tabs } from '../components/ui';
import { timeZone } from '../format';
import { useAsync, useDebounced, useTitle } from '../hooks';
import { t } from '../i18n';
import { setQuery, useQuery } from '../router';

const PAGE = 24;

export function EventsPage() {
  useTitle(t('events.title'));
  const query = useQuery();
  const status: 'ACTIVE' | 'PAST' = query.get('status') === 'PAST' ? 'PAST' : 'ACTIVE';
  const q = query.get('q') ?? '';
  const [text, setText] = useState(q);
  const debounced = useDebounced(text, 350);
  const [extra, setExtra] = useState<EventCard[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [moreBusy, setMoreBusy] = useState(false);

  useEffect(() => {
    if (debounced.trim() !== q) setQuery({ q: debounced.trim() });
  }, [debounced]);

  const first = useAsync(async () => {
    const list = await get<EventCard[]>(withQuery('/api/events/cards', { status, q, limit: PAGE + 1, offset: 0 }));
    setExtra([]);
    setHasMore(list.length > PAGE);
    return list.slice(0, PAGE);
  }, [status, q]);

  const items = [...(first.data ?? []), ...extra];

  const loadMore = async () => {
    setMoreBusy(true);
    try {
      const list = await get<EventCard[]>(withQuery('/api/events/cards', { status, q, limit: PAGE + 1, offset: items.length }));
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

  return (
    <section class="page" data-testid="events-page">
      <PageHeader title={t('events.title')} />
      <div class="toolbar">
        <Tabs
          label={t('events.title')}
          value={status}
          onChange={(v) => setQuery({ status: v === 'ACTIVE' ? null : v })}
          tabs={[
            { value: 'ACTIVE', label: t('events.active') },
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
      <p class="muted small">{t('events.tz', { tz: timeZone() })}</p>
      <div role="tabpanel" aria-busy={first.loading ? 'true' : 'false'}>
        {first.loading && !first.data ? (
          <Loading />
        ) : first.error ? (
          <ErrorBox error={first.error} onRetry={() => first.reload()} />
        ) : items.length === 0 ? (
          <Empty>{q ? t('events.emptySearch', { q }) : t('events.empty')}</Empty>
        ) : (
          <>
            <div class="card-grid" data-testid="event-list">
              {items.map((c) => (
                <EventCardView key={c.id} card={c} onChange={replace} />
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
    </section>
  );
}
