import { locale } from './i18n';

export function parseTs(iso: string): Date {
  return new Date(iso);
}

export function fmtDateTime(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(parseTs(iso));
}

export function fmtDate(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(parseTs(iso));
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "12 мая 2026 г., 10:00 – 12:00" or a full range across days. */
export function fmtRange(startIso: string, endIso: string): string {
  const s = parseTs(startIso);
  const e = parseTs(endIso);
  const loc = locale();
  const day = new Intl.DateTimeFormat(loc, { weekday: 'short', day: 'numeric', month: 'long', year: 'numeric' });
  const time = new Intl.DateTimeFormat(loc, { hour: '2-digit', minute: '2-digit' });
  if (sameDay(s, e)) return `${day.format(s)}, ${time.format(s)}–${time.format(e)}`;
  return `${day.format(s)}, ${time.format(s)} — ${day.format(e)}, ${time.format(e)}`;
}

export function fmtNumber(n: number, maxFrac = 2): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: maxFrac }).format(n);
}

export function fmtPercent(n: number): string {
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(n);
}

export function timeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** ISO timestamp → value for <input type="datetime-local"> in the viewer's zone. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = parseTs(iso);
  if (isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** <input type="datetime-local"> value (viewer's zone) → UTC ISO string, or null. */
export function fromLocalInput(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return isNaN(d.getTime()) ? null : d.toISOString();
}

/** <input type="date"> value → ISO of local midnight (start) or the last second of that day (end). */
export function dateInputToIso(v: string, end = false): string | null {
  if (!v) return null;
  const d = new Date(`${v}T${end ? '23:59:59' : '00:00:00'}`);
  return isNaN(d.getTime()) ? null : d.toISOString();
}

export function fmtCountdown(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${pad(s % 60)}`;
}
