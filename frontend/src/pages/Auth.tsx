import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, clientConfig } from '../api';
import { Button, Field, FormError } from '../components/ui';
import { fmtCountdown } from '../format';
import { passwordProblem, useAsync, useMinPassword, useSubmit, useTitle } from '../hooks';
import { t, type MsgKey } from '../i18n';
import { Link, navigate, useQuery } from '../router';
import { adoptSession, getPending, login, setPending, toast } from '../state';

function AuthCard({ title, intro, children, testid }: { title: string; intro?: ComponentChildren; children: ComponentChildren; testid: string }) {
  useTitle(title);
  return (
    <section class="auth-wrap">
      <div class="auth-card" data-testid={testid}>
        <h1 tabIndex={-1}>{title}</h1>
        {intro ? <p class="muted">{intro}</p> : null}
        {children}
      </div>
    </section>
  );
}

function required(v: string): string | null {
  return v.trim() ? null : t('auth.fieldRequired');
}

function Notice({ children, testid }: { children: ComponentChildren; testid?: string }) {
  return (
    <div class="notice" role="status" data-testid={testid}>
      {children}
    </div>
  );
}

/** The identity provider's button and the reason a sign-in through it
 * failed (`/login?sso_error=<code>`, set by the server's callback). */
function SsoSignIn({ error }: { error: string | null }) {
  const config = useAsync(clientConfig, []);
  const sso = config.data?.sso;
  const known = [
    'provider_unavailable',
    'provider_refused',
    'invalid_token',
    'invalid_state',
    'denied',
    'email_unverified',
    'domain_not_allowed',
    'account_unavailable',
  ];
  const message = error ? t((known.includes(error) ? `auth.ssoError.${error}` : 'auth.ssoError.other') as MsgKey) : null;
  return (
    <>
      {message ? (
        <div class="form-error" role="alert" data-testid="sso-error">
          {message}
        </div>
      ) : null}
      {sso ? (
        <div class="sso-sign-in">
          <a class="btn btn-primary btn-block" href={sso.login_url} data-testid="sso-login">
            {t('auth.ssoButton', { name: sso.name })}
          </a>
          {config.data?.password_login ? <p class="muted sso-or">{t('auth.ssoOr')}</p> : null}
        </div>
      ) : null}
    </>
  );
}

/** `/login/sso#uid=…&token=…`: where the server's OpenID Connect callback
 * sends a signed-in browser. The session is kept as after a password login
 * and the fragment is removed from the history at once. */
export function SsoLandingPage() {
  useEffect(() => {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    window.history.replaceState(null, '', '/login/sso');
    const uid = params.get('uid');
    const token = params.get('token');
    if (!uid || !token) {
      navigate('/login?sso_error=invalid_state', { replace: true });
      return;
    }
    adoptSession(uid, token).then(
      () => navigate('/dashboard', { replace: true }),
      () => navigate('/login?sso_error=other', { replace: true }),
    );
  }, []);
  return (
    <AuthCard title={t('auth.ssoLanding')} testid="sso-landing">
      <p class="muted">{t('auth.ssoLanding')}</p>
    </AuthCard>
  );
}

/** Registration and recovery are open unless the server says otherwise. */
function useRegistration(): boolean {
  const config = useAsync(clientConfig, []);
  return config.data?.registration ?? true;
}

function ClosedNotice() {
  return (
    <Notice testid="registration-closed">
      {t('auth.registrationClosed')} <Link href="/login">{t('auth.toLogin')}</Link>
    </Notice>
  );
}

export function LoginPage() {
  const q = useQuery();
  const registration = useRegistration();
  const config = useAsync(clientConfig, []);
  // Only the identity provider is open to employees (`auth.password_login =
  // false`, no directory): the password form stays reachable for the
  // administrators' break-glass sign-in, folded away under its own heading.
  const ssoOnly = !!config.data?.sso && config.data.password_login === false;
  const [email, setEmail] = useState(q.get('email') ?? '');
  const [password, setPassword] = useState('');
  const s = useSubmit();
  const verified = q.get('verified') === '1';
  const reset = q.get('reset') === '1';

  const submit = async (e: Event) => {
    e.preventDefault();
    const fe: Record<string, string> = {};
    const r1 = required(email);
    const r2 = required(password);
    if (r1) fe.email = r1;
    if (r2) fe.password = r2;
    if (Object.keys(fe).length) {
      s.setFields(fe);
      return;
    }
    await s.run(() => login(email.trim(), password), { known: ['email', 'password'] });
    // On success the router moves the signed-in user on to ?next= or /dashboard.
  };

  const form = (
    <form onSubmit={submit} noValidate data-testid="login-form">
      <FormError error={s.error} retryLeft={s.retryLeft} />
      <Field label={t('auth.email')} name="email" type="email" autoComplete="username" value={email} onValue={setEmail} error={s.fields.email} required />
      <Field
        label={t('auth.password')}
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onValue={setPassword}
        error={s.fields.password}
        required
      />
      <Button type="submit" variant="primary" class="btn-block" busy={s.busy} disabled={s.retryLeft > 0} data-testid="login-submit">
        {s.retryLeft > 0 ? t('common.waitSeconds', { s: fmtCountdown(s.retryLeft) }) : t('auth.loginSubmit')}
      </Button>
    </form>
  );

  return (
    <AuthCard title={t('auth.loginTitle')} intro={t('auth.loginIntro')} testid="login-page">
      {verified ? <Notice testid="verified-notice">{t('auth.verifiedLogin')}</Notice> : null}
      {reset ? <Notice>{t('auth.resetDone')}</Notice> : null}
      <SsoSignIn error={q.get('sso_error')} />
      {ssoOnly ? (
        <details class="admin-sign-in" data-testid="admin-sign-in">
          <summary>{t('auth.adminSignIn')}</summary>
          {form}
        </details>
      ) : (
        form
      )}
      {registration ? (
        <div class="auth-links">
          <Link href="/recovery">{t('auth.forgot')}</Link>
          <span>
            {t('auth.noAccount')} <Link href="/register" data-testid="to-register">{t('auth.toRegister')}</Link>
          </span>
        </div>
      ) : ssoOnly ? null : (
        <p class="muted" data-testid="company-sign-in">{t('auth.companySignIn')}</p>
      )}
    </AuthCard>
  );
}

export function RegisterPage() {
  const registration = useRegistration();
  const [email, setEmail] = useState('');
  const [fullName, setFullName] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const s = useSubmit();
  const minPassword = useMinPassword();

  const submit = async (e: Event) => {
    e.preventDefault();
    const fe: Record<string, string> = {};
    const a = required(email);
    const b = required(fullName);
    const c = passwordProblem(password, minPassword);
    if (a) fe.email = a;
    if (b) fe.full_name = b;
    if (c) fe.password = c;
    if (!c && password !== repeat) fe.repeat = t('auth.passwordMismatch');
    if (Object.keys(fe).length) {
      s.setFields(fe);
      return;
    }
    const res = await s.run(() => api<{ token: string }>('POST', '/api/register', { email: email.trim(), password, full_name: fullName.trim() }), {
      known: ['email', 'password', 'full_name'],
      fieldMap: { email_exists: 'email' },
    });
    if (res?.token) {
      setPending({ token: res.token, email: email.trim(), password });
      navigate(`/verify?token=${encodeURIComponent(res.token)}&email=${encodeURIComponent(email.trim())}`);
    }
  };

  if (!registration) {
    return (
      <AuthCard title={t('auth.registerTitle')} testid="register-page">
        <ClosedNotice />
      </AuthCard>
    );
  }
  return (
    <AuthCard title={t('auth.registerTitle')} testid="register-page">
      <form onSubmit={submit} noValidate data-testid="register-form">
        <FormError error={s.error} retryLeft={s.retryLeft} />
        <Field label={t('auth.email')} name="email" type="email" autoComplete="email" value={email} onValue={setEmail} error={s.fields.email} required />
        <Field label={t('auth.fullName')} name="full_name" autoComplete="name" value={fullName} onValue={setFullName} error={s.fields.full_name} maxLength={200} required />
        <Field
          label={t('auth.password')}
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          error={s.fields.password}
          hint={t('auth.passwordRules', { n: minPassword })}
          minLength={minPassword}
          maxLength={1024}
          required
        />
        <Field
          label={t('auth.passwordRepeat')}
          name="repeat"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onValue={setRepeat}
          error={s.fields.repeat}
          required
        />
        <Button type="submit" variant="primary" class="btn-block" busy={s.busy} disabled={s.retryLeft > 0} data-testid="register-submit">
          {t('auth.registerSubmit')}
        </Button>
      </form>
      <div class="auth-links">
        <span>
          {t('auth.haveAccount')} <Link href="/login">{t('auth.toLogin')}</Link>
        </span>
      </div>
    </AuthCard>
  );
}

export function VerifyPage() {
  const q = useQuery();
  const token = q.get('token') ?? '';
  const email = q.get('email') ?? getPending()?.email ?? '';
  const [code, setCode] = useState('');
  const s = useSubmit();
  const resend = useSubmit();

  const submit = async (e: Event) => {
    e.preventDefault();
    const c = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(c)) {
      s.setFields({ code: t('auth.codeInvalid') });
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', '/api/register/verification', { token, code: parseInt(c, 10) });
      return true;
    }, { known: ['code'], fieldMap: { invalid_code: 'code' } });
    if (!ok) return;
    const p = getPending();
    setPending(null);
    if (p && p.token === token) {
      try {
        await login(p.email, p.password);
        navigate('/dashboard', { replace: true });
        return;
      } catch {
        /* fall through to the sign-in form */
      }
    }
    navigate(`/login?verified=1&email=${encodeURIComponent(email)}`, { replace: true });
  };

  const doResend = async () => {
    const ok = await resend.run(async () => {
      await api('POST', '/api/register/resend', { token });
      return true;
    });
    if (ok) toast(t('auth.resent'), 'success');
  };
  // The resend button counts down from the server's Retry-After.
  const wait = resend.retryLeft;

  if (!token) {
    return (
      <AuthCard title={t('auth.verifyTitle')} testid="verify-page">
        <FormError error={t('auth.noToken')} />
        <Link href="/register">{t('auth.toRegister')}</Link>
      </AuthCard>
    );
  }

  return (
    <AuthCard title={t('auth.verifyTitle')} intro={email ? t('auth.verifyIntro', { email }) : t('auth.verifyIntroNoEmail')} testid="verify-page">
      <form onSubmit={submit} noValidate data-testid="verify-form">
        <FormError error={s.error} retryLeft={s.retryLeft} />
        <Field
          label={t('auth.code')}
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          class="code-input"
          value={code}
          onValue={(v) => setCode(v.replace(/[^\d]/g, ''))}
          error={s.fields.code}
          required
        />
        <Button type="submit" variant="primary" class="btn-block" busy={s.busy} disabled={s.retryLeft > 0} data-testid="verify-submit">
          {t('auth.verifySubmit')}
        </Button>
      </form>
      <div class="resend">
        <FormError error={resend.error} />
        <Button variant="ghost" onClick={doResend} busy={resend.busy} disabled={wait > 0} data-testid="resend">
          {wait > 0 ? t('auth.resendIn', { s: fmtCountdown(wait) }) : t('auth.resend')}
        </Button>
      </div>
    </AuthCard>
  );
}

export function RecoveryPage() {
  const q = useQuery();
  const token = q.get('token');
  const registration = useRegistration();
  if (!registration) {
    return (
      <AuthCard title={t('auth.recoveryTitle')} testid="recovery-page">
        <ClosedNotice />
      </AuthCard>
    );
  }
  return token ? <ResetForm token={token} /> : <RecoveryRequest />;
}

function RecoveryRequest() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const s = useSubmit();
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = required(email);
    if (r) {
      s.setFields({ email: r });
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', '/api/login/recovery', { email: email.trim() });
      return true;
    }, { known: ['email'], fieldMap: { user_not_found: 'email' } });
    if (ok) setSent(email.trim());
  };
  return (
    <AuthCard title={t('auth.recoveryTitle')} intro={sent ? undefined : t('auth.recoveryIntro')} testid="recovery-page">
      {sent ? (
        <Notice testid="recovery-sent">{t('auth.recoverySent', { email: sent })}</Notice>
      ) : (
        <form onSubmit={submit} noValidate data-testid="recovery-form">
          <FormError error={s.error} retryLeft={s.retryLeft} />
          <Field label={t('auth.email')} name="email" type="email" autoComplete="email" value={email} onValue={setEmail} error={s.fields.email} required />
          <Button type="submit" variant="primary" class="btn-block" busy={s.busy} disabled={s.retryLeft > 0}>
            {t('auth.recoverySubmit')}
          </Button>
        </form>
      )}
      <div class="auth-links">
        <Link href="/login">{t('auth.backToLogin')}</Link>
      </div>
    </AuthCard>
  );
}

function ResetForm({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const s = useSubmit();
  const minPassword = useMinPassword();
  const submit = async (e: Event) => {
    e.preventDefault();
    const p = passwordProblem(password, minPassword);
    if (p) {
      s.setFields({ password: p });
      return;
    }
    if (password !== repeat) {
      s.setFields({ repeat: t('auth.passwordMismatch') });
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', '/api/login/recovery/submit', { token, password });
      return true;
    }, { known: ['password'] });
    if (ok) {
      toast(t('auth.resetDone'), 'success');
      navigate('/login?reset=1', { replace: true });
    }
  };
  return (
    <AuthCard title={t('auth.resetTitle')} testid="reset-page">
      <form onSubmit={submit} noValidate>
        <FormError error={s.error} />
        <Field
          label={t('auth.password')}
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          error={s.fields.password}
          hint={t('auth.passwordRules', { n: minPassword })}
          required
        />
        <Field label={t('auth.passwordRepeat')} name="repeat" type="password" autoComplete="new-password" value={repeat} onValue={setRepeat} error={s.fields.repeat} required />
        <Button type="submit" variant="primary" class="btn-block" busy={s.busy}>
          {t('auth.resetSubmit')}
        </Button>
      </form>
      <div class="auth-links">
        <Link href="/recovery">{t('auth.recoveryTitle')}</Link>
      </div>
    </AuthCard>
  );
}

export function SetupPage() {
  const q = useQuery();
  const urlToken = q.get('token') ?? '';
  const [token, setToken] = useState(urlToken);
  const [email, setEmail] = useState('');
  const [fullName, setFullName] = useState('');
  const [password, setPassword] = useState('');
  const s = useSubmit();
  const minPassword = useMinPassword();
  const submit = async (e: Event) => {
    e.preventDefault();
    const fe: Record<string, string> = {};
    const a = required(token);
    const b = required(email);
    const c = required(fullName);
    const d = passwordProblem(password, minPassword);
    if (a) fe.token = a;
    if (b) fe.email = b;
    if (c) fe.full_name = c;
    if (d) fe.password = d;
    if (Object.keys(fe).length) {
      s.setFields(fe);
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', '/api/setup', { token: token.trim(), email: email.trim(), full_name: fullName.trim(), password });
      return true;
    }, { known: ['token', 'email', 'full_name', 'password'] });
    if (!ok) return;
    try {
      await login(email.trim(), password);
      navigate('/dashboard', { replace: true });
    } catch {
      navigate(`/login?email=${encodeURIComponent(email.trim())}`, { replace: true });
    }
  };
  return (
    <AuthCard title={t('auth.setupTitle')} intro={t('auth.setupIntro')} testid="setup-page">
      <form onSubmit={submit} noValidate>
        <FormError error={s.error} retryLeft={s.retryLeft} />
        {urlToken ? null : <Field label={t('auth.setupToken')} name="token" value={token} onValue={setToken} error={s.fields.token} required />}
        {urlToken && s.fields.token ? <FormError error={s.fields.token} /> : null}
        <Field label={t('auth.email')} name="email" type="email" autoComplete="email" value={email} onValue={setEmail} error={s.fields.email} required />
        <Field label={t('auth.fullName')} name="full_name" autoComplete="name" value={fullName} onValue={setFullName} error={s.fields.full_name} required />
        <Field
          label={t('auth.password')}
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          error={s.fields.password}
          hint={t('auth.passwordRules', { n: minPassword })}
          required
        />
        <Button type="submit" variant="primary" class="btn-block" busy={s.busy}>
          {t('auth.setupSubmit')}
        </Button>
      </form>
    </AuthCard>
  );
}
