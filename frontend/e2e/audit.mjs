// Accessibility and weight audit of the web UI (issue #20's measured
// targets): not a test, a program that prints figures (`make ui-audit`).
// Starts the real server (AFISHA_BIN) with a few events, signs in as a user
// and as the administrator, and runs axe-core on every page at 1280 and
// 360 px wide; prints each serious or critical violation and a summary
// line per page, then the gzipped weight of the first load's JS+CSS.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { ADMIN, coverPngFor, createUser, inDays, launch, loginApi, startServer, uploadPng } from './setup.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WIDTHS = [1280, 360];

const srv = await startServer();
const browser = await launch();
let serious = 0;
try {
  const admin = await loginApi(srv.base, ADMIN.email, ADMIN.password);
  const user = await createUser(srv, { email: 'audit@example.com', name: 'Аудит Доступности' });
  const ids = [];
  for (const [i, name] of ['Лекция', 'Турнир', 'Мастер-класс'].entries()) {
    const ev = await admin.post('/api/events', {
      name,
      short_description: 'Короткое описание',
      description: 'Описание события.',
      starts_at: inDays(2 + i).toISOString(),
      ends_at: inDays(2 + i, 20).toISOString(),
      image_url: await uploadPng(admin, coverPngFor(name)),
      location: 'Большой зал',
      max_participants_count: 10,
      participants_ids: [],
    });
    ids.push(ev.id);
  }
  await user.req('PUT', `/api/events/${ids[0]}/participants/me`, { status: 'PARTICIPATING' });

  const pages = {
    anonymous: ['/login', '/register', '/recovery'],
    user: ['/dashboard', '/events', `/events/${ids[0]}`, '/notifications', '/profile'],
    admin: ['/admin/users', '/admin/events', `/admin/events/${ids[0]}`, '/admin/events/new', '/admin/analytics', '/admin/mail'],
  };
  const sessions = { anonymous: null, user, admin };
  for (const width of WIDTHS) {
    for (const [who, paths] of Object.entries(pages)) {
      const context = await browser.newContext({ viewport: { width, height: 900 }, locale: 'ru-RU', timezoneId: 'Europe/Moscow' });
      const page = await context.newPage();
      const session = sessions[who];
      if (session) {
        await page.goto(`${srv.base}/login`);
        await page.evaluate(([uid, token]) => {
          localStorage.setItem('afisha.session.uid', uid);
          localStorage.setItem('afisha.session.token', token);
        }, [session.session.login_session_uid, session.session.login_session_token]);
      }
      for (const path of paths) {
        await page.goto(`${srv.base}${path}`);
        await page.waitForLoadState('networkidle');
        await page.waitForSelector('[data-testid="loading"]', { state: 'detached', timeout: 10_000 }).catch(() => {});
        // Through the DevTools protocol: the page's CSP stays untouched.
        const result = await page.evaluate(async (src) => {
          if (!window.axe) (0, eval)(src);
          const r = await window.axe.run(document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help, target: v.nodes[0]?.target?.join(' ') }));
        }, AXE);
        const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        serious += bad.length;
        const minor = result.length - bad.length;
        console.log(`${String(width).padStart(4)} px  ${who.padEnd(9)} ${path.padEnd(22)} serious/critical: ${bad.length}  moderate/minor: ${minor}`);
        for (const v of result) console.log(`        ${v.impact}: ${v.id} ×${v.nodes} (${v.help}) at ${v.target}`);
      }
      await context.close();
    }
  }
  // First load: index.html's own script and stylesheet (lazy chunks excluded).
  const html = await (await fetch(`${srv.base}/login`)).text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  let total = 0;
  for (const a of assets) {
    const body = Buffer.from(await (await fetch(`${srv.base}${a}`)).arrayBuffer());
    total += gzipSync(body, { level: 9 }).length;
  }
  console.log(`first load JS+CSS: ${(total / 1024).toFixed(1)} KB gzipped (${assets.length} files; target < 60 KB)`);
  console.log(`axe serious/critical violations on all pages: ${serious} (target 0)`);
} finally {
  await browser.close();
  await srv.stop();
}
