import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, get, withQuery, type Category, type Desk, type EventDTO, type Repeat, type SeriesDTO, type UserDTO, type Weekday } from '../../api';
import { Badge, Button, Checkbox, ConfirmDialog, ErrorBox, Field, FormError, Loading, PageHeader, Select, SeriesMark, TextArea } from '../../components/ui';
import { fmtDateTime, fromLocalInput, timeZone, toLocalInput } from '../../format';
import { useAsync, useDebounced, useSubmit, useTitle } from '../../hooks';
import { t, tDyn } from '../../i18n';
import { Link, navigate } from '../../router';
import { currentMe, toast } from '../../state';
import { exportParticipants, statusBadgeKind } from './Events';

interface Person {
  id: number;
  full_name: string;
  email: string;
}

interface FormState {
  name: string;
  short_description: string;
  description: string;
  starts: string;
  ends: string;
  location: string;
  payment_info: string;
  max: string;
  image_url: string;
  /** Category id, or '' for none. */
  category: string;
  participants: Person[];
  /** Event managers (co-organisers). */
  managers: Person[];
  attendees_visible: boolean;
}

const EMPTY: FormState = {
  name: '',
  short_description: '',
  description: '',
  starts: '',
  ends: '',
  location: '',
  payment_info: '',
  max: '',
  image_url: '',
  category: '',
  participants: [],
  managers: [],
  attendees_visible: true,
};

const FIELD_MAP: Record<string, string> = {
  starts_before_creation: 'starts_at',
  ends_before_start: 'ends_at',
  event_full: 'max_participants_count',
  participants_missing: 'participants_ids',
  unsupported_file_type: 'image_url',
  file_too_large: 'image_url',
  category_not_found: 'category_id',
  managers_missing: 'managers',
};
const KNOWN = ['name', 'short_description', 'description', 'starts_at', 'ends_at', 'location', 'payment_info', 'max_participants_count', 'image_url', 'participants_ids', 'category_id', 'managers'];

/** The "Repeat" section of a new event. */
interface RepeatState {
  frequency: '' | 'WEEKLY' | 'MONTHLY';
  interval: string;
  weekdays: Weekday[];
  /** Monthly: on the start's day of the month, or on its nth (or last) weekday. */
  monthly: 'day' | 'nth' | 'last';
  end: 'count' | 'until' | 'never';
  count: string;
  until: string;
}

const NO_REPEAT: RepeatState = { frequency: '', interval: '1', weekdays: [], monthly: 'day', end: 'count', count: '10', until: '' };
const WEEKDAYS: Weekday[] = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
/** JS getDay() (0 = Sunday) → RFC 5545 day. */
const JS_DAY: Weekday[] = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

function weekdayName(d: Weekday, long = false): string {
  // 2024-01-01 was a Monday.
  const date = new Date(2024, 0, 1 + WEEKDAYS.indexOf(d));
  return date.toLocaleDateString(undefined, { weekday: long ? 'long' : 'short' });
}

/** The repeat rule the section describes, for a first occurrence starting at `starts` (local input). */
function repeatBody(r: RepeatState, starts: string): Repeat | null {
  if (!r.frequency) return null;
  const start = new Date(starts);
  const body: Repeat = { frequency: r.frequency, interval: Math.max(1, parseInt(r.interval, 10) || 1) };
  if (r.frequency === 'WEEKLY') body.weekdays = r.weekdays.length ? r.weekdays : [JS_DAY[start.getDay()]];
  else if (r.monthly === 'day') body.month_day = start.getDate();
  else {
    body.month_weekday = JS_DAY[start.getDay()];
    body.month_week = r.monthly === 'last' ? -1 : Math.ceil(start.getDate() / 7);
  }
  if (r.end === 'count') body.count = Math.max(1, parseInt(r.count, 10) || 1);
  else if (r.end === 'until' && r.until) body.until = r.until;
  return body;
}

function RepeatSection({ value, onChange, starts, error }: { value: RepeatState; onChange: (r: RepeatState) => void; starts: string; error?: string }) {
  const set = <K extends keyof RepeatState>(k: K) => (v: RepeatState[K]) => onChange({ ...value, [k]: v });
  const start = starts ? new Date(starts) : null;
  const startDay = start && !isNaN(start.getTime()) ? JS_DAY[start.getDay()] : null;
  return (
    <fieldset class="panel stack repeat" data-testid="repeat-section">
      <legend>{t('series.repeat')}</legend>
      <Select
        label={t('series.frequency')}
        name="repeat_frequency"
        value={value.frequency}
        onValue={(v) => set('frequency')(v as RepeatState['frequency'])}
        options={[
          { value: '', label: t('series.none') },
          { value: 'WEEKLY', label: t('series.weekly') },
          { value: 'MONTHLY', label: t('series.monthly') },
        ]}
      />
      {value.frequency ? (
        <>
          <Field label={t('series.interval')} name="repeat_interval" type="number" min={1} max={52} step={1} inputMode="numeric" value={value.interval} onValue={set('interval')} />
          {value.frequency === 'WEEKLY' ? (
            <fieldset class="weekdays">
              <legend>{t('series.days')}</legend>
              {WEEKDAYS.map((d) => {
                const checked = value.weekdays.length ? value.weekdays.includes(d) : d === startDay;
                return (
                  <label key={d} class="check-inline">
                    <input
                      type="checkbox"
                      data-testid={`repeat-day-${d}`}
                      checked={checked}
                      onChange={(e) => {
                        const base = value.weekdays.length ? value.weekdays : startDay ? [startDay] : [];
                        const on = (e.currentTarget as HTMLInputElement).checked;
                        set('weekdays')(WEEKDAYS.filter((w) => (w === d ? on : base.includes(w))));
                      }}
                    />{' '}
                    {weekdayName(d)}
                  </label>
                );
              })}
            </fieldset>
          ) : (
            <Select
              label={t('series.monthly')}
              name="repeat_monthly"
              value={value.monthly}
              onValue={(v) => set('monthly')(v as RepeatState['monthly'])}
              options={
                start && startDay
                  ? [
                      { value: 'day', label: t('series.monthlyDay', { day: start.getDate() }) },
                      { value: 'nth', label: t('series.monthlyWeekday', { nth: `${Math.ceil(start.getDate() / 7)}.`, weekday: weekdayName(startDay, true) }) },
                      { value: 'last', label: t('series.monthlyLast', { weekday: weekdayName(startDay, true) }) },
                    ]
                  : [{ value: 'day', label: t('series.monthly') }]
              }
            />
          )}
          <Select
            label={t('series.end')}
            name="repeat_end"
            value={value.end}
            onValue={(v) => set('end')(v as RepeatState['end'])}
            options={[
              { value: 'count', label: t('series.endCount') },
              { value: 'until', label: t('series.endUntil') },
              { value: 'never', label: t('series.endNever') },
            ]}
          />
          {value.end === 'count' ? <Field label={t('series.count')} name="repeat_count" type="number" min={1} max={1000} step={1} inputMode="numeric" value={value.count} onValue={set('count')} /> : null}
          {value.end === 'until' ? <Field label={t('series.until')} name="repeat_until" type="date" value={value.until} onValue={set('until')} /> : null}
          <p class="hint">{t('series.hint')}</p>
        </>
      ) : null}
      {error ? (
        <p class="field-error" role="alert" data-testid="error-repeat">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

type Scope = 'this' | 'following' | 'all';

function ScopeChoice({ value, onChange }: { value: Scope; onChange: (s: Scope) => void }) {
  const options: [Scope, string][] = [
    ['this', t('series.scopeThis')],
    ['following', t('series.scopeFollowing')],
    ['all', t('series.scopeAll')],
  ];
  return (
    <fieldset class="scope" data-testid="scope-choice">
      <legend>{t('series.scope')}</legend>
      {options.map(([s, label]) => (
        <label key={s} class="check-inline">
          <input type="radio" name="scope" value={s} checked={value === s} data-testid={`scope-${s}`} onChange={() => onChange(s)} /> {label}
        </label>
      ))}
    </fieldset>
  );
}

/**
 * Resolve user ids to names by paging through /api/users (there is no bulk lookup). An event's
 * manager may not list users: their names then come from the event's check-in desk.
 */
async function resolveUsers(ids: number[], eventId?: number): Promise<Person[]> {
  const want = new Set(ids);
  const found = new Map<number, Person>();
  try {
    for (let offset = 0; want.size > found.size && offset < 5000; offset += 200) {
      const page = await get<UserDTO[]>(withQuery('/api/users', { include_deleted: true, limit: 200, offset }));
      for (const u of page) if (want.has(u.id)) found.set(u.id, { id: u.id, full_name: u.full_name, email: u.email });
      if (page.length < 200) break;
    }
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 403 && eventId !== undefined)) throw e;
    const desk = await get<Desk>(`/api/events/${eventId}/check-ins`);
    for (const p of desk.participants) if (want.has(p.user_id)) found.set(p.user_id, { id: p.user_id, full_name: p.full_name, email: p.email });
  }
  return ids.map((id) => found.get(id) ?? { id, full_name: `#${id}`, email: '' });
}

function fromEvent(ev: EventDTO, people: Person[], managers: Person[]): FormState {
  return {
    name: ev.name,
    short_description: ev.short_description ?? '',
    description: ev.description ?? '',
    starts: toLocalInput(ev.starts_at),
    ends: toLocalInput(ev.ends_at),
    location: ev.location ?? '',
    payment_info: ev.payment_info ?? '',
    max: ev.max_participants_count ? String(ev.max_participants_count) : '',
    image_url: ev.image_url ?? '',
    category: ev.category_id === null || ev.category_id === undefined ? '' : String(ev.category_id),
    participants: people,
    managers,
    attendees_visible: ev.attendees_visible ?? true,
  };
}

/** The waiting list in order, with names (administrators only). */
function WaitlistPanel({ ev }: { ev: EventDTO }) {
  const list = ev.waitlist ?? [];
  const names = useAsync(() => (list.length ? resolveUsers(list.map((w) => w.user_id), ev.id) : Promise.resolve([] as Person[])), [JSON.stringify(list)]);
  if (!list.length) return null;
  return (
    <section class="panel" data-testid="admin-waitlist">
      <h2>{t('form.waitlist', { n: list.length })}</h2>
      <ol>
        {list.map((w, i) => {
          const p = names.data?.[i];
          return (
            <li key={w.user_id} data-testid="admin-waitlist-entry" data-user-id={w.user_id}>
              {p ? `${p.full_name}${p.email ? ` <${p.email}>` : ''}` : `#${w.user_id}`} <span class="muted small">{fmtDateTime(w.created_at)}</span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function ImageInput({ url, onUrl, error }: { url: string; onUrl: (u: string) => void; error?: string }) {
  const [busy, setBusy] = useState(false);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const upload = async (file: File) => {
    setBusy(true);
    setUploadError(null);
    try {
      const fd = new FormData();
      fd.append('file', file, file.name);
      const res = await api<{ url: string }>('POST', '/api/files', fd);
      onUrl(res.url);
      toast(t('form.imageUploaded'), 'success');
    } catch (e) {
      setUploadError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };
  const err = uploadError ?? error;
  return (
    <div class={`field image-field${err ? ' has-error' : ''}`}>
      <label for="ev-image">
        {t('form.image')}
        <span class="req" aria-hidden="true">
          {' '}
          *
        </span>
      </label>
      <div class="image-row">
        <div class="image-preview" data-testid="image-preview-box">
          {url ? <img src={url} alt={t('form.imagePreview')} data-testid="image-preview" /> : <span class="muted small">{t('events.noCover')}</span>}
        </div>
        <div class="stack">
          <input
            ref={input}
            id="ev-image"
            class="file-input"
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            aria-describedby="ev-image-hint"
            aria-invalid={err ? 'true' : undefined}
            data-testid="image-input"
            disabled={busy}
            onChange={(e) => {
              const f = (e.currentTarget as HTMLInputElement).files?.[0];
              if (f) void upload(f);
            }}
          />
          <label for="ev-image" class={`btn btn-secondary btn-sm file-button${busy ? ' is-busy' : ''}`} aria-hidden="true">
            {busy ? <span class="spinner spinner-inline" /> : null}
            {url ? t('form.replaceImage') : t('form.chooseImage')}
          </label>
          <p class="hint" id="ev-image-hint">
            {busy ? t('form.imageUploading') : t('form.imageHint')}
          </p>
          {url ? (
            <Button small variant="ghost" onClick={() => onUrl('')}>
              {t('form.removeImage')}
            </Button>
          ) : null}
          {err ? (
            <p class="field-error" role="alert" data-testid="error-image_url">
              {err}
            </p>
          ) : null}
        </div>
      </div>
    </div>
  );
}

function ParticipantPicker({
  value,
  onChange,
  error,
  declined,
  legend,
  hint,
  testid = 'participant-picker',
}: {
  value: Person[];
  onChange: (p: Person[]) => void;
  error?: string;
  declined: number;
  legend?: string;
  hint?: string;
  testid?: string;
}) {
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 250);
  const res = useAsync(() => (q ? get<UserDTO[]>(withQuery('/api/users', { q, status: 'ACTIVE', limit: 10 })) : Promise.resolve([] as UserDTO[])), [q]);
  const chosen = new Set(value.map((p) => p.id));
  const results = (res.data ?? []).filter((u) => !chosen.has(u.id));
  return (
    <fieldset class={`picker${error ? ' has-error' : ''}`} data-testid={testid}>
      <legend>
        {legend ?? t('form.participants')} <span class="muted small">({t('form.selected', { n: value.length })})</span>
      </legend>
      {hint ? <p class="muted small">{hint}</p> : null}
      {value.length ? (
        <ul class="chips" data-testid="participant-chips">
          {value.map((p) => (
            <li key={p.id} class="chip" data-testid="participant-chip" data-user-id={p.id}>
              <span>
                {p.full_name}
                {p.email ? <span class="muted small"> {p.email}</span> : null}
              </span>
              <button type="button" class="icon-btn" aria-label={t('form.remove', { name: p.full_name })} onClick={() => onChange(value.filter((x) => x.id !== p.id))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted small">{t('form.noParticipants')}</p>
      )}
      {declined > 0 ? <p class="muted small">{t('form.declinedCount', { n: declined })}</p> : null}
      <Field
        label={t('form.participantsSearch')}
        name={testid === 'participant-picker' ? 'participant_search' : 'manager_search'}
        type="search"
        autoComplete="off"
        value={text}
        onValue={setText}
        hint={t('form.participantsSearchHint')}
      />
      {q ? (
        res.loading ? (
          <Loading />
        ) : res.error ? (
          <ErrorBox error={res.error} />
        ) : results.length === 0 ? (
          <p class="muted small">{t('form.noUsersFound')}</p>
        ) : (
          <ul class="picker-results" data-testid="picker-results">
            {results.map((u) => (
              <li key={u.id}>
                <span>
                  {u.full_name} <span class="muted small">{u.email}</span>
                </span>
                <Button
                  small
                  onClick={() => {
                    onChange([...value, { id: u.id, full_name: u.full_name, email: u.email }]);
                    if (results.length <= 1) setText('');
                  }}
                  data-testid="picker-add"
                  aria-label={`${t('form.add')}: ${u.full_name}`}
                >
                  + {t('form.add')}
                </Button>
              </li>
            ))}
          </ul>
        )
      ) : null}
      {error ? (
        <p class="field-error" role="alert" data-testid="error-participants_ids">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

export function AdminEventFormPage({ id }: { id: string | null }) {
  const isNew = id === null;
  // An event's manager edits it here too (from /events/{id}/manage); the rest of the admin area is not theirs.
  const isAdmin = currentMe()?.role === 'ADMINISTRATOR';
  const back = isAdmin || !id ? '/admin/events' : `/events/${id}`;
  const numId = id && /^\d+$/.test(id) ? parseInt(id, 10) : NaN;
  const loaded = useAsync(async () => {
    if (isNew) return null;
    if (isNaN(numId)) throw new ApiError(404, t('events.notFound'), 'event_not_found');
    const ev = await get<EventDTO>(`/api/events/${numId}`);
    const ids = ev.participants.filter((p) => p.status === 'PARTICIPATING').map((p) => p.user_id);
    const people = ids.length ? await resolveUsers(ids, ev.id) : [];
    const managers = ev.managers?.length ? await resolveUsers(ev.managers, ev.id) : [];
    return { ev, people, managers };
  }, [id]);
  const [form, setForm] = useState<FormState>(EMPTY);
  const [orig, setOrig] = useState<FormState | null>(null);
  const [ev, setEv] = useState<EventDTO | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [repeat, setRepeat] = useState<RepeatState>(NO_REPEAT);
  const [scope, setScope] = useState<Scope>('this');
  const [statusBusy, setStatusBusy] = useState(false);
  const s = useSubmit();
  const categories = useAsync(() => get<Category[]>('/api/categories'), []);
  useTitle(isNew ? t('form.newTitle') : ev ? ev.name : t('form.editTitle', { id: id ?? '' }));

  useEffect(() => {
    if (loaded.data) {
      const f = fromEvent(loaded.data.ev, loaded.data.people, loaded.data.managers);
      setForm(f);
      setOrig(f);
      setEv(loaded.data.ev);
    } else if (isNew) {
      setForm(EMPTY);
      setOrig(null);
      setEv(null);
    }
  }, [loaded.data, isNew]);

  const set = <K extends keyof FormState>(k: K) => (v: FormState[K]) => setForm((f) => ({ ...f, [k]: v }));

  const validate = (): Record<string, string> => {
    const fe: Record<string, string> = {};
    if (!form.name.trim()) fe.name = t('auth.fieldRequired');
    const st = fromLocalInput(form.starts);
    const en = fromLocalInput(form.ends);
    if (!st) fe.starts_at = t('auth.fieldRequired');
    if (!en) fe.ends_at = t('auth.fieldRequired');
    if (st && en && new Date(en) <= new Date(st)) fe.ends_at = t('form.endsBeforeStart');
    if (form.max && !/^\d+$/.test(form.max.trim())) fe.max_participants_count = '> 0';
    else if (form.max && parseInt(form.max, 10) <= 0) fe.max_participants_count = '> 0';
    if (!form.image_url) fe.image_url = t('form.imageRequired');
    return fe;
  };

  const payload = (f: FormState) => ({
    name: f.name.trim(),
    short_description: f.short_description.trim() || null,
    description: f.description,
    starts_at: fromLocalInput(f.starts),
    ends_at: fromLocalInput(f.ends),
    location: f.location.trim() || null,
    payment_info: f.payment_info.trim() || null,
    max_participants_count: f.max.trim() ? parseInt(f.max, 10) : null,
    image_url: f.image_url,
    category_id: f.category ? parseInt(f.category, 10) : null,
    participants_ids: f.participants.map((p) => p.id),
    managers: f.managers.map((p) => p.id),
    attendees_visible: f.attendees_visible,
  });

  const submit = async (e: Event) => {
    e.preventDefault();
    const fe = validate();
    if (Object.keys(fe).length) {
      s.setFields(fe);
      s.setError(null);
      const first = Object.keys(fe)[0];
      document.querySelector<HTMLElement>(first === 'image_url' ? '#ev-image' : `[name="${first}"]`)?.focus();
      return;
    }
    const body = payload(form);
    const rule = isNew ? repeatBody(repeat, form.starts) : null;
    if (rule) {
      const { participants_ids: _ignored, ...fields } = body;
      const created = await s.run(() => api<SeriesDTO>('POST', '/api/series', { ...fields, repeat: rule }), { fieldMap: FIELD_MAP, known: KNOWN });
      if (created) {
        toast(t('series.created', { name: fields.name, n: created.occurrences.length }), 'success');
        navigate('/admin/events');
      }
      return;
    }
    if (isNew) {
      const created = await s.run(() => api<EventDTO>('POST', '/api/events', body), { fieldMap: FIELD_MAP, known: KNOWN });
      if (created) {
        toast(t('form.created', { name: created.name }), 'success');
        navigate('/admin/events');
      }
      return;
    }
    if (!orig || !ev) return;
    // Send only what changed (an unchanged start time must not reset reminders).
    const before = payload(orig) as Record<string, unknown>;
    const diff: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (JSON.stringify(v) !== JSON.stringify(before[k])) diff[k] = v;
    }
    if (!Object.keys(diff).length) {
      toast(t('common.noChanges'));
      return;
    }
    const query = ev.series_id && scope !== 'this' ? `?scope=${scope}` : '';
    const updated = await s.run(() => api<EventDTO>('PUT', `/api/events/${ev.id}${query}`, diff), { fieldMap: FIELD_MAP, known: KNOWN });
    if (updated) {
      toast(t('form.updated', { name: updated.name }), 'success');
      setEv(updated);
      setOrig(form);
    }
  };

  const setRejected = async (reject: boolean) => {
    if (!ev) return;
    setStatusBusy(true);
    try {
      const updated = await api<EventDTO>('PUT', `/api/events/${ev.id}`, { rejected_at: reject ? new Date().toISOString() : null });
      setEv(updated);
      setConfirm(false);
      toast(t(reject ? 'aevents.cancelled' : 'aevents.restored', { name: ev.name }), 'success');
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      setStatusBusy(false);
    }
  };

  if (!isNew && loaded.loading && !loaded.data) return <Loading />;
  if (!isNew && loaded.error) {
    return (
      <section class="page narrow">
        <PageHeader title={t('form.editTitle', { id: id ?? '' })} />
        <ErrorBox error={loaded.error} onRetry={() => loaded.reload()} />
        <p>
          <Link href={back}>← {t('form.back')}</Link>
        </p>
      </section>
    );
  }
  const declined = ev ? ev.participants.filter((p) => p.status === 'REJECTED').length : 0;

  return (
    <section class="page narrow" data-testid="event-form-page">
      <p class="crumbs">
        <Link href={back}>← {t('form.back')}</Link>
      </p>
      <PageHeader title={isNew ? t('form.newTitle') : t('form.editTitle', { id: ev?.id ?? id ?? '' })}>
        {ev ? (
          <>
            <Badge kind={statusBadgeKind(ev.status)} testid="form-status">
              {tDyn(`status.${ev.status}`, ev.status)}
            </Badge>
            {ev.series_id ? <SeriesMark /> : null}
            {ev.status === 'REJECTED' ? (
              <Button small variant="success" busy={statusBusy} onClick={() => void setRejected(false)} data-testid="form-restore">
                {t('aevents.restoreEvent')}
              </Button>
            ) : (
              <Button small variant="danger" onClick={() => setConfirm(true)} data-testid="form-cancel-event">
                {t('aevents.cancelEvent')}
              </Button>
            )}
            <Button small variant="ghost" onClick={() => void exportParticipants(ev, 'csv')}>
              ⤓ CSV
            </Button>
            <Button small variant="ghost" onClick={() => void exportParticipants(ev, 'xlsx')}>
              ⤓ XLSX
            </Button>
          </>
        ) : null}
      </PageHeader>
      <form class="panel stack event-form" onSubmit={submit} noValidate data-testid="event-form">
        <FormError error={s.error} />
        <Field label={t('form.name')} name="name" value={form.name} onValue={set('name')} error={s.fields.name} maxLength={300} required />
        <Field label={t('form.short')} name="short_description" value={form.short_description} onValue={set('short_description')} error={s.fields.short_description} />
        <TextArea label={t('form.description')} name="description" rows={6} value={form.description} onValue={set('description')} error={s.fields.description} />
        <div class="grid-2">
          <Field
            label={t('form.starts')}
            name="starts_at"
            type="datetime-local"
            value={form.starts}
            onValue={set('starts')}
            error={s.fields.starts_at}
            hint={t('form.tzHint', { tz: timeZone() })}
            required
          />
          <Field label={t('form.ends')} name="ends_at" type="datetime-local" value={form.ends} onValue={set('ends')} error={s.fields.ends_at} required />
        </div>
        <div class="grid-2">
          <Field label={t('form.location')} name="location" value={form.location} onValue={set('location')} error={s.fields.location} />
          <Select
            label={t('form.category')}
            name="category_id"
            value={form.category}
            onValue={set('category')}
            error={s.fields.category_id}
            options={[{ value: '', label: t('form.noCategory') }, ...(categories.data ?? []).map((c) => ({ value: String(c.id), label: c.name }))]}
          />
        </div>
        <div class="grid-2">
          <Field
            label={t('form.max')}
            name="max_participants_count"
            type="number"
            min={1}
            step={1}
            inputMode="numeric"
            value={form.max}
            onValue={set('max')}
            error={s.fields.max_participants_count}
            hint={t('form.maxHint')}
          />
        </div>
        <TextArea label={t('form.payment')} name="payment_info" rows={2} value={form.payment_info} onValue={set('payment_info')} error={s.fields.payment_info} />
        <ImageInput url={form.image_url} onUrl={set('image_url')} error={s.fields.image_url} />
        {/* People join each occurrence of a series themselves. */}
        {isNew && repeat.frequency ? null : <ParticipantPicker value={form.participants} onChange={set('participants')} error={s.fields.participants_ids} declined={declined} />}
        {isAdmin ? (
          <ParticipantPicker
            value={form.managers}
            onChange={set('managers')}
            error={s.fields.managers}
            declined={0}
            legend={t('form.managers')}
            hint={t('form.managersHint')}
            testid="manager-picker"
          />
        ) : null}
        <Checkbox label={t('form.attendeesVisible')} name="attendees_visible" checked={form.attendees_visible} onChange={set('attendees_visible')} />
        {isNew ? <RepeatSection value={repeat} onChange={setRepeat} starts={form.starts} error={s.fields.repeat} /> : null}
        {ev?.series_id ? <ScopeChoice value={scope} onChange={setScope} /> : null}
        <div class="form-actions">
          <Button type="submit" variant="primary" busy={s.busy} data-testid="event-submit">
            {isNew ? t('form.create') : t('form.save')}
          </Button>
          <Link href={back} class="btn btn-ghost">
            {t('common.cancel')}
          </Link>
          {ev ? (
            <Link href={`/events/${ev.id}`} class="btn btn-ghost">
              {t('notif.open')} ↗
            </Link>
          ) : null}
        </div>
      </form>
      {ev ? <WaitlistPanel ev={ev} /> : null}
      <ConfirmDialog
        open={confirm}
        title={t('aevents.cancelEvent')}
        text={ev ? t('aevents.cancelConfirm', { name: ev.name }) : ''}
        confirmLabel={t('aevents.cancelEvent')}
        dismissLabel={t('aevents.keep')}
        danger
        busy={statusBusy}
        onConfirm={() => void setRejected(true)}
        onClose={() => setConfirm(false)}
      />
    </section>
  );
}
