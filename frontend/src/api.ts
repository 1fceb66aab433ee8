import type { components } from './api-schema';
import { localizeError, localizeValidation, t } from './i18n';

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
  /** The server's stable error `code` (`event_full`, …); the UI recognises
   * errors by it, never by the English `detail`. */
  code: string | null;
  fields: FieldErrors;
  retryAfter: number | null;
  constructor(status: number, message: string, code: string | null, fields: FieldErrors = {}, retryAfter: number | null = null) {
    super(message);
    this.status = status;
    this.code = code;
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
  code?: string;
  ctx?: Record<string, number>;
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
  const code = (body as { code?: unknown } | null)?.code;
  if (typeof detail === 'string') {
    const known = typeof code === 'string' ? code : null;
    return new ApiError(res.status, localizeError(known, detail, res.status), known, {}, retryAfter);
  }
  if (Array.isArray(detail)) {
    const fields: FieldErrors = {};
    const general: string[] = [];
    for (const item of detail as ValidationItem[]) {
      const msg = localizeValidation(item?.code ?? item?.type ?? '', item?.ctx ?? {}, item?.msg ?? 'Invalid value');
      const loc = Array.isArray(item?.loc) ? item.loc : [];
      const last = loc.length > 1 ? String(loc[loc.length - 1]) : null;
      if (last && !(last in fields)) fields[last] = msg;
      else general.push(msg);
    }
    const all = detail as ValidationItem[];
    const message = general.length ? general.join('; ') : Object.values(fields).join('; ') || all.map((i) => i?.msg).filter(Boolean).join('; ');
    return new ApiError(res.status, message || t('common.httpError', { status: res.status }), 'validation_failed', fields, retryAfter);
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
    if (res.status === 401 && err.code === 'invalid_session' && !opts.noAuthRedirect) {
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

/* ---- wire types: generated from the server's OpenAPI document ----
 * src/api-schema.d.ts is written by `make frontend` (tools/openapi-types,
 * openapi-typescript) from openapi.json (`afisha openapi`); never edit it
 * or restate a server type by hand here. */

type Schemas = components['schemas'];

export type Role = Schemas['Role'];
export type EventStatus = Schemas['EventStatus'];
export type Participation = Schemas['MyStatus'];
export type Me = Schemas['Me'];
/** A card of the list; `GET /events/{id}/card` adds `rejected_at`, `ticket`, `can_manage`. */
export type EventCard = Schemas['EventCardDto'] & Partial<Pick<Schemas['OneCardDto'], 'rejected_at' | 'ticket' | 'can_manage'>>;
/** My ticket while I participate (`GET /events/{id}/card`). */
export type Ticket = Schemas['TicketDto'];
/** `GET /events/{id}/check-ins`: the organisers' check-in desk. */
export type Desk = Schemas['DeskDto'];
/** `POST /events/{id}/check-ins`. */
export type CheckInResult = Schemas['CheckInDto'];
export type Attendees = Schemas['AttendeesDto'];
export type WaitlistEntry = Schemas['WaitlistEntryDto'];
export type Category = Schemas['CategoryDto'];
export type EventParticipant = Schemas['ParticipantDto'];
export type EventDTO = Schemas['EventDto'];
export type UserDTO = Schemas['UserDto'];
export type SignInMethod = Schemas['SignInMethod'];
/** `GET /api/config`: what is open before sign-in. */
export type ClientConfig = Schemas['ClientConfig'];
export type Notification = Schemas['NotificationDto'];
export type LoginSession = Schemas['SessionDto'];
export type MyStats = Schemas['MyStatistics'];
export type Statistics = Schemas['Statistics'];
export type OutboxItem = Schemas['OutboxItemDto'];
export type TestEmailOutcome = Schemas['TestEmailOutcome'];
export type AdminHealth = Schemas['AdminHealth'];
export type Preferences = Schemas['PreferencesDto'];
/** How a series repeats (`POST /api/series`). */
export type Repeat = Schemas['RepeatDto'];
export type Weekday = NonNullable<Repeat['weekdays']>[number];
export type SeriesDTO = Schemas['SeriesDto'];
export type AuditEntry = Schemas['AuditEntryDto'];
export type AuditPage = Schemas['AuditPage'];
/** `/api/admin/webhooks`: an endpoint (its secret is never shown again). */
export type Webhook = Schemas['WebhookDto'];
/** One message to one endpoint, with every attempt. */
export type WebhookDelivery = Schemas['DeliveryDto'];

/** The types an endpoint can subscribe to (README "Webhooks"). */
export const WEBHOOK_TYPES = [
  'event.created',
  'event.updated',
  'event.cancelled',
  'event.restored',
  'participation.joined',
  'participation.left',
  'participation.waitlisted',
  'participation.promoted',
  'user.created',
  'user.deleted',
] as const;

let configOnce: Promise<ClientConfig> | null = null;

/** The server's client configuration, fetched once per page load. */
export function clientConfig(): Promise<ClientConfig> {
  configOnce ??= api<ClientConfig>('GET', '/api/config').catch((e) => {
    configOnce = null;
    throw e;
  });
  return configOnce;
}

