import { useState } from 'preact/hooks';
import { api, get, withQuery, type AdminHealth, type OutboxItem, type TestEmailOutcome } from '../../api';
import { Badge, Button, Empty, ErrorBox, Field, FormError, Loading, PageHeader, Select } from '../../components/ui';
import { fmtDateTime } from '../../format';
import { useAsync, useSubmit, useTitle } from '../../hooks';
import { t, tDyn } from '../../i18n';
import { refreshMailHealth, toast } from '../../state';

const PAGE = 50;

function statusKind(s: OutboxItem['status']): string {
  return s === 'sent' ? 'success' : s === 'failed' ? 'danger' : 'neutral';
}

function TestSend() {
  const [to, setTo] = useState('');
  const [outcome, setOutcome] = useState<TestEmailOutcome | null>(null);
  const s = useSubmit();
  const submit = async (e: Event) => {
    e.preventDefault();
    setOutcome(null);
    const r = await s.run(() => api<TestEmailOutcome>('POST', '/api/admin/email/test', { to: to.trim() }), { known: ['to'] });
    if (r) setOutcome(r);
  };
  return (
    <form class="panel stack mail-test" onSubmit={submit} noValidate aria-labelledby="mail-test-title" data-testid="mail-test-form">
      <h2 id="mail-test-title">{t('mail.testTitle')}</h2>
      <FormError error={s.error} />
      <Field label={t('mail.testTo')} name="test_to" type="email" value={to} onValue={setTo} error={s.fields.to} required />
      <div>
        <Button type="submit" variant="primary" busy={s.busy} data-testid="mail-test-send">
          {t('mail.testSend')}
        </Button>
      </div>
      {outcome ? (
        <p class={outcome.sent ? 'notice' : 'form-error'} role="status" data-testid="mail-test-outcome">
          {outcome.sent ? t('mail.testSent', { backend: outcome.backend }) : t('mail.testFailed', { error: outcome.error ?? '' })}
        </p>
      ) : null}
    </form>
  );
}

export function AdminMailPage() {
  useTitle(t('mail.title'));
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const [busy, setBusy] = useState<number | 'all' | null>(null);
  const health = useAsync(() => get<AdminHealth>('/api/admin/health'), []);
  const res = useAsync(() => get<OutboxItem[]>(withQuery('/api/admin/outbox', { status: status || null, limit: PAGE + 1, offset })), [status, offset]);
  const rows = (res.data ?? []).slice(0, PAGE);
  const hasMore = (res.data?.length ?? 0) > PAGE;

  const reload = () => {
    res.reload(true);
    health.reload(true);
    refreshMailHealth();
  };

  const retry = async (item: OutboxItem) => {
    setBusy(item.id);
    try {
      await api('POST', `/api/admin/outbox/${item.id}/retry`);
      toast(t('mail.retried'), 'success');
      reload();
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };

  const retryAll = async () => {
    setBusy('all');
    try {
      const r = await api<{ queued: number }>('POST', '/api/admin/outbox/retry-failed');
      toast(t('mail.retriedAll', { n: r.queued }), 'success');
      reload();
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };

  const mail = health.data?.mail;
  return (
    <section class="page" data-testid="admin-mail-page">
      <PageHeader title={t('mail.title')}>
        <Button onClick={() => void retryAll()} busy={busy === 'all'} data-testid="mail-retry-all">
          {t('mail.retryAll')}
        </Button>
        <Button onClick={reload} data-testid="mail-refresh">
          {t('mail.refresh')}
        </Button>
      </PageHeader>
      {mail ? (
        <dl class="mail-summary" data-testid="mail-summary">
          <div>
            <dt>{t('mail.backend')}</dt>
            <dd>{mail.backend}</dd>
          </div>
          <div>
            <dt>{t('mail.lastSent')}</dt>
            <dd>{mail.last_sent_at ? fmtDateTime(mail.last_sent_at) : '—'}</dd>
          </div>
          <div>
            <dt>{t('mail.queued')}</dt>
            <dd>{mail.queued}</dd>
          </div>
          <div>
            <dt>{t('mail.failing')}</dt>
            <dd>{mail.failing}</dd>
          </div>
        </dl>
      ) : null}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('mail.filters')}>
        <Select
          label={t('mail.status')}
          name="outbox_status"
          value={status}
          onValue={(v) => {
            setOffset(0);
            setStatus(v);
          }}
          options={[
            { value: '', label: t('common.all') },
            { value: 'queued', label: t('mail.status.queued') },
            { value: 'sent', label: t('mail.status.sent') },
            { value: 'failed', label: t('mail.status.failed') },
          ]}
        />
      </form>
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={() => res.reload()} />
      ) : !rows.length ? (
        <Empty>{t('mail.empty')}</Empty>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={t('common.tableScroll')}>
          <table class="table" data-testid="outbox-table">
            <thead>
              <tr>
                <th scope="col">{t('mail.created')}</th>
                <th scope="col">{t('mail.recipient')}</th>
                <th scope="col">{t('mail.subject')}</th>
                <th scope="col">{t('mail.status')}</th>
                <th scope="col">{t('mail.attempts')}</th>
                <th scope="col">{t('mail.error')}</th>
                <th scope="col">
                  <span class="sr-only">{t('mail.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.id} data-testid="outbox-row" data-status={m.status} data-id={m.id}>
                  <td>{fmtDateTime(m.created_at)}</td>
                  <td>
                    {m.recipient_name ? <div>{m.recipient_name}</div> : null}
                    <div class="muted">{m.recipient}</div>
                  </td>
                  <td>
                    <div>{m.subject}</div>
                    <div class="muted">{tDyn(`ntype.${m.type}`, m.type)}</div>
                  </td>
                  <td>
                    <Badge kind={statusKind(m.status)}>{tDyn(`mail.status.${m.status}`, m.status)}</Badge>
                    {m.status === 'queued' && m.next_attempt_at ? <div class="muted">{t('mail.next', { at: fmtDateTime(m.next_attempt_at) })}</div> : null}
                  </td>
                  <td>
                    {m.attempts}/{m.max_attempts}
                  </td>
                  <td class="mail-error" data-testid="outbox-error">
                    {m.last_error ?? ''}
                  </td>
                  <td>
                    {m.status !== 'sent' ? (
                      <Button small onClick={() => void retry(m)} busy={busy === m.id} data-testid="outbox-retry">
                        {t('mail.retry')}
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {offset > 0 || hasMore ? (
        <div class="pager">
          <Button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            {t('common.prev')}
          </Button>
          <Button disabled={!hasMore} onClick={() => setOffset(offset + PAGE)}>
            {t('common.next')}
          </Button>
        </div>
      ) : null}
      <TestSend />
    </section>
  );
}
