import { useState } from 'preact/hooks';
import { api, get, type LoginSession, type UserDTO } from '../api';
import { LangSwitch } from '../components/Layout';
import { Badge, Button, Empty, ErrorBox, Field, FormError, Loading, PageHeader } from '../components/ui';
import { fmtDateTime } from '../format';
import { useAsync, useSubmit, useTitle } from '../hooks';
import { t, tDyn } from '../i18n';
import { authStore, logout, toast } from '../state';
import { useStore } from '../store';

export function describeUa(ua: string | null): string {
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

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const s = useSubmit();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!current) {
      s.setFields({ current_password: t('auth.fieldRequired') });
      return;
    }
    if ([...next].length < 8) {
      s.setFields({ new_password: t('auth.passwordTooShort') });
      return;
    }
    if (next !== repeat) {
      s.setFields({ repeat: t('auth.passwordMismatch') });
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', '/api/users/me/password', { current_password: current, new_password: next });
      return true;
    }, { known: ['current_password', 'new_password'], fieldMap: { 'Invalid password': 'current_password' } });
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
        hint={t('auth.passwordRules')}
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
          <Button
            small
            variant={s.current ? 'ghost' : 'danger'}
            busy={busy === s.uid}
            onClick={() => void revoke(s)}
            data-testid="revoke-session"
            aria-label={t('profile.revokeLabel', { ua: describeUa(s.user_agent) })}
          >
            {s.current ? t('nav.logout') : t('profile.revoke')}
          </Button>
        </li>
      ))}
    </ul>
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
        <h2>{t('profile.changePassword')}</h2>
        <PasswordForm />
      </section>
      <section class="panel">
        <h2>{t('profile.sessions')}</h2>
        <Sessions />
      </section>
    </section>
  );
}
