import { useState } from 'preact/hooks';
import { api, get, withQuery, type Role, type UserDTO } from '../../api';
import { Badge, Button, Checkbox, ConfirmDialog, Dialog, Empty, ErrorBox, Field, FormError, Loading, PageHeader, Select } from '../../components/ui';
import { dateInputToIso, fmtDate } from '../../format';
import { passwordProblem, useAsync, useDebounced, useMinPassword, useSubmit, useTitle } from '../../hooks';
import { t, tDyn } from '../../i18n';
import { currentMe, loadMe, toast } from '../../state';

const PAGE = 50;

function EditUserDialog({ user, onClose, onSaved }: { user: UserDTO | null; onClose: () => void; onSaved: (u: UserDTO) => void }) {
  const [fullName, setFullName] = useState(user?.full_name ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [role, setRole] = useState<Role>(user?.role ?? 'USER');
  const s = useSubmit();
  if (!user) return null;
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (fullName.trim() !== user.full_name) body.full_name = fullName.trim();
    if (email.trim() !== user.email) body.email = email.trim();
    if (role !== user.role) body.role = role;
    if (!Object.keys(body).length) {
      toast(t('common.noChanges'));
      onClose();
      return;
    }
    const u = await s.run(() => api<UserDTO>('PUT', `/api/users/${user.id}`, body), {
      known: ['full_name', 'email', 'role'],
      fieldMap: { email_exists: 'email', last_admin: 'role' },
    });
    if (u) {
      toast(t('users.updated', { name: u.full_name }), 'success');
      onSaved(u);
    }
  };
  return (
    <Dialog title={t('users.editTitle', { id: user.id })} open onClose={onClose} testid="user-edit-dialog">
      <form onSubmit={submit} noValidate class="stack">
        <FormError error={s.error} />
        <Field label={t('auth.fullName')} name="full_name" value={fullName} onValue={setFullName} error={s.fields.full_name} required />
        <Field label={t('auth.email')} name="email" type="email" value={email} onValue={setEmail} error={s.fields.email} required />
        <Select
          label={t('users.role')}
          name="role"
          value={role}
          onValue={(v) => setRole(v as Role)}
          error={s.fields.role}
          options={[
            { value: 'USER', label: t('role.USER') },
            { value: 'ADMINISTRATOR', label: t('role.ADMINISTRATOR') },
          ]}
        />
        <div class="dialog-actions">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" busy={s.busy} data-testid="user-save">
            {t('common.save')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function PasswordDialog({ user, onClose }: { user: UserDTO | null; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [sendEmail, setSendEmail] = useState(true);
  const s = useSubmit();
  const minPassword = useMinPassword();
  if (!user) return null;
  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = passwordProblem(password, minPassword);
    if (problem) {
      s.setFields({ password: problem });
      return;
    }
    const ok = await s.run(async () => {
      await api('POST', `/api/users/${user.id}/reset-password`, { password, send_email: sendEmail });
      return true;
    }, { known: ['password'] });
    if (ok) {
      toast(t('users.passwordSet', { name: user.full_name }), 'success');
      onClose();
    }
  };
  return (
    <Dialog title={t('users.setPasswordTitle', { name: user.full_name })} open onClose={onClose} testid="user-password-dialog">
      <form onSubmit={submit} noValidate class="stack">
        <FormError error={s.error} />
        <Field
          label={t('profile.newPassword')}
          name="password"
          type="text"
          autoComplete="off"
          spellcheck={false}
          value={password}
          onValue={setPassword}
          error={s.fields.password}
          hint={t('auth.passwordRules', { n: minPassword })}
          required
        />
        <Checkbox label={t('users.sendEmail')} name="send_email" checked={sendEmail} onChange={setSendEmail} />
        <div class="dialog-actions">
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="primary" busy={s.busy} data-testid="password-save">
            {t('users.setPassword')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function AdminUsersPage() {
  useTitle(t('users.title'));
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 300);
  const [role, setRole] = useState('');
  const [status, setStatus] = useState('ACTIVE');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<UserDTO | null>(null);
  const [pwUser, setPwUser] = useState<UserDTO | null>(null);
  const [deleting, setDeleting] = useState<UserDTO | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  const res = useAsync(async () => {
    const path = withQuery('/api/users', {
      q,
      role,
      status: status === 'ALL' ? null : status,
      include_deleted: status === 'ALL' ? true : null,
      created_from: dateInputToIso(from),
      created_to: dateInputToIso(to, true),
      limit: PAGE + 1,
      offset,
    });
    return get<UserDTO[]>(path);
  }, [q, role, status, from, to, offset]);
  const rows = (res.data ?? []).slice(0, PAGE);
  const hasMore = (res.data?.length ?? 0) > PAGE;

  const resetPage = <T,>(fn: (v: T) => void) => (v: T) => {
    setOffset(0);
    fn(v);
  };

  const doDelete = async () => {
    if (!deleting) return;
    setBusy(deleting.id);
    try {
      await api('DELETE', `/api/users/${deleting.id}`);
      toast(t('users.deleted', { name: deleting.full_name }), 'success');
      setDeleting(null);
      res.reload(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };

  const restore = async (u: UserDTO) => {
    setBusy(u.id);
    try {
      await api('PUT', `/api/users/${u.id}`, { deleted_at: null });
      toast(t('users.restored', { name: u.full_name }), 'success');
      res.reload(true);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="page" data-testid="admin-users-page">
      <PageHeader title={t('users.title')} />
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('common.search')}>
        <Field label={t('users.searchLabel')} name="q" type="search" value={text} onValue={resetPage(setText)} />
        <Select
          label={t('users.role')}
          name="role_filter"
          value={role}
          onValue={resetPage(setRole)}
          options={[
            { value: '', label: t('common.all') },
            { value: 'USER', label: t('role.USER') },
            { value: 'ADMINISTRATOR', label: t('role.ADMINISTRATOR') },
          ]}
        />
        <Select
          label={t('users.status')}
          name="status_filter"
          value={status}
          onValue={resetPage(setStatus)}
          options={[
            { value: 'ACTIVE', label: t('users.statusActive') },
            { value: 'DELETED', label: t('users.statusDeleted') },
            { value: 'ALL', label: t('users.statusAll') },
          ]}
        />
        <Field label={t('users.createdFrom')} name="created_from" type="date" value={from} onValue={resetPage(setFrom)} />
        <Field label={t('users.createdTo')} name="created_to" type="date" value={to} onValue={resetPage(setTo)} />
        <div class="filters-reset">
          <Button
            small
            variant="ghost"
            onClick={() => {
              setText('');
              setRole('');
              setStatus('ACTIVE');
              setFrom('');
              setTo('');
              setOffset(0);
            }}
          >
            {t('users.reset')}
          </Button>
        </div>
      </form>
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={() => res.reload()} />
      ) : rows.length === 0 ? (
        <Empty>{t('users.empty')}</Empty>
      ) : (
        <>
          <div class="table-wrap" tabIndex={0} role="region" aria-label={t('common.tableScroll')} aria-busy={res.loading ? 'true' : 'false'}>
            <table class="table" data-testid="users-table">
              <thead>
                <tr>
                  <th scope="col">{t('users.id')}</th>
                  <th scope="col">{t('users.name')}</th>
                  <th scope="col">{t('users.email')}</th>
                  <th scope="col">{t('users.role')}</th>
                  <th scope="col">{t('users.status')}</th>
                  <th scope="col">{t('users.created')}</th>
                  <th scope="col">{t('users.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((u) => (
                  <tr key={u.id} data-testid="user-row" data-email={u.email} data-status={u.status} data-role={u.role}>
                    <td class="num">{u.id}</td>
                    <td>
                      {u.full_name} {u.is_system ? <Badge>{t('users.system')}</Badge> : null}
                    </td>
                    <td class="nowrap">
                      {u.email}{' '}
                      {u.sign_in?.includes('ldap') ? <Badge testid="user-sign-in">LDAP</Badge> : null}
                      {u.sign_in?.includes('oidc') ? <Badge testid="user-sign-in">SSO</Badge> : null}
                    </td>
                    <td>
                      <Badge kind={u.role === 'ADMINISTRATOR' ? 'accent' : 'neutral'} testid="user-role">
                        {tDyn(`role.${u.role}`, u.role)}
                      </Badge>
                    </td>
                    <td>
                      <Badge kind={u.status === 'DELETED' ? 'danger' : 'success'} testid="user-status">
                        {tDyn(`ustatus.${u.status}`, u.status)}
                      </Badge>
                    </td>
                    <td class="nowrap">{fmtDate(u.created_at)}</td>
                    <td>
                      <div class="row-actions">
                        <Button small onClick={() => setEditing(u)} data-testid="user-edit" aria-label={`${t('users.edit')}: ${u.full_name}`}>
                          {t('users.edit')}
                        </Button>
                        {u.status === 'DELETED' ? (
                          <Button small variant="success" busy={busy === u.id} onClick={() => void restore(u)} data-testid="user-restore" aria-label={`${t('users.restore')}: ${u.full_name}`}>
                            {t('users.restore')}
                          </Button>
                        ) : (
                          <>
                            <Button small onClick={() => setPwUser(u)} data-testid="user-password" aria-label={`${t('users.setPassword')}: ${u.full_name}`}>
                              {t('users.setPassword')}
                            </Button>
                            <Button
                              small
                              variant="danger"
                              disabled={u.id === currentMe()?.id}
                              onClick={() => setDeleting(u)}
                              data-testid="user-delete"
                              aria-label={`${t('users.delete')}: ${u.full_name}`}
                            >
                              {t('users.delete')}
                            </Button>
                          </>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
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
      {editing ? (
        <EditUserDialog
          key={editing.id}
          user={editing}
          onClose={() => setEditing(null)}
          onSaved={(u) => {
            setEditing(null);
            res.setData((l) => (l ?? []).map((x) => (x.id === u.id ? u : x)));
            if (u.id === currentMe()?.id) void loadMe();
          }}
        />
      ) : null}
      {pwUser ? <PasswordDialog key={pwUser.id} user={pwUser} onClose={() => setPwUser(null)} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        title={t('users.delete')}
        text={deleting ? t('users.deleteConfirm', { name: deleting.full_name }) : ''}
        confirmLabel={t('users.delete')}
        danger
        busy={busy !== null}
        onConfirm={() => void doDelete()}
        onClose={() => setDeleting(null)}
      />
    </section>
  );
}
