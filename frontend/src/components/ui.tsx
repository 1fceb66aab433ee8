import type { ButtonHTMLAttributes, ComponentChildren, InputHTMLAttributes, TextareaHTMLAttributes } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { ApiError } from '../api';
import { t } from '../i18n';
import { fmtCountdown } from '../format';

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'label' | 'onInput' | 'value' | 'type'> & {
  label: string;
  value: string;
  onValue: (v: string) => void;
  error?: string;
  hint?: ComponentChildren;
  name: string;
  type?: string;
};

/** The error of a field while its value is still the one the error was
 * about: editing the field clears it (the next submit checks again). */
function useFreshError(error: string | undefined, value: string): string | undefined {
  const about = useRef({ error, value });
  if (about.current.error !== error) about.current = { error, value };
  return error && value === about.current.value ? error : undefined;
}

export function Field({ label, value, onValue, error: raw, hint, name, type = 'text', id, ...rest }: InputProps) {
  const error = useFreshError(raw, value);
  const auto = useId();
  const fid = (id as string) || `f-${name}-${auto}`;
  const hintId = hint ? `${fid}-hint` : undefined;
  const errId = error ? `${fid}-err` : undefined;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={fid}>
        {label}
        {rest.required ? <span class="req" aria-hidden="true"> *</span> : null}
      </label>
      <input
        id={fid}
        name={name}
        type={type as 'text'}
        value={value}
        onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={[hintId, errId].filter(Boolean).join(' ') || undefined}
        data-testid={`field-${name}`}
        {...(rest as object)}
      />
      {hint ? (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={errId} data-testid={`error-${name}`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

type AreaProps = Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'label' | 'onInput' | 'value'> & {
  label: string;
  value: string;
  onValue: (v: string) => void;
  error?: string;
  hint?: string;
  name: string;
};

export function TextArea({ label, value, onValue, error: raw, hint, name, ...rest }: AreaProps) {
  const error = useFreshError(raw, value);
  const fid = `f-${name}-${useId()}`;
  const hintId = hint ? `${fid}-hint` : undefined;
  const errId = error ? `${fid}-err` : undefined;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={fid}>
        {label}
        {rest.required ? <span class="req" aria-hidden="true"> *</span> : null}
      </label>
      <textarea
        id={fid}
        name={name}
        value={value}
        onInput={(e) => onValue((e.currentTarget as HTMLTextAreaElement).value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={[hintId, errId].filter(Boolean).join(' ') || undefined}
        data-testid={`field-${name}`}
        {...rest}
      />
      {hint ? (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={errId} data-testid={`error-${name}`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function Select({
  label,
  value,
  onValue,
  options,
  name,
  error,
}: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  options: { value: string; label: string }[];
  name: string;
  error?: string;
}) {
  const fid = `f-${name}-${useId()}`;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={fid}>{label}</label>
      <select id={fid} name={name} value={value} data-testid={`field-${name}`} onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {error ? <p class="field-error">{error}</p> : null}
    </div>
  );
}

export function Checkbox({ label, checked, onChange, name }: { label: string; checked: boolean; onChange: (v: boolean) => void; name: string }) {
  const fid = `f-${name}-${useId()}`;
  return (
    <div class="check">
      <input id={fid} type="checkbox" name={name} checked={checked} data-testid={`field-${name}`} onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={fid}>{label}</label>
    </div>
  );
}

type BtnProps = Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'type'> & {
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost' | 'success';
  busy?: boolean;
  small?: boolean;
  type?: 'button' | 'submit';
  disabled?: boolean;
};

export function Button({ variant = 'secondary', busy, small, type = 'button', children, disabled, class: cls, ...rest }: BtnProps) {
  return (
    <button
      type={type}
      class={`btn btn-${variant}${small ? ' btn-sm' : ''}${busy ? ' is-busy' : ''}${cls ? ` ${cls}` : ''}`}
      disabled={disabled || busy}
      aria-busy={busy ? 'true' : undefined}
      {...rest}
    >
      {busy ? <span class="spinner spinner-inline" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

export function Loading({ label }: { label?: string }) {
  return (
    <div class="state state-loading" role="status" data-testid="loading">
      <span class="spinner" aria-hidden="true" />
      <span>{label ?? t('common.loading')}</span>
    </div>
  );
}

/** Placeholder cards in the shape of the event cards while they load. */
export function SkeletonCards({ count = 6, compact }: { count?: number; compact?: boolean }) {
  return (
    <div class={`card-grid${compact ? ' compact' : ''}`} role="status" aria-label={t('common.loading')} data-testid="loading">
      {Array.from({ length: count }, (_, i) => (
        <div class="skeleton-card" key={i} aria-hidden="true">
          <div class="skeleton-cover" />
          <div class="skeleton-line wide" />
          <div class="skeleton-line" />
          <div class="skeleton-line short" />
        </div>
      ))}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: ApiError | string; onRetry?: () => void }) {
  const msg = typeof error === 'string' ? error : error.message;
  return (
    <div class="state state-error" role="alert" data-testid="error-box">
      <p>{msg}</p>
      {onRetry ? (
        <Button small onClick={onRetry}>
          {t('common.retry')}
        </Button>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <div class="state state-empty" data-testid="empty">
      {children}
    </div>
  );
}

export function FormError({ error, retryLeft }: { error: string | null; retryLeft?: number }) {
  if (!error) return null;
  return (
    <div class="form-error" role="alert" data-testid="form-error">
      {error}
      {retryLeft ? <span class="retry"> · {t('common.waitSeconds', { s: fmtCountdown(retryLeft) })}</span> : null}
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children ? <div class="page-actions">{children}</div> : null}
    </div>
  );
}

export function Badge({ kind = 'neutral', children, testid }: { kind?: string; children: ComponentChildren; testid?: string }) {
  return (
    <span class={`badge badge-${kind}`} data-testid={testid}>
      {children}
    </span>
  );
}

/** The small mark of an occurrence of a recurring series. */
export function SeriesMark() {
  return (
    <span class="badge badge-neutral series-mark" data-testid="series-mark" title={t('series.markLabel')}>
      ↻ {t('series.mark')}
    </span>
  );
}

/** A modal built on <dialog>: focus trap, Esc to close, focus returns to the opener. */
export function Dialog({
  title,
  open,
  onClose,
  children,
  testid,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
  testid?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = `dlg-${useId()}`;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
      (opener.current as HTMLElement | null)?.focus?.();
    }
  }, [open]);
  // Unmounted while open (the parent dropped it): give focus back to the opener.
  useEffect(
    () => () => {
      const el = opener.current as HTMLElement | null;
      if (el && el.isConnected) window.setTimeout(() => el.focus(), 0);
    },
    [],
  );
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      data-testid={testid}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {open ? (
        <div class="dialog-body">
          <div class="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" class="icon-btn" aria-label={t('common.close')} onClick={onClose}>
              ×
            </button>
          </div>
          {children}
        </div>
      ) : null}
    </dialog>
  );
}

export function ConfirmDialog({
  open,
  title,
  text,
  confirmLabel,
  dismissLabel,
  danger,
  busy,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  text: string;
  confirmLabel: string;
  dismissLabel?: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog title={title} open={open} onClose={onClose} testid="confirm-dialog">
      <p>{text}</p>
      <div class="dialog-actions">
        <Button onClick={onClose} data-testid="confirm-dismiss">{dismissLabel ?? t('common.cancel')}</Button>
        <Button variant={danger ? 'danger' : 'primary'} busy={busy} onClick={onConfirm} data-testid="confirm-ok">
          {confirmLabel}
        </Button>
      </div>
    </Dialog>
  );
}

/** Accessible tabs that drive a filter (one panel re-rendered by the parent). */
export function Tabs<V extends string>({
  value,
  onChange,
  tabs,
  label,
}: {
  value: V;
  onChange: (v: V) => void;
  tabs: { value: V; label: string }[];
  label: string;
}) {
  const onKey = (e: KeyboardEvent) => {
    const i = tabs.findIndex((x) => x.value === value);
    let n = -1;
    if (e.key === 'ArrowRight') n = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') n = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') n = 0;
    else if (e.key === 'End') n = tabs.length - 1;
    if (n < 0) return;
    e.preventDefault();
    onChange(tabs[n].value);
    const list = (e.currentTarget as HTMLElement).closest('[role=tablist]');
    window.setTimeout(() => (list?.querySelectorAll<HTMLElement>('[role=tab]')[n])?.focus(), 0);
  };
  return (
    <div class="tabs" role="tablist" aria-label={label}>
      {tabs.map((tab) => (
        <button
          key={tab.value}
          type="button"
          role="tab"
          class="tab"
          aria-selected={tab.value === value ? 'true' : 'false'}
          tabIndex={tab.value === value ? 0 : -1}
          data-testid={`tab-${tab.value}`}
          onClick={() => onChange(tab.value)}
          onKeyDown={onKey}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}
