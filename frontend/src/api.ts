import { localizeServer, localizeValidation, t } from './i18n';

const UID_KEY = 'afisha.session.uid';
const TOKEN_KEY = 'afisha.session.token';

export interface Session {
  uid: string;
  token: string;
}

export function getSession(): Session | null {
  try {
    const uid = localStorage.getItem(UID_KEY);
    const token = localStorage.getItem(TOKEN_KEY);
    return uid && token ? { uid, token } : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  localStorage.setItem(UID_KEY, s.uid);
  localStorage.setItem(TOKEN_KEY, s.token);
}

export function clearSession(): void {
  try {
    localStorage.removeItem(UID_KEY);
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* ignore */
  }
}

export type FieldErrors = Record<string, string>;

export class ApiError extends Error {
  status: number;
  /** Raw `detail` text from the server, when it was a string. */
  detail: string | null;
  fields: FieldErrors;
  retryAfter: number | null;
  constructor(status: number, message: string, detail: string | null, fields: FieldErrors = {}, retryAfter: number | null = null) {
    super(message);
    this.status = status;
    this.detail = detail;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

let onSessionLost: () => void = () => {};
export function setSessionLostHandler(fn: () => void): void {
  onSessionLost = fn;
}

export function authHeaders(): Record<string, string> {
  const s = getSession();
  return s ? { 'X-Login-Session-Uid': s.uid, 'X-Login-Session-Token': s.token } : {};
}

interface ValidationItem {
  loc?: unknown[];
  msg?: string;
  type?: string;
}

async function toError(res: Response): Promise<ApiError> {
  const ra = res.headers.get('Retry-After');
  const retryAfter = ra !== null && /^\d+$/.test(ra.trim()) ? parseInt(ra, 10) : null;
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') {
    return new ApiError(res.status, localizeServer(detail), detail, {}, retryAfter);
  }
  if (Array.isArray(detail)) {
    const fields: FieldErrors = {};
    const general: string[] = [];
    for (const item of detail as ValidationItem[]) {
      const msg = localizeValidation(item?.msg ?? 'Invalid value', item?.type ?? '');
      const loc = Array.isArray(item?.loc) ? item.loc : [];
      const last = loc.length > 1 ? String(loc[loc.length - 1]) : null;
      if (last && !(last in fields)) fields[last] = msg;
      else general.push(msg);
    }
    const all = detail as ValidationItem[];
    const message = general.length ? general.join('; ') : Object.values(fields).join('; ') || all.map((i) => i?.msg).filter(Boolean).join('; ');
    return new ApiError(res.status, message || t('common.httpError', { status: res.status }), null, fields, retryAfter);
  }
  return new ApiError(res.status, t('common.httpError', { status: res.status }), null, {}, retryAfter);
}

export interface RequestOptions {
  /** Do not treat a 401 as a lost session (used by the login form itself). */
  noAuthRedirect?: boolean;
  signal?: AbortSignal;
}

async function rawFetch(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal, credentials: 'same-origin' });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(0, t('common.networkError'), null);
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && err.detail === 'Invalid login session' && !opts.noAuthRedirect) {
      clearSession();
      onSessionLost();
    }
    throw err;
  }
  return res;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const res = await rawFetch(method, path, body, opts);
  if (res.status === 204) return null as T;
  const text = await res.text();
  if (!text) return null as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as unknown as T;
  }
}

export const get = <T>(path: string, opts?: RequestOptions) => api<T>('GET', path, undefined, opts);

type QueryValue = string | number | boolean | null | undefined;

/** Build "path?a=1&b=2", skipping empty values; an array repeats its key. */
export function withQuery(path: string, params: Record<string, QueryValue | QueryValue[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one === null || one === undefined || one === '') continue;
      q.append(k, String(one));
    }
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Fetch a protected file with the auth headers and hand it to the browser as a download. */
export async function download(path: string, fallbackName: string): Promise<string> {
  const res = await rawFetch('GET', path);
  const blob = await res.blob();
  let name = fallbackName;
  const cd = res.headers.get('Content-Disposition');
  const m = cd && /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  if (m) name = decodeURIComponent(m[1]);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/* ---- DTOs ---- */

export type Role = 'USER' | 'ADMINISTRATOR';
export type EventStatus = 'ACTIVE' | 'PAST' | 'REJECTED';
export type Participation = 'NONE' | 'PARTICIPATING' | 'REJECTED' | 'WAITLISTED';

export interface Me {
  id: number;
  role: Role;
  email: string;
  full_name: string;
}

export interface EventCard {
  id: number;
  name: string;
  short_description: string | null;
  description: string;
  starts_at: string;
  ends_at: string;
  image_url: string | null;
  location: string | null;
  participants_count: number;
  max_participants_count: number | null;
  payment_info: string | null;
  category_id: number | null;
  status: EventStatus;
  participation_status: Participation;
  /** People on the waiting list. */
  waitlist_count: number;
  /** My place in the waiting list (1 = next) when I am WAITLISTED. */
  waitlist_position: number | null;
  /** Whether GET /events/{id}/attendees answers for users. */
  attendees_visible: boolean;
  /** Only from GET /events/{id}/card: when a cancelled event was cancelled. */
  rejected_at?: string | null;
  /** When I was checked in ("I attended"). */
  checked_in_at?: string | null;
  /** Only from GET /events/{id}/card: my ticket while I participate. */
  ticket?: Ticket | null;
  /** Only from GET /events/{id}/card: whether I may manage the event. */
  can_manage?: boolean;
}

export interface Ticket {
  token: string;
  /** What the QR code encodes (the check-in page with the token). */
  url: string;
  /** The QR code as SVG (no session needed). */
  qr_url: string;
}

/** GET /events/{id}/check-ins. */
export interface Desk {
  event_id: number;
  name: string;
  starts_at: string;
  ends_at: string;
  open: boolean;
  closed_reason: string | null;
  participants: { user_id: number; full_name: string; email: string; checked_in_at: string | null }[];
  checked_in: number;
}

/** POST /events/{id}/check-ins. */
export interface CheckInResult {
  user_id: number;
  full_name: string;
  email: string;
  already_checked_in: boolean;
  checked_in_at: string;
}

export interface Attendees {
  count: number;
  attendees: { user_id: number; full_name: string }[];
}

export interface WaitlistEntry {
  position: number;
  user_id: number;
  created_at: string;
}

export interface Category {
  id: number;
  name: string;
  /** `#rrggbb`. */
  color: string;
}

export interface EventParticipant {
  user_id: number;
  created_at: string;
  status: 'PARTICIPATING' | 'REJECTED';
}

export interface EventDTO {
  /** The event's managers (user ids). */
  managers?: number[];
  id: number;
  name: string;
  short_description: string | null;
  description: string;
  starts_at: string;
  ends_at: string;
  image_url: string | null;
  payment_info: string | null;
  max_participants_count: number | null;
  location: string | null;
  created_at: string;
  rejected_at: string | null;
  category_id: number | null;
  status: EventStatus;
  participants: EventParticipant[];
  attendees_visible: boolean;
  waitlist_count: number;
  waitlist: WaitlistEntry[];
}

export interface UserDTO {
  id: number;
  role: Role;
  email: string;
  username: string;
  full_name: string;
  created_at: string;
  deleted_at: string | null;
  status: 'ACTIVE' | 'DELETED';
  is_system: boolean;
  /** How the account signs in: a local password, the company directory. */
  sign_in: SignInMethod[];
}

export type SignInMethod = 'password' | 'ldap' | 'oidc';

/** `GET /api/config`: what is open before sign-in. */
export interface ClientConfig {
  brand_name: string;
  min_password_length: number;
  locales: string[];
  password_login: boolean;
  registration: boolean;
  ldap: boolean;
  /** Sign-in with the company's identity provider (OpenID Connect), when on. */
  sso?: { name: string; login_url: string };
}

let configOnce: Promise<ClientConfig> | null = null;

/** The server's client configuration, fetched once per page load. */
export function clientConfig(): Promise<ClientConfig> {
  configOnce ??= api<ClientConfig>('GET', '/api/config').catch((e) => {
    configOnce = null;
    throw e;
  });
  return configOnce;
}

export interface Notification {
  id: number;
  title: string;
  content: string;
  cta_url: string | null;
  cta_label: string | null;
  created_at: string;
  acked_at: string | null;
  type?: string;
}

export interface LoginSession {
  uid: string;
  user_agent: string | null;
  created_at: string;
  last_seen_at: string | null;
  current: boolean;
}

export interface MyStats {
  total_events: number;
  active_events: number;
  past_events: number;
  participating_events: number;
  rejected_events: number;
  upcoming_participations: number;
  participation_rate: number;
}

export interface Statistics {
  scalars: { name: string; value: number; unit: string | null }[];
  graphs: { name: string; points: { x: string; y: number }[] }[];
  histograms: { name: string; bins: { label: string; from_value: number | null; to_value: number | null; count: number }[] }[];
  /** Check-ins of the events that have started (issue 22). */
  attendance?: {
    registered: number;
    came: number;
    no_show_rate: number;
    events: { event_id: number; name: string; starts_at: string; registered: number; came: number; attendance_rate: number }[];
  };
}

/* ---- mail (issue #17) ---- */

export interface OutboxItem {
  id: number;
  status: 'queued' | 'sent' | 'failed';
  recipient: string;
  recipient_name: string;
  type: string;
  subject: string;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  failed_at: string | null;
}

export interface TestEmailOutcome {
  sent: boolean;
  backend: string;
  error: string | null;
}

export interface AdminHealth {
  status: 'ok' | 'degraded';
  database: { status: string; backend: string; error: string | null };
  storage: { status: string; backend: string; error: string | null };
  mail: {
    status: 'ok' | 'failing' | 'unknown';
    backend: string;
    last_sent_at: string | null;
    queued: number;
    failing: number;
    failed: number;
    last_error: string | null;
  };
}

export interface Preferences {
  locale: 'ru' | 'en';
  time_zone: string;
  email: Record<string, boolean>;
  email_required: string[];
  reminder_offsets_minutes: number[];
}
