import { useState } from 'preact/hooks';
import { api, download, get, withQuery, type EventDTO } from '../../api';
import { Badge, Button, ConfirmDialog, Empty, ErrorBox, Loading, PageHeader, SeriesMark, Tabs } from '../../components/ui';
import { fmtDateTime } from '../../format';
import { useAsync, useDebounced, useTitle } from '../../hooks';
import { t, tDyn } from '../../i18n';
import { Link, setQuery, useQuery } from '../../router';
import { toast } from '../../state';

type Filter = 'ALL' | 'ACTIVE' | 'PAST' | 'REJECTED';
const PAGE = 50;

export async function exportParticipants(ev: Pick<EventDTO, 'id'>, format: 'csv' | 'xlsx'): Promise<void> {
  try {
    const name = await download(`/api/events/${ev.id}/participants/export?format=${format}`, `event_${ev.id}_participants.${format}`);
    toast(t('aevents.exported', { file: name }), 'success');
  } catch (e) {
    toast((e as Error).message, 'error');
  }
}

export function statusBadgeKind(s: string): string {
  return s === 'ACTIVE' ? 'success' : s === 'REJECTED' ? 'danger' : 'neutral';
}

export function AdminEventsPage() {
  useTitle(t('aevents.title'));
  const query = useQuery();
  const raw = query.get('status');
  const status: Filter = raw === 'ACTIVE' || raw === 'PAST' || raw === 'REJECTED' ? raw : 'ALL';
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 300);
  const [offset, setOffset] = useState(0);
  const [cancelling, setCancelling] = useState<EventDTO | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  const res = useAsync(
    () => get<EventDTO[]>(withQuery('/api/events', { status: status === 'ALL' ? null : status, q, limit: PAGE + 1, offset })),
    [status, q, offset],
  );
  const rows = (res.data ?? []).slice(0, PAGE);
  const hasMore = (res.data?.length ?? 0) > PAGE;

  const setRejected = async (ev: EventDTO, reject: boolean) => {
    setBusy(ev.id);
    try {
      const updated = await api<EventDTO>('PUT', `/api/events/${ev.id}`, { rejected_at: reject ? new Date().toISOString() : null });
      toast(t(reject ? 'aevents.cancelled' : 'aevents.restored', { name: ev.name }), 'success');
      setCancelling(null);
      if (status === 'ALL') res.setData((l) => (l ?? []).map((x) => (x.id === ev.id ? updated : x)));
      else res.reload(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="page" data-testid="admin-events-page">
      <PageHeader title={t('aevents.title')}>
        <Link href="/admin/events/new" class="btn btn-primary" data-testid="create-event">
          + {t('aevents.create')}
        </Link>
      </PageHeader>
      <div class="toolbar">
        <Tabs<Filter>
          label={t('aevents.status')}
          value={status}
          onChange={(v) => {
            setOffset(0);
            setQuery({ status: v === 'ALL' ? null : v });
          }}
          tabs={[
            { value: 'ALL', label: t('common.all') },
            { value: 'ACTIVE', label: t('status.ACTIVE') },
            { value: 'PAST', label: t('status.PAST') },
            { value: 'REJECTED', label: t('status.REJECTED') },
          ]}
        />
        <form class="search" role="search" onSubmit={(e) => e.preventDefault()}>
          <label for="aev-q" class="sr-only">
            {t('common.search')}
          </label>
          <input
            id="aev-q"
            type="search"
            placeholder={t('common.searchPlaceholder')}
            value={text}
            data-testid="admin-events-search"
            onInput={(e) => {
              setOffset(0);
              setText((e.currentTarget as HTMLInputElement).value);
            }}
          />
        </form>
      </div>
      <div role="tabpanel">
        {res.loading && !res.data ? (
          <Loading />
        ) : res.error ? (
          <ErrorBox error={res.error} onRetry={() => res.reload()} />
        ) : rows.length === 0 ? (
          <Empty>{t('aevents.empty')}</Empty>
        ) : (
          <>
            <div class="table-wrap" tabIndex={0} role="region" aria-label={t('common.tableScroll')}>
              <table class="table" data-testid="admin-events-table">
                <thead>
                  <tr>
                    <th scope="col">ID</th>
                    <th scope="col">{t('aevents.name')}</th>
                    <th scope="col">{t('aevents.starts')}</th>
                    <th scope="col">{t('aevents.status')}</th>
                    <th scope="col">{t('aevents.participants')}</th>
                    <th scope="col">{t('aevents.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((ev) => {
                    const count = ev.participants.filter((p) => p.status === 'PARTICIPATING').length;
                    return (
                      <tr key={ev.id} data-testid="admin-event-row" data-event-id={ev.id} data-status={ev.status}>
                        <td class="num">{ev.id}</td>
                        <td>
                          <Link href={`/admin/events/${ev.id}`} data-testid="admin-event-link">
                            {ev.name}
                          </Link>
                          {ev.series_id ? <> <SeriesMark /></> : null}
                          {ev.location ? <div class="muted small">{ev.location}</div> : null}
                        </td>
                        <td class="nowrap">{fmtDateTime(ev.starts_at)}</td>
                        <td>
                          <Badge kind={statusBadgeKind(ev.status)} testid="admin-event-status">
                            {tDyn(`status.${ev.status}`, ev.status)}
                          </Badge>
                        </td>
                        <td class="num" data-testid="admin-event-count">
                          {count}
                          {ev.max_participants_count ? ` / ${ev.max_participants_count}` : ''}
                        </td>
                        <td>
                          <div class="row-actions">
                            <Link href={`/admin/events/${ev.id}`} class="btn btn-secondary btn-sm" aria-label={`${t('common.edit')}: ${ev.name}`}>
                              {t('common.edit')}
                            </Link>
                            {ev.status === 'REJECTED' ? (
                              <Button small variant="success" busy={busy === ev.id} onClick={() => void setRejected(ev, false)} data-testid="event-restore">
                                {t('aevents.restoreEvent')}
                              </Button>
                            ) : (
                              <Button small variant="danger" onClick={() => setCancelling(ev)} data-testid="event-cancel" aria-label={`${t('aevents.cancelEvent')}: ${ev.name}`}>
                                {t('aevents.cancelEvent')}
                              </Button>
                            )}
                            <Button small variant="ghost" onClick={() => void exportParticipants(ev, 'csv')} data-testid="export-csv" aria-label={t('aevents.exportLabel', { name: ev.name, fmt: 'CSV' })}>
                              ⤓ CSV
                            </Button>
                            <Button small variant="ghost" onClick={() => void exportParticipants(ev, 'xlsx')} data-testid="export-xlsx" aria-label={t('aevents.exportLabel', { name: ev.name, fmt: 'XLSX' })}>
                              ⤓ XLSX
                            </Button>
                          </div>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {offset > 0 || hasMore ? (
              <div class="pager">
                <Button small disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                  ← {t('common.prev')}
                </Button>
                <span class="muted">{t('common.page', { n: Math.floor(offset / PAGE) + 1 })}</span>
                <Button small disabled={!hasMore} onClick={() => setOffset(offset + PAGE)}>
                  {t('common.next')} →
                </Button>
              </div>
            ) : null}
          </>
        )}
      </div>
      <ConfirmDialog
        open={cancelling !== null}
        title={t('aevents.cancelEvent')}
        text={cancelling ? t('aevents.cancelConfirm', { name: cancelling.name }) : ''}
        confirmLabel={t('aevents.cancelEvent')}
        dismissLabel={t('aevents.keep')}
        danger
        busy={busy !== null}
        onConfirm={() => cancelling && void setRejected(cancelling, true)}
        onClose={() => setCancelling(null)}
      />
    </section>
  );
}
