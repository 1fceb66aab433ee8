import { useState } from 'preact/hooks';
import { api, clearSession, download, get, type LoginSession, type Preferences, type UserDTO } from '../api';
import { navigate } from '../router';
import { LangSwitch } from '../components/Layout';
import { Badge, Button, Checkbox, ConfirmDialog, Empty, ErrorBox, Field, FormError, Loading, PageHeader, Select } from '../components/ui';
import { fmtDateTime } from '../format';
import { passwordProblem, useAsync, useMinPassword, useSubmit, useTitle } from '../hooks';
import { t, tDyn } from '../i18n';
import { authStore, logout, toast } from '../state';
import { useStore } from '../store';

export function describeUa(ua: string | null | undefined): string {
  if (!ua) return t('profile.unknownDevice');
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrom(e|ium)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : /curl|python|reqwest|node|axios/i.test(ua)
              ? ua.split(/[\s/]/)[0]
              : '';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iOS/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  const s = [browser, os].filter(Boolean).join(' · ');
  return s || ua.slice(0, 60);
}

const REMINDER_PRESETS = [10080, 1440, 180, 60, 15];

function zoneList(): string[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const all = (Intl as any).supportedValuesOf?.('timeZone') as string[] | undefined;
    if (all?.length) return all;
  } catch {
    /* older browsers */
  }
  return ['UTC', 'Europe/Moscow', 'Europe/London', 'America/New_York', 'Asia/Yekaterinburg', 'Asia/Novosibirsk'];
}

function PreferencesForm() {
  const res = useAsync(() => get<Preferences>('/api/users/me/preferences'), []);
  const [zone, setZone] = useState<string | null>(null);
  const [email, setEmail] = useState<Record<string, boolean> | null>(null);
  const [offsets, setOffsets] = useState<number[] | null>(null);
  const s = useSubmit();
  if (res.loading && !res.data) return <Loading />;
  if (res.error || !res.data) return <ErrorBox error={res.error ?? ''} onRetry={() => res.reload()} />;
  const p = res.data;
  const z = zone ?? p.time_zone;
  const em = email ?? p.email;
  const off = offsets ?? p.reminder_offsets_minutes;
  const optional = Object.keys(p.email).filter((k) => !p.email_required.includes(k));
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!off.length) {
      s.setFields({ reminder_offsets_minutes: t('prefs.reminderNeeded') });
      return;
    }
    const saved = await s.run(
      () =>
        api<Preferences>('PUT', '/api/users/me/preferences', {
          time_zone: z.trim(),
          email: Object.fromEntries(optional.map((k) => [k, em[k]])),
          reminder_offsets_minutes: off,
        }),
      { known: ['time_zone', 'reminder_offsets_minutes'] },
    );
    if (saved) {
      toast(t('prefs.saved'), 'success');
      res.reload(true);
      setZone(null);
      setEmail(null);
      setOffsets(null);
    }
  };
  return (
    <form class="stack" onSubmit={submit} noValidate data-testid="prefs-form">
      <FormError error={s.error} />
      <Select
        label={t('prefs.timeZone')}
        name="time_zone"
        value={z}
        onValue={setZone}
        error={s.fields.time_zone}
        options={(zoneList().includes(z) ? zoneList() : [z, ...zoneList()]).map((name) => ({ value: name, label: name }))}
      />
      <fieldset class="plain">
        <legend>{t('prefs.emails')}</legend>
        {optional.map((k) => (
          <Checkbox key={k} label={tDyn(`ntype.${k}`, k)} name={`email_${k}`} checked={em[k]} onChange={(v) => setEmail({ ...em, [k]: v })} />
        ))}
        <p class="muted">{t('prefs.required')}</p>
      </fieldset>
      <fieldset class="plain">
        <legend>{t('prefs.reminders')}</legend>
        {REMINDER_PRESETS.map((m) => (
          <Checkbox
            key={m}
            label={tDyn(`prefs.before.${m}`, `${m}`)}
            name={`reminder_${m}`}
            checked={off.includes(m)}
            onChange={(v) => setOffsets(v ? [...off.filter((x) => x !== m), m] : off.filter((x) => x !== m))}
          />
        ))}
        {s.fields.reminder_offsets_minutes ? <p class="field-error">{s.fields.reminder_offsets_minutes}</p> : null}
      </fieldset>
      <div>
        <Button type="submit" variant="primary" busy={s.busy} data-testid="prefs-save">
          {t('common.save')}
        </Button>
      </div>
    </form>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const s = useSubmit();
  const minPassword = useMinPassword();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!current) {
      s.setFields({ current_password: t('auth.fieldRequired') });
      return;
    }
    const problem = passwordProblem(next, minPassword);
    if (problem) {
      s.setFields({ new_password: problem });
      return;
    }
    if (next !== repeat) {
      s.setFields({ repeat: t('auth.passwordMismatch') });
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', '/api/users/me/password', { current_password: current, new_password: next });
      return true;
    }, { known: ['current_password', 'new_password'], fieldMap: { invalid_password: 'current_password' } });
    if (ok) {
      toast(t('profile.passwordChanged'), 'success');
      setCurrent('');
      setNext('');
      setRepeat('');
    }
  };
  return (
    <form onSubmit={submit} noValidate class="stack" data-testid="password-form">
      <FormError error={s.error} />
      <Field
        label={t('profile.currentPassword')}
        name="current_password"
        type="password"
        autoComplete="current-password"
        value={current}
        onValue={setCurrent}
        error={s.fields.current_password}
        required
      />
      <Field
        label={t('profile.newPassword')}
        name="new_password"
        type="password"
        autoComplete="new-password"
        value={next}
        onValue={setNext}
        error={s.fields.new_password}
        hint={t('auth.passwordRules', { n: minPassword })}
        required
      />
      <Field label={t('auth.passwordRepeat')} name="repeat" type="password" autoComplete="new-password" value={repeat} onValue={setRepeat} error={s.fields.repeat} required />
      <div>
        <Button type="submit" variant="primary" busy={s.busy} data-testid="password-submit">
          {t('auth.resetSubmit')}
        </Button>
      </div>
    </form>
  );
}

/** How my account signs in (`GET /api/users/me`). */
function SignIn() {
  const res = useAsync(() => get<UserDTO>('/api/users/me'), []);
  const methods = res.data?.sign_in;
  if (!methods?.length) return null;
  return (
    <div>
      <dt>{t('profile.signIn')}</dt>
      <dd data-testid="me-sign-in">{methods.map((m) => tDyn(`signin.${m}`, m)).join(', ')}</dd>
    </div>
  );
}

function Sessions() {
  const res = useAsync(() => get<LoginSession[]>('/api/login/sessions'), []);
  const [busy, setBusy] = useState<string | null>(null);
  const revoke = async (s: LoginSession) => {
    if (s.current) {
      await logout();
      return;
    }
    setBusy(s.uid);
    try {
      await api('DELETE', `/api/login/sessions/${encodeURIComponent(s.uid)}`);
      toast(t('profile.revoked'), 'success');
      res.setData((l) => (l ?? []).filter((x) => x.uid !== s.uid));
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };
  if (res.loading && !res.data) return <Loading />;
  if (res.error) return <ErrorBox error={res.error} onRetry={() => res.reload()} />;
  const list = [...(res.data ?? [])].sort((a, b) => Number(b.current) - Number(a.current));
  if (!list.length) return <Empty>{t('profile.noSessions')}</Empty>;
  return (
    <ul class="session-list" data-testid="sessions">
      {list.map((s) => (
        <li key={s.uid} class="session" data-testid="session" data-current={s.current ? 'true' : 'false'}>
          <div>
            <p class="session-ua" title={s.user_agent ?? ''}>
              {describeUa(s.user_agent)} {s.current ? <Badge kind="success">{t('profile.thisDevice')}</Badge> : null}
            </p>
            <p class="muted small">
              {t('profile.created')}: {fmtDateTime(s.created_at)}
              {s.last_seen_at ? ` · ${t('profile.lastSeen')}: ${fmtDateTime(s.last_seen_at)}` : ''}
            </p>
          </div>
          {/* This device signs out with the header's one "sign out" button. */}
          {s.current ? null : (
            <Button
              small
              variant="danger"
              busy={busy === s.uid}
              onClick={() => void revoke(s)}
              data-testid="revoke-session"
              aria-label={t('profile.revokeLabel', { ua: describeUa(s.user_agent) })}
            >
              {t('profile.revoke')}
            </Button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Subscribe links of the calendar apps for a feed URL. */
export function subscribeLinks(url: string, name: string): { google: string; outlook: string; apple: string } {
  const webcal = url.replace(/^https?:\/\//, 'webcal://');
  return {
    google: `https://calendar.google.com/calendar/render?cid=${encodeURIComponent(webcal)}`,
    outlook: `https://outlook.live.com/calendar/0/addfromweb?url=${encodeURIComponent(url)}&name=${encodeURIComponent(name)}`,
    apple: webcal,
  };
}

function CalendarFeed() {
  const res = useAsync(() => get<{ url: string | null }>('/api/users/me/calendar-token'), []);
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const rotate = async () => {
    setConfirm(false);
    setBusy(true);
    try {
      const had = !!res.data?.url;
      const next = await api<{ url: string }>('POST', '/api/users/me/calendar-token', {});
      res.setData(() => next);
      if (had) toast(t('profile.feedRotated'), 'success');
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(false);
    }
  };
  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      toast(t('profile.copied'), 'success');
    } catch {
      const input = document.getElementById('feed-url') as HTMLInputElement | null;
      input?.select();
    }
  };
  if (res.loading && !res.data) return <Loading />;
  if (res.error) return <ErrorBox error={res.error} onRetry={() => res.reload()} />;
  const url = res.data?.url ?? null;
  const links = url ? subscribeLinks(url, t('app.brand')) : null;
  return (
    <div class="stack" data-testid="calendar-feed">
      <p class="muted">{t('profile.feedText')}</p>
      {url && links ? (
        <>
          <div class="field">
            <label for="feed-url">{t('profile.feedUrl')}</label>
            <div class="copy-row">
              <input id="feed-url" type="text" readOnly value={url} data-testid="feed-url" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
              <Button small onClick={() => void copy(url)} data-testid="feed-copy">
                {t('profile.copy')}
              </Button>
            </div>
          </div>
          <p class="subscribe-links">
            <a href={links.google} target="_blank" rel="noopener noreferrer" data-testid="subscribe-google">
              {t('profile.subscribeGoogle')}
            </a>
            <a href={links.outlook} target="_blank" rel="noopener noreferrer" data-testid="subscribe-outlook">
              {t('profile.subscribeOutlook')}
            </a>
            <a href={links.apple} data-testid="subscribe-apple">
              {t('profile.subscribeApple')}
            </a>
          </p>
          <div>
            <Button variant="ghost" busy={busy} onClick={() => setConfirm(true)} data-testid="feed-rotate">
              {t('profile.feedRotate')}
            </Button>
          </div>
          <ConfirmDialog
            open={confirm}
            title={t('profile.feedRotate')}
            text={t('profile.feedRotateConfirm')}
            confirmLabel={t('profile.feedRotate')}
            busy={busy}
            onConfirm={() => void rotate()}
            onClose={() => setConfirm(false)}
          />
        </>
      ) : (
        <div>
          <Button variant="primary" busy={busy} onClick={() => void rotate()} data-testid="feed-create">
            {t('profile.feedCreate')}
          </Button>
        </div>
      )}
    </div>
  );
}

function MyData() {
  const me = useAsync(() => get<UserDTO>('/api/users/me'), []);
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const s = useSubmit();
  const hasPassword = me.data?.sign_in.includes('password') ?? true;
  const exportData = async () => {
    setBusy(true);
    try {
      const name = await download('/api/users/me/export', 'my-data.json');
      toast(t('profile.dataDownloaded', { name }), 'success');
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    const body = hasPassword ? { password } : {};
    const done = await s.run(() => api('DELETE', '/api/users/me', body), { known: ['password'] });
    setConfirm(false);
    if (done !== undefined) {
      toast(t('profile.deleted'), 'success');
      clearSession();
      authStore.set({ status: 'anon' });
      navigate('/login');
    }
  };
  return (
    <div class="stack" data-testid="my-data">
      <p class="muted">{t('profile.dataText')}</p>
      <div>
        <Button busy={busy} onClick={() => void exportData()} data-testid="my-data-download">
          {t('profile.dataDownload')}
        </Button>
      </div>
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setConfirm(true);
        }}
        data-testid="delete-account-form"
      >
        <FormError error={s.error} />
        {hasPassword ? (
          <Field
            label={t('profile.deletePassword')}
            name="delete_password"
            type="password"
            autoComplete="current-password"
            value={password}
            onValue={setPassword}
            error={s.fields.password}
          />
        ) : (
          <p class="muted">{t('profile.deleteSso')}</p>
        )}
        <div>
          <Button type="submit" variant="danger" busy={s.busy} data-testid="delete-account">
            {t('profile.delete')}
          </Button>
        </div>
      </form>
      <ConfirmDialog
        open={confirm}
        title={t('profile.delete')}
        text={t('profile.deleteConfirm')}
        confirmLabel={t('profile.delete')}
        danger
        busy={s.busy}
        onConfirm={() => void remove()}
        onClose={() => setConfirm(false)}
      />
    </div>
  );
}

export function ProfilePage() {
  useTitle(t('profile.title'));
  const auth = useStore(authStore);
  if (auth.status !== 'ready') return <Loading />;
  const me = auth.me;
  return (
    <section class="page narrow" data-testid="profile-page">
      <PageHeader title={t('profile.title')}>
        <Button variant="danger" onClick={() => void logout()} data-testid="profile-logout">
          {t('nav.logout')}
        </Button>
      </PageHeader>
      <section class="panel">
        <h2>{t('profile.account')}</h2>
        <dl class="facts">
          <div>
            <dt>{t('auth.fullName')}</dt>
            <dd data-testid="me-name">{me.full_name}</dd>
          </div>
          <div>
            <dt>{t('auth.email')}</dt>
            <dd data-testid="me-email">{me.email}</dd>
          </div>
          <div>
            <dt>{t('profile.role')}</dt>
            <dd>{tDyn(`role.${me.role}`, me.role)}</dd>
          </div>
          <SignIn />
          <div>
            <dt>{t('profile.language')}</dt>
            <dd>
              <LangSwitch />
            </dd>
          </div>
        </dl>
      </section>
      <section class="panel">
        <h2>{t('profile.feed')}</h2>
        <CalendarFeed />
      </section>
      <section class="panel">
        <h2>{t('prefs.title')}</h2>
        <PreferencesForm />
      </section>
      <section class="panel">
        <h2>{t('profile.changePassword')}</h2>
        <PasswordForm />
      </section>
      <section class="panel">
        <h2>{t('profile.sessions')}</h2>
        <Sessions />
      </section>
      <section class="panel">
        <h2>{t('profile.data')}</h2>
        <MyData />
      </section>
    </section>
  );
}
