import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, clientConfig } from './api';
import { t } from './i18n';

export interface Async<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: (silent?: boolean) => void;
  setData: (d: T | ((prev: T | undefined) => T)) => void;
}

function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, (e as Error)?.message || t('common.networkError'), null);
}

/** Run an async loader when deps change; ignores stale responses. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;

  const run = useCallback((silent = false) => {
    const my = ++seq.current;
    if (!silent) setLoading(true);
    fnRef
      .current()
      .then((d) => {
        if (my !== seq.current) return;
        setDataState(() => d);
        setError(null);
      })
      .catch((e) => {
        if (my !== seq.current) return;
        if ((e as Error)?.name === 'AbortError') return;
        setError(asApiError(e));
      })
      .finally(() => {
        if (my === seq.current) setLoading(false);
      });
  }, []);

  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => run(false), deps);
  useEffect(() => () => void seq.current++, []);

  const setData = useCallback((d: T | ((prev: T | undefined) => T)) => {
    setDataState((prev) => (typeof d === 'function' ? (d as (p: T | undefined) => T)(prev) : d));
  }, []);

  return { data, error, loading, reload: run, setData };
}

/** A seconds countdown (for Retry-After). */
export function useCountdown(): [number, (seconds: number) => void] {
  const [left, setLeft] = useState(0);
  const until = useRef(0);
  useEffect(() => {
    if (left <= 0) return;
    const id = window.setTimeout(() => {
      setLeft(Math.max(0, Math.ceil((until.current - Date.now()) / 1000)));
    }, 250);
    return () => window.clearTimeout(id);
  }, [left]);
  const start = useCallback((seconds: number) => {
    until.current = Date.now() + seconds * 1000;
    setLeft(Math.max(0, Math.ceil(seconds)));
  }, []);
  return [left, start];
}

export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(id);
  }, [value, ms]);
  return v;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ${t('app.brand')}` : t('app.brand');
  }, [title]);
}

export interface SubmitOptions {
  /** Server error `code`s that belong to a form field. */
  fieldMap?: Record<string, string>;
  /** Field names the form shows errors for; other field errors are shown above the form. */
  known?: string[];
}

/** Track a form submission: busy flag, general error and per-field errors. */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [retryLeft, startRetry] = useCountdown();

  const run = useCallback(
    async <R>(fn: () => Promise<R>, opts: SubmitOptions = {}): Promise<R | undefined> => {
      setBusy(true);
      setError(null);
      setFields({});
      try {
        return await fn();
      } catch (e) {
        const err = asApiError(e);
        const fe: Record<string, string> = {};
        const general: string[] = [];
        for (const [k, msg] of Object.entries(err.fields)) {
          if (!opts.known || opts.known.includes(k)) fe[k] = msg;
          else general.push(msg);
        }
        // Known domain errors that belong to one field.
        const mapped = err.code && opts.fieldMap ? opts.fieldMap[err.code] : undefined;
        if (mapped) fe[mapped] = err.message;
        else if (Object.keys(err.fields).length === 0) general.push(err.message);
        setFields(fe);
        if (general.length) setError(general.join('; '));
        if (err.status === 429 && err.retryAfter) startRetry(err.retryAfter);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [startRetry],
  );

  return { busy, error, fields, setError, setFields, run, retryLeft };
}

/** The server's minimum password length (`GET /api/config`
 * `min_password_length`); 8, the default, until the answer is in. */
export function useMinPassword(): number {
  const config = useAsync(clientConfig, []);
  return config.data?.min_password_length ?? 8;
}

/** What is wrong with a new password, in the server's limits. */
export function passwordProblem(p: string, min: number): string | null {
  const n = [...p].length;
  if (n < min) return t('auth.passwordTooShort', { n: min });
  if (n > 1024) return t('auth.passwordTooLong');
  return null;
}
