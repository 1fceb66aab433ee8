import { useState } from 'preact/hooks';
import { download, get, withQuery, type AuditEntry, type AuditPage } from '../../api';
import { Button, Empty, ErrorBox, Field, Loading, PageHeader, Select } from '../../components/ui';
import { fmtDateTime, fromLocalInput } from '../../format';
import { useAsync, useDebounced, useTitle } from '../../hooks';
import { t, tDyn } from '../../i18n';
import { toast } from '../../state';

const PAGE = 50;

/** Every action the log records (the filter's choices). */
export const AUDIT_ACTIONS = [
  'user.role_changed',
  'user.updated',
  'user.restored',
  'user.deleted',
  'user.password_reset',
  'event.created',
  'event.updated',
  'event.cancelled',
  'event.restored',
  'category.created',
  'category.updated',
  'category.deleted',
  'email.retried',
  'email.retried_all',
  'email.test_sent',
  'debug.examples_deleted',
  'login.throttled',
  'password.changed',
  'password.recovered',
  'session.revoked',
  'setup.completed',
  'identity.linked',
  'account.deleted',
  'checkin.recorded',
  'checkin.undone',
];

const TARGETS = ['user', 'event', 'category', 'email', 'session', 'system'];

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function Changes({ entry }: { entry: AuditEntry }) {
  const fields = Object.entries(entry.changes ?? {});
  if (!fields.length) return <span class="muted">—</span>;
  return (
    <ul class="audit-changes">
      {fields.map(([field, c]) => (
        <li key={field}>
          <code>{field}</code>: {show(c.before)} → {show(c.after)}
        </li>
      ))}
    </ul>
  );
}

export function AdminAuditPage() {
  useTitle(t('audit.title'));
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [targetType, setTargetType] = useState('');
  const [targetId, setTargetId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [offset, setOffset] = useState(0);
  const actorQ = useDebounced(actor.trim(), 300);
  const targetQ = useDebounced(targetId.trim(), 300);
  const filters = {
    actor: actorQ || null,
    action: action || null,
    target_type: targetType || null,
    target_id: targetQ || null,
    from: from ? fromLocalInput(from) : null,
    to: to ? fromLocalInput(to) : null,
  };
  const res = useAsync(
    () => get<AuditPage>(withQuery('/api/admin/audit', { ...filters, limit: PAGE, offset })),
    [actorQ, action, targetType, targetQ, from, to, offset],
  );
  const page = res.data;
  const rows = page?.items ?? [];
  const reset = (set: (v: string) => void) => (v: string) => {
    setOffset(0);
    set(v);
  };
  const csv = async () => {
    try {
      await download(withQuery('/api/admin/audit.csv', filters), 'audit.csv');
    } catch (e) {
      toast((e as Error).message, 'error');
    }
  };

  return (
    <section class="page" data-testid="admin-audit-page">
      <PageHeader title={t('audit.title')}>
        <Button onClick={() => void csv()} data-testid="audit-csv">
          {t('audit.csv')}
        </Button>
        <Button onClick={() => res.reload(true)} data-testid="audit-refresh">
          {t('mail.refresh')}
        </Button>
      </PageHeader>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('audit.filters')}>
        <Field label={t('audit.actor')} name="audit_actor" value={actor} onValue={reset(setActor)} />
        <Select
          label={t('audit.action')}
          name="audit_action"
          value={action}
          onValue={reset(setAction)}
          options={[{ value: '', label: t('common.all') }, ...AUDIT_ACTIONS.map((a) => ({ value: a, label: tDyn(`audit.a.${a}`, a) }))]}
        />
        <Select
          label={t('audit.targetType')}
          name="audit_target_type"
          value={targetType}
          onValue={reset(setTargetType)}
          options={[{ value: '', label: t('common.all') }, ...TARGETS.map((x) => ({ value: x, label: tDyn(`audit.t.${x}`, x) }))]}
        />
        <Field label={t('audit.targetId')} name="audit_target_id" value={targetId} onValue={reset(setTargetId)} />
        <Field label={t('audit.from')} name="audit_from" type="datetime-local" value={from} onValue={reset(setFrom)} />
        <Field label={t('audit.to')} name="audit_to" type="datetime-local" value={to} onValue={reset(setTo)} />
      </form>
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={() => res.reload()} />
      ) : !rows.length ? (
        <Empty>{t('audit.empty')}</Empty>
      ) : (
        <div class="table-wrap">
          <table class="table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">{t('audit.at')}</th>
                <th scope="col">{t('audit.actor')}</th>
                <th scope="col">{t('audit.action')}</th>
                <th scope="col">{t('audit.target')}</th>
                <th scope="col">{t('audit.changes')}</th>
                <th scope="col">{t('audit.ip')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} data-testid="audit-row" data-action={e.action} data-target={`${e.target_type}:${e.target_id ?? ''}`}>
                  <td>{fmtDateTime(e.at)}</td>
                  <td>{e.actor_email ?? '—'}</td>
                  <td>{tDyn(`audit.a.${e.action}`, e.action)}</td>
                  <td>
                    {tDyn(`audit.t.${e.target_type}`, e.target_type)}
                    {e.target_id ? ` #${e.target_id}` : ''}
                  </td>
                  <td>
                    <Changes entry={e} />
                  </td>
                  <td class="muted">{e.ip ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (offset > 0 || offset + PAGE < page.total) ? (
        <div class="pager">
          <Button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            {t('common.prev')}
          </Button>
          <span class="muted">{t('audit.count', { n: page.total })}</span>
          <Button disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>
            {t('common.next')}
          </Button>
        </div>
      ) : null}
    </section>
  );
}
