import { get, type Statistics } from '../../api';
import { Empty, ErrorBox, Loading, PageHeader } from '../../components/ui';
import { fmtNumber } from '../../format';
import { useAsync, useTitle } from '../../hooks';
import { locale, t, tDyn } from '../../i18n';

type Point = { x: string; y: number };
type Bin = Statistics['histograms'][number]['bins'][number];

/** Round a maximum up to a "nice" number and give evenly spaced ticks. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const s = max < count && Number.isInteger(max) ? 1 : step;
  const ticks: number[] = [];
  for (let v = 0; v < max + s * 0.999; v += s) ticks.push(Math.round(v * 1e6) / 1e6);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + s);
  return ticks;
}

function dayMs(x: string): number {
  const [y, m, d] = x.split('-').map((n) => parseInt(n, 10));
  return Date.UTC(y, (m || 1) - 1, d || 1);
}

function shortDate(x: string): string {
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(new Date(dayMs(x)));
}

const W = 480;
const H = 240;
const M = { l: 40, r: 14, t: 18, b: 36 };

function LineChart({ name, points }: { name: string; points: Point[] }) {
  const title = tDyn(`an.${name}`, name);
  if (!points.length) return <Empty>{t('an.noData')}</Empty>;
  const pts = [...points].sort((a, b) => dayMs(a.x) - dayMs(b.x));
  const xs = pts.map((p) => dayMs(p.x));
  const x0 = xs[0];
  const x1 = xs[xs.length - 1];
  const ticks = niceTicks(Math.max(...pts.map((p) => p.y), 0));
  const yMax = ticks[ticks.length - 1] || 1;
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const sx = (v: number) => M.l + (x1 === x0 ? iw / 2 : ((v - x0) / (x1 - x0)) * iw);
  const sy = (v: number) => M.t + ih - (v / yMax) * ih;
  const line = pts.map((p, i) => `${i ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
  const area = `${line}L${sx(x1).toFixed(1)},${sy(0)}L${sx(x0).toFixed(1)},${sy(0)}Z`;
  const labelCount = Math.min(pts.length, 6);
  const labelIdx = labelCount <= 1 ? [0] : Array.from({ length: labelCount }, (_, i) => Math.round((i * (pts.length - 1)) / (labelCount - 1)));
  const summary = `${title}: ${pts.length} · ${shortDate(pts[0].x)} — ${shortDate(pts[pts.length - 1].x)}, max ${fmtNumber(Math.max(...pts.map((p) => p.y)))}`;
  return (
    <figure class="chart" data-testid="line-chart" data-name={name}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="xMidYMid meet">
        {ticks.map((v) => (
          <g key={v}>
            <line class="grid" x1={M.l} x2={W - M.r} y1={sy(v)} y2={sy(v)} />
            <text class="axis" x={M.l - 8} y={sy(v) + 4} text-anchor="end">
              {fmtNumber(v)}
            </text>
          </g>
        ))}
        {[...new Set(labelIdx)].map((i) => (
          <text
            key={i}
            class="axis"
            x={sx(xs[i])}
            y={H - M.b + 22}
            text-anchor={pts.length > 1 && i === 0 ? 'start' : pts.length > 1 && i === pts.length - 1 ? 'end' : 'middle'}
          >
            {shortDate(pts[i].x)}
          </text>
        ))}
        <path class="area" d={area} />
        <path class="line" d={line} data-testid="chart-line" />
        {pts.map((p, i) => (
          <circle key={p.x} class="dot" cx={sx(xs[i])} cy={sy(p.y)} r={pts.length > 60 ? 2 : 4}>
            <title>{`${shortDate(p.x)}: ${fmtNumber(p.y)}`}</title>
          </circle>
        ))}
      </svg>
      <details class="chart-data">
        <summary>{t('an.showData')}</summary>
        <table class="table compact">
          <thead>
            <tr>
              <th scope="col">{t('an.date')}</th>
              <th scope="col">{t('an.value')}</th>
            </tr>
          </thead>
          <tbody>
            {pts.map((p) => (
              <tr key={p.x}>
                <td>{p.x}</td>
                <td class="num">{fmtNumber(p.y)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function Histogram({ name, bins }: { name: string; bins: Bin[] }) {
  const title = tDyn(`an.${name}`, name);
  if (!bins.length) return <Empty>{t('an.noData')}</Empty>;
  const ticks = niceTicks(Math.max(...bins.map((b) => b.count), 0));
  const yMax = ticks[ticks.length - 1] || 1;
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const slot = iw / bins.length;
  const bw = Math.min(64, slot * 0.66);
  const sy = (v: number) => M.t + ih - (v / yMax) * ih;
  const summary = `${title}: ${bins.map((b) => `${b.label} — ${b.count}`).join(', ')}`;
  return (
    <figure class="chart" data-testid="histogram" data-name={name}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        {ticks.map((v) => (
          <g key={v}>
            <line class="grid" x1={M.l} x2={W - M.r} y1={sy(v)} y2={sy(v)} />
            <text class="axis" x={M.l - 8} y={sy(v) + 4} text-anchor="end">
              {fmtNumber(v)}
            </text>
          </g>
        ))}
        {bins.map((b, i) => {
          const cx = M.l + slot * i + slot / 2;
          const y = sy(b.count);
          return (
            <g key={b.label}>
              <rect class="bar" data-testid="histogram-bar" x={cx - bw / 2} y={y} width={bw} height={Math.max(0, sy(0) - y)} rx={4}>
                <title>{`${b.label}: ${b.count}`}</title>
              </rect>
              <text class="bar-value" x={cx} y={y - 6} text-anchor="middle">
                {b.count}
              </text>
              <text class="axis" x={cx} y={H - M.b + 22} text-anchor="middle">
                {b.label}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

// Count units repeat what the card's label already says ("events", "users"…), so they are not shown.
const IMPLIED_UNITS = new Set(['event', 'events', 'user', 'users', 'participation', 'participations', 'participant', 'participants', 'participants per event', 'count']);

function ScalarValue({ s }: { s: Statistics['scalars'][number] }) {
  const unit = (s.unit ?? '').trim();
  if (unit === '%' || unit === 'percent') return <>{fmtNumber(s.value, 1)}%</>;
  if (unit === 'ratio') return <>{fmtNumber(s.value * 100, 1)}%</>;
  const v = fmtNumber(s.value, 2);
  if (!unit || IMPLIED_UNITS.has(unit.toLowerCase())) return <>{v}</>;
  return (
    <>
      {v} <span class="unit">{unit}</span>
    </>
  );
}

/** Who came: came / registered per started event, and the no-show rate. */
function AttendanceSection({ a }: { a: NonNullable<Statistics['attendance']> }) {
  return (
    <section aria-labelledby="an-attendance" data-testid="attendance">
      <h2 id="an-attendance" class="section-title">
        {t('an.attendance')}
      </h2>
      <dl class="stat-grid wide">
        <div class="stat" data-testid="no-show-rate">
          <dt>{t('an.noShowRate')}</dt>
          <dd>{fmtNumber(a.no_show_rate * 100, 1)}%</dd>
        </div>
        <div class="stat">
          <dt>{t('an.came')}</dt>
          <dd>
            {fmtNumber(a.came)} / {fmtNumber(a.registered)}
          </dd>
        </div>
      </dl>
      {a.events.length ? (
        <table class="table" data-testid="attendance-table">
          <thead>
            <tr>
              <th>{t('an.event')}</th>
              <th>{t('an.came')}</th>
              <th>%</th>
            </tr>
          </thead>
          <tbody>
            {a.events.map((e) => (
              <tr key={e.event_id} data-event-id={e.event_id}>
                <td>{e.name}</td>
                <td>
                  {e.came} / {e.registered}
                </td>
                <td>{fmtNumber(e.attendance_rate * 100, 0)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>{t('an.noData')}</Empty>
      )}
    </section>
  );
}

export function AnalyticsPage() {
  useTitle(t('an.title'));
  const res = useAsync(() => get<Statistics>('/api/statistics'), []);
  return (
    <section class="page" data-testid="analytics-page">
      <PageHeader title={t('an.title')} />
      {res.loading && !res.data ? (
        <Loading />
      ) : res.error ? (
        <ErrorBox error={res.error} onRetry={() => res.reload()} />
      ) : res.data ? (
        <>
          <section aria-labelledby="an-scalars">
            <h2 id="an-scalars" class="section-title">
              {t('an.scalars')}
            </h2>
            {res.data.scalars.length ? (
              <dl class="stat-grid wide" data-testid="scalars">
                {res.data.scalars.map((s) => (
                  <div class="stat" key={s.name} data-testid="scalar" data-name={s.name}>
                    <dt>{tDyn(`an.${s.name}`, s.name)}</dt>
                    <dd title={s.unit ?? undefined}>
                      <ScalarValue s={s} />
                    </dd>
                  </div>
                ))}
              </dl>
            ) : (
              <Empty>{t('an.noData')}</Empty>
            )}
          </section>
          <section aria-labelledby="an-graphs">
            <h2 id="an-graphs" class="section-title">
              {t('an.graphs')}
            </h2>
            <div class="chart-grid">
              {res.data.graphs.map((g) => (
                <div class="panel" key={g.name}>
                  <h3>{tDyn(`an.${g.name}`, g.name)}</h3>
                  <LineChart name={g.name} points={g.points} />
                </div>
              ))}
            </div>
          </section>
          {res.data.attendance ? <AttendanceSection a={res.data.attendance} /> : null}
          <section aria-labelledby="an-hist">
            <h2 id="an-hist" class="section-title">
              {t('an.histograms')}
            </h2>
            <div class="chart-grid">
              {res.data.histograms.map((h) => (
                <div class="panel" key={h.name}>
                  <h3>{tDyn(`an.${h.name}`, h.name)}</h3>
                  <Histogram name={h.name} bins={h.bins} />
                </div>
              ))}
            </div>
          </section>
        </>
      ) : null}
    </section>
  );
}
