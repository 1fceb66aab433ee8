import { useState } from 'preact/hooks';
import { api, get, withQuery, WEBHOOK_TYPES, type Webhook, type WebhookDelivery } from '../../api';
import { Badge, Button, Checkbox, ConfirmDialog, Empty, ErrorBox, Field, FormError, Loading, PageHeader } from '../../components/ui';
import { fmtDateTime } from '../../format';
import { useAsync, useSubmit, useTitle } from '../../hooks';
import { t, tDyn } from '../../i18n';
import { toast } from '../../state';

/** The secret of a new or rotated endpoint: shown this once. */
function SecretNotice({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <div class="panel stack" role="status" data-testid="webhook-secret-panel">
      <h2>{t('wh.secretTitle')}</h2>
      <p>{t('wh.secretOnce')}</p>
      <code class="webhook-secret" data-testid="webhook-secret">
        {secret}
      </code>
      <div>
        <Button onClick={onDone} data-testid="webhook-secret-done">
          {t('wh.secretDone')}
        </Button>
      </div>
    </div>
  );
}

function TypeChecks({ value, onValue, prefix }: { value: string[]; onValue: (v: string[]) => void; prefix: string }) {
  return (
    <fieldset class="webhook-types">
      <legend>{t('wh.types')}</legend>
      {WEBHOOK_TYPES.map((type) => (
        <Checkbox
          key={type}
          name={`${prefix}-${type}`}
          label={type}
          checked={value.includes(type)}
          onChange={(on) => onValue(on ? [...value, type] : value.filter((v) => v !== type))}
        />
      ))}
    </fieldset>
  );
}

function CreateForm({ onCreated }: { onCreated: (secret: string) => void }) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<string[]>(['event.created']);
  const s = useSubmit();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await s.run(() => api<Webhook & { secret: string }>('POST', '/api/admin/webhooks', { url: url.trim(), event_types: types }), {
      known: ['url', 'event_types'],
    });
    if (r) {
      setUrl('');
      onCreated(r.secret);
    }
  };
  return (
    <form class="panel stack" onSubmit={submit} noValidate aria-labelledby="wh-create-title" data-testid="webhook-create-form">
      <h2 id="wh-create-title">{t('wh.create')}</h2>
      <FormError error={s.error ?? s.fields.event_types ?? null} />
      <Field label={t('wh.url')} name="webhook_url" type="url" value={url} onValue={setUrl} error={s.fields.url} required />
      <TypeChecks value={types} onValue={setTypes} prefix="new" />
      <div>
        <Button type="submit" variant="primary" busy={s.busy} data-testid="webhook-create">
          {t('wh.createSubmit')}
        </Button>
      </div>
    </form>
  );
}

function statusKind(s: WebhookDelivery['status']): string {
  return s === 'delivered' ? 'success' : s === 'failed' ? 'danger' : 'neutral';
}

function DeliveryLog({ hook }: { hook: Webhook }) {
  const res = useAsync(() => get<WebhookDelivery[]>(withQuery(`/api/admin/webhooks/${hook.id}/deliveries`, { limit: 50 })), [hook.id]);
  const [busy, setBusy] = useState<string | null>(null);
  const resend = async (d: WebhookDelivery) => {
    setBusy(d.id);
    try {
      await api('POST', `/api/admin/webhooks/${hook.id}/deliveries/${d.id}/resend`);
      toast(t('wh.resent'), 'success');
      res.reload(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="panel stack" aria-labelledby="wh-log-title" data-testid="webhook-log">
      <h2 id="wh-log-title">{t('wh.log', { url: hook.url })}</h2>
      <div>
        <Button small onClick={() => res.reload(true)} data-testid="webhook-log-refresh">
          {t('mail.refresh')}
        </Button>
      </div>
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={() => res.reload()} />
      ) : !res.data?.length ? (
        <Empty>{t('wh.logEmpty')}</Empty>
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('mail.created')}</th>
                <th scope="col">{t('wh.type')}</th>
                <th scope="col">{t('mail.status')}</th>
                <th scope="col">{t('mail.attempts')}</th>
                <th scope="col">{t('wh.code')}</th>
                <th scope="col">{t('mail.error')}</th>
                <th scope="col">
                  <span class="sr-only">{t('mail.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {res.data.map((d) => (
                <tr key={d.id} data-testid="webhook-delivery" data-status={d.status} data-type={d.event_type}>
                  <td>
                    <div>{fmtDateTime(d.created_at)}</div>
                    <div class="muted">{d.id}</div>
                  </td>
                  <td>{d.event_type}</td>
                  <td>
                    <Badge kind={statusKind(d.status)}>{tDyn(`wh.status.${d.status}`, d.status)}</Badge>
                  </td>
                  <td>{d.attempts}</td>
                  <td>
                    {d.response_code ?? '—'}
                    {d.duration_ms !== null ? <div class="muted">{d.duration_ms} ms</div> : null}
                  </td>
                  <td class="mail-error">{d.error ?? ''}</td>
                  <td>
                    <Button small onClick={() => void resend(d)} busy={busy === d.id} disabled={!hook.enabled} data-testid="webhook-resend">
                      {t('wh.resend')}
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function AdminWebhooksPage() {
  useTitle(t('wh.title'));
  const res = useAsync(() => get<Webhook[]>('/api/admin/webhooks'), []);
  const [secret, setSecret] = useState<string | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const act = async (key: string, fn: () => Promise<unknown>, done?: string) => {
    setBusy(key);
    try {
      await fn();
      if (done) toast(done, 'success');
      res.reload(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };

  const hooks = res.data ?? [];
  const shown = hooks.find((h) => h.id === selected) ?? null;
  return (
    <section class="page" data-testid="admin-webhooks-page">
      <PageHeader title={t('wh.title')} />
      <p class="muted">{t('wh.intro')}</p>
      {secret ? <SecretNotice secret={secret} onDone={() => setSecret(null)} /> : null}
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={() => res.reload()} />
      ) : !hooks.length ? (
        <Empty>{t('wh.empty')}</Empty>
      ) : (
        <div class="table-wrap">
          <table class="table" data-testid="webhooks-table">
            <thead>
              <tr>
                <th scope="col">{t('wh.url')}</th>
                <th scope="col">{t('wh.types')}</th>
                <th scope="col">{t('mail.status')}</th>
                <th scope="col">
                  <span class="sr-only">{t('mail.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {hooks.map((h) => (
                <tr key={h.id} data-testid="webhook-row" data-id={h.id} data-enabled={String(h.enabled)}>
                  <td class="webhook-url">{h.url}</td>
                  <td class="muted">{h.event_types.join(', ')}</td>
                  <td>
                    <Badge kind={h.enabled ? (h.failing_since ? 'danger' : 'success') : 'neutral'}>
                      {h.enabled ? (h.failing_since ? t('wh.failing') : t('wh.enabled')) : t('wh.disabled')}
                    </Badge>
                    {h.disabled_reason ? <div class="muted">{h.disabled_reason}</div> : null}
                  </td>
                  <td class="actions">
                    <Button small onClick={() => setSelected(h.id === selected ? null : h.id)} data-testid="webhook-show-log">
                      {t('wh.showLog')}
                    </Button>
                    <Button
                      small
                      busy={busy === `toggle-${h.id}`}
                      onClick={() => void act(`toggle-${h.id}`, () => api('PUT', `/api/admin/webhooks/${h.id}`, { enabled: !h.enabled }))}
                      data-testid="webhook-toggle"
                    >
                      {h.enabled ? t('wh.disable') : t('wh.enable')}
                    </Button>
                    <Button
                      small
                      disabled={!h.enabled}
                      busy={busy === `ping-${h.id}`}
                      onClick={() =>
                        void act(`ping-${h.id}`, async () => {
                          await api('POST', `/api/admin/webhooks/${h.id}/ping`);
                          setSelected(h.id);
                        }, t('wh.pinged'))
                      }
                      data-testid="webhook-ping"
                    >
                      {t('wh.ping')}
                    </Button>
                    <Button
                      small
                      busy={busy === `rotate-${h.id}`}
                      onClick={() =>
                        void act(`rotate-${h.id}`, async () => {
                          const r = await api<{ secret: string }>('POST', `/api/admin/webhooks/${h.id}/rotate-secret`);
                          setSecret(r.secret);
                        })
                      }
                      data-testid="webhook-rotate"
                    >
                      {t('wh.rotate')}
                    </Button>
                    <Button small variant="danger" onClick={() => setDeleting(h)} data-testid="webhook-delete">
                      {t('wh.delete')}
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown ? <DeliveryLog key={`${shown.id}-${busy ?? ''}`} hook={shown} /> : null}
      <CreateForm
        onCreated={(s) => {
          setSecret(s);
          res.reload(true);
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title={t('wh.deleteTitle')}
        text={deleting ? t('wh.deleteText', { url: deleting.url }) : ''}
        confirmLabel={t('wh.delete')}
        danger
        busy={busy === 'delete'}
        onConfirm={() => {
          const h = deleting;
          if (!h) return;
          void act('delete', () => api('DELETE', `/api/admin/webhooks/${h.id}`)).then(() => {
            setDeleting(null);
            if (selected === h.id) setSelected(null);
          });
        }}
        onClose={() => setDeleting(null)}
      />
    </section>
  );
}
