import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, download, get, type CheckInResult, type Desk } from '../api';
import { Button, ErrorBox, Field, Loading, PageHeader } from '../components/ui';
import { fmtDateTime, fmtRange } from '../format';
import { useAsync, useTitle } from '../hooks';
import { t } from '../i18n';
import { Link, setQuery, useQuery } from '../router';

/** The token from what a QR code holds: the check-in URL (`?ticket=`) or the bare token. */
function tokenOf(text: string): string {
  const m = /[?&]ticket=([^&#\s]+)/.exec(text);
  return (m ? decodeURIComponent(m[1]) : text).trim();
}

interface Detector {
  detect: (source: CanvasImageSource) => Promise<{ rawValue: string }[]>;
}

/**
 * Reads QR codes from the camera: the browser's BarcodeDetector where there is one,
 * otherwise jsQR (loaded only then) over canvas frames. Calls `onCode` once per new code.
 */
function Scanner({ onCode, onStop }: { onCode: (text: string) => void; onStop: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stream: MediaStream | null = null;
    let live = true;
    let last = '';
    let lastAt = 0;
    const canvas = document.createElement('canvas');
    const start = async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      } catch {
        setError(t('checkin.noCamera'));
        return;
      }
      const v = video.current;
      if (!v || !live) return;
      v.srcObject = stream;
      await v.play().catch(() => undefined);
      const Native = (window as unknown as { BarcodeDetector?: new (o: { formats: string[] }) => Detector }).BarcodeDetector;
      const native = Native ? new Native({ formats: ['qr_code'] }) : null;
      const jsqr = native ? null : (await import('jsqr')).default;
      const tick = async () => {
        if (!live) return;
        let text: string | null = null;
        if (v.readyState >= 2 && v.videoWidth) {
          if (native) {
            const codes = await native.detect(v).catch(() => []);
            text = codes[0]?.rawValue ?? null;
          } else if (jsqr) {
            canvas.width = v.videoWidth;
            canvas.height = v.videoHeight;
            const ctx = canvas.getContext('2d', { willReadFrequently: true });
            if (ctx) {
              ctx.drawImage(v, 0, 0);
              const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
              text = jsqr(img.data, img.width, img.height)?.data ?? null;
            }
          }
        }
        const now = Date.now();
        // The same code stays in view for a while: once per 3 s.
        if (text && (text !== last || now - lastAt > 3000)) {
          last = text;
          lastAt = now;
          onCode(text);
        }
        window.setTimeout(() => void tick(), 250);
      };
      void tick();
    };
    void start();
    return () => {
      live = false;
      stream?.getTracks().forEach((tr) => tr.stop());
    };
  }, []);
  return (
    <div class="scanner" data-testid="scanner">
      {error ? <p class="notice">{error}</p> : <video ref={video} class="scanner-video" playsInline muted />}
      <Button small onClick={onStop}>
        {t('checkin.stopScan')}
      </Button>
    </div>
  );
}

/** The organisers' check-in desk, sized for a phone: scan tickets, or find people and check them in by hand. */
export function CheckInPage({ id }: { id: string }) {
  const num = /^\d+$/.test(id) ? parseInt(id, 10) : NaN;
  const desk = useAsync(() => get<Desk>(`/api/events/${num}/check-ins`), [id]);
  const query = useQuery();
  const [q, setQ] = useState('');
  const [scanning, setScanning] = useState(false);
  const [result, setResult] = useState<{ kind: 'ok' | 'warn' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  useTitle(desk.data ? `${t('checkin.title')}: ${desk.data.name}` : t('checkin.title'));

  const report = (r: CheckInResult) =>
    setResult(
      r.already_checked_in
        ? { kind: 'warn', text: t('checkin.already', { name: r.full_name, time: fmtDateTime(r.checked_in_at) }) }
        : { kind: 'ok', text: t('checkin.done', { name: r.full_name }) },
    );
  const fail = (e: unknown) => setResult({ kind: 'error', text: e instanceof ApiError ? e.message : String(e) });

  const byTicket = async (text: string) => {
    try {
      report(await api<CheckInResult>('POST', `/api/events/${num}/check-ins`, { ticket: tokenOf(text) }));
      desk.reload();
    } catch (e) {
      fail(e);
    }
  };
  const byUser = async (userId: number, undo: boolean) => {
    setBusy(userId);
    try {
      if (undo) {
        await api('DELETE', `/api/events/${num}/check-ins/${userId}`);
        const p = desk.data?.participants.find((x) => x.user_id === userId);
        setResult({ kind: 'warn', text: t('checkin.undone', { name: p?.full_name ?? `#${userId}` }) });
      } else {
        report(await api<CheckInResult>('POST', `/api/events/${num}/check-ins`, { user_id: userId }));
      }
      desk.reload();
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  // A phone's own camera app opened the QR code's URL: check that ticket in once.
  const ticketParam = query.get('ticket');
  useEffect(() => {
    if (ticketParam && !isNaN(num)) {
      void byTicket(ticketParam);
      setQuery({ ticket: null });
    }
  }, [ticketParam]);

  if (desk.loading && desk.data === undefined) return <Loading />;
  if (desk.error) return <ErrorBox error={desk.error} onRetry={() => desk.reload()} />;
  const d = desk.data!;
  const needle = q.trim().toLowerCase();
  const rows = d.participants.filter((p) => !needle || p.full_name.toLowerCase().includes(needle) || p.email.toLowerCase().includes(needle));
  return (
    <section class="page checkin-page" data-testid="checkin-page" data-event-id={d.event_id}>
      <p class="crumbs">
        <Link href={`/events/${d.event_id}`}>← {d.name}</Link>
      </p>
      <PageHeader title={t('checkin.title')} />
      <p class="muted small">{fmtRange(d.starts_at, d.ends_at)}</p>
      <p class={d.open ? 'notice' : 'notice notice-danger'} role="status" data-testid="checkin-window" data-open={d.open}>
        {d.open ? t('checkin.open') : d.closed_reason}
      </p>
      <p data-testid="checkin-count" data-count={d.checked_in}>
        <strong>{t('checkin.count', { n: d.checked_in, total: d.participants.length })}</strong>
      </p>
      {result ? (
        <p class={`notice checkin-result checkin-${result.kind}`} role="alert" data-testid="checkin-result" data-kind={result.kind}>
          {result.text}
        </p>
      ) : null}
      {scanning ? (
        <Scanner onCode={(text) => void byTicket(text)} onStop={() => setScanning(false)} />
      ) : (
        <Button variant="primary" onClick={() => setScanning(true)} disabled={!d.open} data-testid="checkin-scan">
          {t('checkin.scan')}
        </Button>
      )}
      <Field label={t('checkin.search')} name="checkin_search" type="search" autoComplete="off" value={q} onValue={setQ} />
      {rows.length === 0 ? (
        <p class="muted">{t('checkin.none')}</p>
      ) : (
        <ul class="checkin-list">
          {rows.map((p) => (
            <li key={p.user_id} data-testid="checkin-row" data-user-id={p.user_id} data-checked-in={p.checked_in_at ? 'true' : 'false'}>
              <span class="checkin-who">
                <strong>{p.full_name}</strong>
                <span class="muted small">{p.email}</span>
                {p.checked_in_at ? <span class="muted small">✓ {fmtDateTime(p.checked_in_at)}</span> : null}
              </span>
              <Button
                small
                variant={p.checked_in_at ? 'ghost' : 'primary'}
                busy={busy === p.user_id}
                disabled={!d.open}
                onClick={() => void byUser(p.user_id, !!p.checked_in_at)}
                data-testid={p.checked_in_at ? 'checkin-undo' : 'checkin-button'}
              >
                {p.checked_in_at ? t('checkin.undo') : t('checkin.checkIn')}
              </Button>
            </li>
          ))}
        </ul>
      )}
      <p>
        <Button
          variant="ghost"
          small
          onClick={() => void download(`/api/events/${d.event_id}/participants/export?attendance=true`, `event_${d.event_id}_participants.csv`)}
          data-testid="checkin-export"
        >
          {t('checkin.export')}
        </Button>
      </p>
    </section>
  );
}
