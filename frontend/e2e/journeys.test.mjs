// Browser journeys against the real server: `npm run e2e` (AFISHA_BIN=path/to/afisha).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADMIN, coverPngFor, createUser, eventually, inDays, launch, localInput, loginApi, newPage, runJourney, shot, startServer, uiLogin, uploadPng, verificationCode } from './setup.mjs';

const RUN = Date.now().toString(36);
let srv;
let browser;
let admin;

before(async () => {
  srv = await startServer();
  browser = await launch();
  admin = await loginApi(srv.base, ADMIN.email, ADMIN.password);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

/** Run one journey in its own browser context (setup.mjs `runJourney`). */
const journey = (opts, fn) => runJourney(browser, srv.base, opts, fn);

async function createEvent(overrides = {}) {
  const url = await uploadPng(admin, coverPngFor(overrides.name ?? 'x'));
  return admin.post('/api/events', {
    name: `Событие ${RUN}`,
    short_description: 'Короткое описание',
    description: 'Подробное описание события.\nВторая строка.',
    starts_at: inDays(3).toISOString(),
    ends_at: inDays(3, 20).toISOString(),
    image_url: url,
    location: 'Переговорная «Москва», 5 этаж',
    max_participants_count: null,
    payment_info: null,
    participants_ids: [],
    ...overrides,
  });
}

const cardOf = (page, id) => page.locator(`[data-testid="event-card"][data-event-id="${id}"]`);

describe('Afisha web UI', () => {
  it('1. signs up with the emailed code and lands on the dashboard', () =>
    journey({ name: 'signup' }, async (page) => {
      const email = `new-${RUN}@example.com`;
      await page.goto(`${srv.base}/register`);
      await page.getByText('Не короче 8 символов').waitFor();
      await page.getByTestId('field-email').fill(email);
      await page.getByTestId('field-full_name').fill('Анна Петрова');
      await page.getByTestId('field-password').fill('short');
      await page.getByTestId('field-repeat').fill('short');
      await page.getByTestId('register-submit').click();
      await page.getByTestId('error-password').waitFor(); // client-side rule shown next to the field
      await page.getByTestId('field-password').fill('correct-horse-1');
      await page.getByTestId('field-repeat').fill('correct-horse-1');
      const sent = Date.now() - 1000;
      await page.getByTestId('register-submit').click();
      await page.waitForURL(/\/verify\?token=/);
      await page.getByText(email).waitFor();
      const token = new URL(page.url()).searchParams.get('token');
      const { code } = await verificationCode(srv, email, token, { after: sent });
      // Resend: the second request is allowed, the next one is rate-limited and the button counts down from Retry-After.
      await page.getByTestId('resend').click();
      await page.getByTestId('toast').filter({ hasText: 'Код отправлен повторно' }).waitFor();
      await page.getByTestId('resend').click();
      await eventually(async () => assert.match(await page.getByTestId('resend').innerText(), /Повторная отправка через \d+:\d\d/));
      assert.equal(await page.getByTestId('resend').isDisabled(), true);
      await page.getByTestId('field-code').fill('000000');
      await page.getByTestId('verify-submit').click();
      await page.getByTestId('error-code').waitFor(); // a wrong code is reported on the field
      await shot(page, 'verify');
      await page.getByTestId('field-code').fill(String(code));
      await page.getByTestId('verify-submit').click();
      await page.waitForURL(/\/dashboard$/);
      await page.getByRole('heading', { level: 1, name: /Анна Петрова/ }).waitFor();
      await page.getByTestId('my-stats').waitFor();
      await shot(page, 'signup-dashboard');
      const me = await loginApi(srv.base, email, 'correct-horse-1');
      assert.equal(me.me.full_name, 'Анна Петрова');
    }));

  it('2. signs out and signs in again (and switches the language)', () =>
    journey({ name: 'login' }, async (page) => {
      const u = await createUser(srv, { email: `login-${RUN}@example.com`, name: 'Борис Логинов' });
      await page.goto(`${srv.base}/events`);
      await page.waitForURL(/\/login\?next=/); // guarded page sends anonymous users to sign-in
      await page.getByTestId('field-email').fill(u.me.email);
      await page.getByTestId('field-password').fill('wrong-password');
      await page.getByTestId('login-submit').click();
      await page.getByTestId('form-error').filter({ hasText: 'Неверная почта или пароль' }).waitFor();
      await page.getByTestId('field-password').fill(u.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/events$/); // back to where the user wanted to go
      await page.getByTestId('nav-profile').click();
      await page.getByTestId('me-email').filter({ hasText: u.me.email }).waitFor();
      await page.locator('[data-testid="session"][data-current="true"]').waitFor();
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/);
      assert.equal(await page.evaluate(() => localStorage.getItem('afisha.session.token')), null);
      await page.goto(`${srv.base}/dashboard`);
      await page.waitForURL(/\/login/);
      await uiLogin(page, u.me.email, u.password);
      await page.getByTestId('lang-switch').click();
      await page.getByRole('heading', { level: 1, name: /Hello, Борис Логинов/ }).waitFor();
      await page.reload();
      await page.getByRole('heading', { level: 1, name: /Hello/ }).waitFor(); // remembered
      await shot(page, 'dashboard-en');
      await page.getByTestId('lang-switch').click();
      await page.getByRole('heading', { level: 1, name: /Здравствуйте/ }).waitFor();
    }));

  it('3. joins an event and leaves it, seeing the seat count change', () =>
    journey({ name: 'join' }, async (page) => {
      const u = await createUser(srv, { email: `join-${RUN}@example.com`, name: 'Вера Участникова' });
      const ev = await createEvent({ name: `Джазовый вечер ${RUN}`, max_participants_count: 3 });
      await uiLogin(page, u.me.email, u.password);
      await page.getByTestId('nav-events').click();
      await page.getByTestId('events-search').fill(`Джазовый вечер ${RUN}`);
      const card = cardOf(page, ev.id);
      await card.waitFor();
      await eventually(async () => assert.equal(await page.getByTestId('event-card').count(), 1)); // the search narrowed the list
      const seats = card.getByTestId('seats-left');
      assert.equal(await seats.innerText(), 'Свободно мест: 3 из 3');
      await card.getByTestId('join-btn').click();
      await eventually(async () => assert.equal(await seats.innerText(), 'Свободно мест: 2 из 3'));
      await card.getByTestId('participation-badge').filter({ hasText: 'Вы участвуете' }).waitFor();
      assert.equal(await card.getByTestId('participants-count').getAttribute('data-count'), '1');
      const cards = await u.get('/api/events/cards');
      assert.equal(cards.find((c) => c.id === ev.id).participation_status, 'PARTICIPATING');
      await shot(page, 'event-joined');
      // Calendar file, fetched with the auth headers.
      const [dl] = await Promise.all([page.waitForEvent('download'), card.getByTestId('ics-btn').click()]);
      assert.match(dl.suggestedFilename(), /\.ics$/);
      assert.match(readFileSync(await dl.path(), 'utf8'), /BEGIN:VCALENDAR/);
      // The event page shows the same state; leave from there.
      await card.getByTestId('event-link').click();
      await page.waitForURL(new RegExp(`/events/${ev.id}$`));
      await page.getByRole('heading', { level: 1, name: `Джазовый вечер ${RUN}` }).waitFor();
      await shot(page, 'event-page');
      await page.getByTestId('leave-btn').click();
      await eventually(async () => assert.equal(await page.getByTestId('seats-left').innerText(), 'Свободно мест: 3 из 3'));
      await page.getByTestId('join-btn').waitFor();
      const after = await u.get('/api/events/cards');
      assert.equal(after.find((c) => c.id === ev.id).participation_status, 'NONE');
      assert.equal(after.find((c) => c.id === ev.id).participants_count, 0);
    }));

  it('4. reads and acknowledges notifications', () =>
    journey({ name: 'notifications' }, async (page) => {
      const u = await createUser(srv, { email: `notif-${RUN}@example.com`, name: 'Глеб Уведомлёнов' });
      const e1 = await createEvent({ name: `Квиз ${RUN}`, participants_ids: [u.me.id] });
      await createEvent({ name: `Йога ${RUN}`, participants_ids: [u.me.id] });
      await admin.put(`/api/events/${e1.id}`, { location: 'Атриум' }); // EVENT_UPDATED
      const unread = (await u.get('/api/notifications/instant/unread-count')).count;
      assert.ok(unread >= 3, `expected 3 notifications, got ${unread}`);
      await uiLogin(page, u.me.email, u.password);
      await page.getByTestId('dash-notifications').waitFor();
      await eventually(async () => assert.equal(await page.getByTestId('unread-badge').innerText(), String(unread)));
      await page.getByTestId('bell').click();
      await page.waitForURL(/\/notifications$/);
      const items = page.locator('[data-testid="notification"][data-unread="true"]');
      await eventually(async () => assert.equal(await items.count(), unread));
      await shot(page, 'notifications');
      await items.first().getByTestId('notif-ack').click();
      await eventually(async () => assert.equal(await page.getByTestId('unread-badge').innerText(), String(unread - 1)));
      await eventually(async () => assert.equal(await items.count(), unread - 1));
      // Following a call to action marks it read and navigates inside the app.
      await items.first().getByTestId('notif-cta').click();
      await page.waitForURL(/\/events\/\d+$/);
      await page.getByTestId('event-page').waitFor();
      await eventually(async () => assert.equal(await page.getByTestId('unread-badge').innerText(), String(unread - 2)));
      await page.goBack();
      await page.getByTestId('ack-all').click();
      await page.getByText('Непрочитанных уведомлений нет').waitFor();
      await eventually(async () => assert.equal(await page.getByTestId('unread-badge').count(), 0));
      await page.getByTestId('tab-all').click();
      await eventually(async () => assert.equal(await page.locator('[data-testid="notification"][data-unread="false"]').count(), unread));
      assert.equal((await u.get('/api/notifications/instant/unread-count')).count, 0);
      await shot(page, 'notifications-all-read');
    }));

  it('5. admin creates an event with an image, edits, cancels it and exports CSV', () =>
    journey({ name: 'admin-event' }, async (page) => {
      const p = await createUser(srv, { email: `guest-${RUN}@example.com`, name: 'Дарья Гостева' });
      const name = `Хакатон ${RUN}`;
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.getByTestId('nav-admin-events').click();
      await page.getByTestId('create-event').click();
      await page.waitForURL(/\/admin\/events\/new$/);
      await page.getByTestId('event-submit').click();
      await page.getByTestId('error-name').waitFor(); // required fields are flagged before sending
      await page.getByTestId('field-name').fill(name);
      await page.getByTestId('field-short_description').fill('48 часов кода и пиццы');
      await page.getByTestId('field-description').fill('Команды по 3–5 человек.\nПризы для победителей.');
      await page.getByTestId('field-starts_at').fill(localInput(inDays(5, 9)));
      await page.getByTestId('field-ends_at').fill(localInput(inDays(5, 8)));
      await page.getByTestId('field-location').fill('Большой зал');
      await page.getByTestId('field-max_participants_count').fill('10');
      await page.getByTestId('image-input').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: coverPngFor(name) });
      const preview = page.getByTestId('image-preview');
      await preview.waitFor();
      assert.match(await preview.getAttribute('src'), /\/media\/|^https?:/);
      await eventually(async () => assert.ok(await preview.evaluate((img) => img.complete && img.naturalWidth > 0), 'preview image loaded'));
      await page.locator('input[name="participant_search"]').fill('Дарья Гостева');
      await page.getByTestId('picker-add').first().click();
      await page.locator(`[data-testid="participant-chip"][data-user-id="${p.me.id}"]`).waitFor();
      await page.getByTestId('event-submit').click();
      await page.getByTestId('error-ends_at').waitFor(); // end before start is rejected
      await page.getByTestId('field-ends_at').fill(localInput(inDays(5, 17)));
      await shot(page, 'admin-event-form');
      await page.getByTestId('event-submit').click();
      await page.waitForURL(/\/admin\/events$/);
      const row = page.getByTestId('admin-event-row').filter({ hasText: name });
      await row.waitFor();
      assert.equal((await row.getByTestId('admin-event-count').innerText()).replace(/\s/g, ''), '1/10');
      assert.equal(await row.getAttribute('data-status'), 'ACTIVE');
      const id = Number(await row.getAttribute('data-event-id'));
      const created = await admin.get(`/api/events/${id}`);
      assert.ok(created.image_url, 'image_url saved');
      assert.deepEqual(created.participants.map((x) => x.user_id), [p.me.id]);

      // Edit.
      await row.getByTestId('admin-event-link').click();
      await page.waitForURL(new RegExp(`/admin/events/${id}$`));
      await eventually(async () => assert.equal(await page.getByTestId('field-name').inputValue(), name));
      await page.locator(`[data-testid="participant-chip"][data-user-id="${p.me.id}"]`).waitFor();
      await page.getByTestId('field-name').fill(`${name} (весна)`);
      await page.getByTestId('field-location').fill('Атриум, 1 этаж');
      await page.getByTestId('event-submit').click();
      await page.getByTestId('toast').filter({ hasText: 'сохранено' }).waitFor();
      const edited = await admin.get(`/api/events/${id}`);
      assert.equal(edited.name, `${name} (весна)`);
      assert.equal(edited.location, 'Атриум, 1 этаж');
      assert.equal(edited.starts_at, created.starts_at, 'unchanged fields are not resent');

      // Cancel from the table, with confirmation.
      await page.getByTestId('nav-admin-events').click();
      const row2 = page.locator(`[data-testid="admin-event-row"][data-event-id="${id}"]`);
      await row2.getByText(`${name} (весна)`).waitFor();
      await row2.getByTestId('event-cancel').click();
      await page.getByTestId('confirm-ok').click();
      await eventually(async () => assert.equal(await row2.getAttribute('data-status'), 'REJECTED'));
      await row2.getByTestId('admin-event-status').filter({ hasText: 'Отменено' }).waitFor();
      assert.equal((await admin.get(`/api/events/${id}`)).status, 'REJECTED');

      // Export CSV.
      const [dl] = await Promise.all([page.waitForEvent('download'), row2.getByTestId('export-csv').click()]);
      assert.equal(dl.suggestedFilename(), `event_${id}_participants.csv`);
      const csv = readFileSync(await dl.path(), 'utf8');
      assert.match(csv, /^user_id,email,full_name,status,joined_at,event_id,event_name/);
      assert.ok(csv.includes(p.me.email), 'participant listed in the CSV');
      await row2.getByTestId('event-restore').waitFor();
      await page.getByTestId('tab-REJECTED').click();
      await page.locator(`[data-testid="admin-event-row"][data-event-id="${id}"]`).waitFor();
    }));

  it('6. admin changes a user role, deletes, restores and sets a password', () =>
    journey({ name: 'admin-users' }, async (page) => {
      const v = await createUser(srv, { email: `role-${RUN}@example.com`, name: 'Евгений Ролев' });
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.getByTestId('nav-admin-users').click();
      await page.getByTestId('users-table').waitFor();
      await page.getByTestId('field-q').fill(v.me.email);
      const row = page.locator(`[data-testid="user-row"][data-email="${v.me.email}"]`);
      await row.waitFor();
      await eventually(async () => assert.equal(await page.getByTestId('user-row').count(), 1));
      assert.equal(await row.getByTestId('user-role').innerText(), 'Пользователь');
      await row.getByTestId('user-edit').click();
      const dlg = page.getByTestId('user-edit-dialog');
      await dlg.getByTestId('field-role').selectOption('ADMINISTRATOR');
      await dlg.getByTestId('user-save').click();
      await eventually(async () => assert.equal(await row.getAttribute('data-role'), 'ADMINISTRATOR'));
      assert.equal(await row.getByTestId('user-role').innerText(), 'Администратор');
      assert.equal((await v.get('/api/login')).role, 'ADMINISTRATOR');
      await shot(page, 'admin-users');

      await row.getByTestId('user-delete').click();
      await page.getByTestId('confirm-ok').click();
      await page.getByText('Пользователи не найдены').waitFor(); // the active list no longer has them
      await page.getByTestId('field-status_filter').selectOption('DELETED');
      await eventually(async () => assert.equal(await row.getAttribute('data-status'), 'DELETED'));
      await row.getByTestId('user-status').filter({ hasText: 'Удалён' }).waitFor();
      await row.getByTestId('user-restore').click();
      await page.getByTestId('toast').filter({ hasText: 'восстановлен' }).waitFor();
      await page.getByTestId('field-status_filter').selectOption('ACTIVE');
      await eventually(async () => assert.equal(await row.getAttribute('data-status'), 'ACTIVE'));

      await row.getByTestId('user-password').click();
      const pw = page.getByTestId('user-password-dialog');
      await pw.getByTestId('field-password').fill('brand-new-pass-9');
      assert.equal(await pw.getByTestId('field-send_email').isChecked(), true);
      await pw.getByTestId('password-save').click();
      await page.getByTestId('toast').filter({ hasText: 'изменён' }).waitFor();
      const relog = await loginApi(srv.base, v.me.email, 'brand-new-pass-9');
      assert.equal(relog.me.email, v.me.email);
      // Demote again so later journeys see one administrator less.
      await admin.put(`/api/users/${v.me.id}`, { role: 'USER' });
    }));

  it('7. analytics renders scalar cards, line charts and histograms', () =>
    journey({ name: 'analytics' }, async (page) => {
      const stats = await admin.get('/api/statistics');
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.getByTestId('nav-admin-analytics').click();
      await page.getByTestId('analytics-page').waitFor();
      await page.getByTestId('scalars').waitFor();
      assert.equal(await page.getByTestId('scalar').count(), stats.scalars.length);
      assert.ok(stats.scalars.length >= 9);
      await page.locator('[data-testid="scalar"][data-name="events_total"]').filter({ hasText: 'Событий всего' }).waitFor();
      assert.equal(await page.getByTestId('line-chart').count(), stats.graphs.length);
      for (const g of stats.graphs) {
        if (!g.points.length) continue;
        const d = await page.locator(`[data-testid="line-chart"][data-name="${g.name}"] [data-testid="chart-line"]`).getAttribute('d');
        assert.match(d, /^M[\d.]+,[\d.]+/);
        assert.equal((d.match(/[ML]/g) ?? []).length, g.points.length);
      }
      for (const h of stats.histograms) {
        const bars = page.locator(`[data-testid="histogram"][data-name="${h.name}"] [data-testid="histogram-bar"]`);
        assert.equal(await bars.count(), h.bins.length);
      }
      await shot(page, 'analytics');
    }));

  it('8. the events page works at 360×740', () =>
    journey({ name: 'mobile', viewport: { width: 360, height: 740 } }, async (page) => {
      const u = await createUser(srv, { email: `mobile-${RUN}@example.com`, name: 'Жанна Мобильная' });
      await uiLogin(page, u.me.email, u.password);
      await page.goto(`${srv.base}/events`);
      await page.getByTestId('event-card').first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no horizontal scroll (overflow ${overflow}px)`);
      assert.equal(await page.getByTestId('nav-events').isVisible(), false, 'nav collapsed behind the menu button');
      const box = await page.getByTestId('event-card').first().boundingBox();
      assert.ok(box.width <= 360 && box.width >= 300, `card fits the screen (${box.width}px)`);
      await shot(page, 'events-mobile');
      await page.getByTestId('menu-toggle').click();
      await page.getByTestId('nav-notifications').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('menu-toggle').getAttribute('aria-expanded'), 'true');
      await shot(page, 'events-mobile-menu');
      await page.getByTestId('nav-profile').click();
      await page.waitForURL(/\/profile$/);
      await eventually(async () => assert.equal(await page.getByTestId('nav-events').isVisible(), false, 'menu closes after navigation'));
    }));

  it('README screenshots: events and admin events at desktop size', () =>
    journey({ name: 'readme' }, async (page) => {
      const u = await createUser(srv, { email: `readme-${RUN}@example.com`, name: 'Зоя Скриншотова' });
      const titles = ['Лекция: архитектура SQLite', 'Турнир по настольному теннису', 'Мастер-класс по фотографии', 'Пятничный киноклуб'];
      for (const [i, name] of titles.entries()) {
        const ev = await createEvent({
          name,
          short_description: ['Как устроено хранилище и почему WAL', 'Сетка на 16 участников, ракетки выдаём', 'Свет, композиция и постобработка', 'Смотрим и обсуждаем классику'][i],
          starts_at: inDays(4 + i, 8 + i).toISOString(),
          ends_at: inDays(4 + i, 10 + i).toISOString(),
          max_participants_count: [30, 16, 12, null][i],
          location: ['Конференц-зал', 'Спортзал, 2 этаж', 'Студия', 'Кинозал'][i],
        });
        if (i % 2 === 0) await u.put(`/api/events/${ev.id}/participants/me`, { status: 'PARTICIPATING' });
      }
      await uiLogin(page, u.me.email, u.password);
      await page.goto(`${srv.base}/events`);
      await page.getByTestId('event-card').first().waitFor();
      await page.waitForFunction(() => [...document.images].every((i) => i.complete));
      await shot(page, 'events');
      await page.getByTestId('logout').click();
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.goto(`${srv.base}/admin/events`);
      await page.getByTestId('admin-events-table').waitFor();
      await shot(page, 'admin-events');
    }));

  it('API docs page renders from the binary under the CSP', () =>
    journey({ name: 'docs' }, async (page) => {
      const res = await page.goto(`${srv.base}/api/docs`);
      assert.equal(res.status(), 200);
      await page.locator('#swagger-ui .info .title').waitFor({ timeout: 20_000 });
      await shot(page, 'api-docs');
    }));
  it('9. a full event: joins the waiting list and is promoted when someone leaves', () =>
    journey({ name: 'waitlist' }, async (page, context) => {
      const waiter = await createUser(srv, { email: `wait-${RUN}@example.com`, name: 'Ирина Ожидающая' });
      const holder = await createUser(srv, { email: `seat-${RUN}@example.com`, name: 'Пётр Местов' });
      const name = `Мастер-класс ${RUN}`;
      const ev = await createEvent({ name, max_participants_count: 1, participants_ids: [holder.me.id] });
      await context.addInitScript(() => window.localStorage.setItem('afisha.lang', 'en'));
      await uiLogin(page, waiter.me.email, waiter.password);
      await page.goto(`${srv.base}/events/${ev.id}`);
      await page.getByTestId('event-page').waitFor();
      assert.equal(await page.getByTestId('seats-left').getAttribute('data-left'), '0');
      assert.equal(await page.getByTestId('join-btn').count(), 0, 'a full event offers the waiting list, not a dead button');
      // Who is going (names only), sharing and calendars next to the .ics download.
      await page.getByTestId('attendee').filter({ hasText: 'Пётр Местов' }).waitFor();
      assert.doesNotMatch(await page.getByTestId('attendees').innerText(), /@example\.com/);
      await page.getByTestId('copy-link').waitFor();
      await page.getByTestId('ics-btn').waitFor();
      assert.match(await page.getByTestId('google-cal').getAttribute('href'), /^https:\/\/calendar\.google\.com\/calendar\/render\?action=TEMPLATE/);
      assert.match(await page.getByTestId('outlook-cal').getAttribute('href'), /^https:\/\/outlook\.live\.com\/calendar\//);
      // Join the waiting list: my position is shown.
      await page.getByTestId('waitlist-btn').click();
      await page.getByTestId('waitlist-position').waitFor();
      assert.equal(await page.getByTestId('waitlist-position').getAttribute('data-position'), '1');
      await page.getByTestId('participation-badge').filter({ hasText: 'Waiting list: #1' }).waitFor();
      assert.equal((await waiter.get(`/api/events/${ev.id}/card`)).participation_status, 'WAITLISTED');
      await shot(page, 'event-waitlisted');
      // Another user leaves: the seat goes to the first in line at once.
      await holder.put(`/api/events/${ev.id}/participants/me`, { status: 'NONE' });
      await page.reload();
      await page.getByTestId('participation-badge').filter({ hasText: 'You are going' }).waitFor();
      assert.equal(await page.getByTestId('waitlist-position').count(), 0);
      await page.getByTestId('leave-btn').waitFor();
      await eventually(async () => assert.ok(Number(await page.getByTestId('unread-badge').innerText()) >= 1));
      await page.getByTestId('bell').click();
      await page.waitForURL(/\/notifications$/);
      await page.locator('[data-testid="notification"][data-unread="true"]').filter({ hasText: name }).first().waitFor();
      await shot(page, 'waitlist-promoted');
      // A cancelled event's page says so (with when) instead of "not found".
      const gone = await createEvent({ name: `Отменённое ${RUN}`, participants_ids: [waiter.me.id] });
      await admin.put(`/api/events/${gone.id}`, { rejected_at: new Date().toISOString() });
      await page.goto(`${srv.base}/events/${gone.id}`);
      await page.getByTestId('event-cancelled').waitFor();
      assert.equal(await page.getByTestId('event-not-found').count(), 0);
    }));
  it('issue 19: category + date range → calendar → event; copy the feed URL and fetch it', () =>
    journey({ name: 'calendar' }, async (page, context) => {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.base });
      const u = await createUser(srv, { email: `calendar-${RUN}@example.com`, name: 'Ирина Календарная' });
      const category = await admin.post('/api/categories', { name: `Лекции ${RUN}`, color: '#2266aa' });
      const start = inDays(12, 9);
      const ev = await createEvent({
        name: `Лекция о календарях ${RUN}`,
        starts_at: start.toISOString(),
        ends_at: inDays(12, 11).toISOString(),
        category_id: category.id,
      });
      const other = await createEvent({ name: `Без категории ${RUN}`, starts_at: start.toISOString(), ends_at: inDays(12, 10).toISOString() });
      await u.put(`/api/events/${ev.id}/participants/me`, { status: 'PARTICIPATING' });
      await uiLogin(page, u.me.email, u.password);
      await page.goto(`${srv.base}/events`);
      await page.getByTestId('category-chip').filter({ hasText: category.name }).click();
      const day = localInput(start).slice(0, 10);
      await page.getByTestId('date-from').fill(day);
      await page.getByTestId('date-to').fill(day);
      await cardOf(page, ev.id).waitFor();
      await eventually(async () => assert.equal(await cardOf(page, other.id).count(), 0, 'the category chip filters'));
      await page.getByTestId('tab-calendar').click();
      const cell = page.locator(`[data-testid="cal-day"][data-day="${day}"]`);
      const link = cell.getByTestId('cal-event').filter({ hasText: ev.name });
      await link.waitFor();
      await shot(page, 'events-calendar');
      await link.click();
      await page.waitForURL(new RegExp(`/events/${ev.id}$`));
      await page.getByRole('heading', { level: 1, name: ev.name }).waitFor();

      await page.getByTestId('nav-profile').click();
      await page.getByTestId('feed-create').click();
      const input = page.getByTestId('feed-url');
      await input.waitFor();
      const url = await input.inputValue();
      assert.match(url, /\/api\/calendar\/[0-9a-f]{64}\.ics$/);
      await page.getByTestId('feed-copy').click();
      await page.getByTestId('toast').filter({ hasText: 'Ссылка скопирована' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
      assert.match(await page.getByTestId('subscribe-google').getAttribute('href'), /^https:\/\/calendar\.google\.com\//);
      assert.equal(await page.getByTestId('subscribe-apple').getAttribute('href'), url.replace(/^https?:/, 'webcal:'));
      await shot(page, 'profile-feed');
      const res = await fetch(url); // no session headers, as a calendar app
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/calendar/);
      const text = (await res.text()).replace(/\r\n[ \t]/g, '');
      assert.match(text, /^BEGIN:VCALENDAR\r\n/);
      assert.ok(text.includes(`UID:event-${ev.id}@`), text);
      assert.ok(text.includes(`SUMMARY:${ev.name}`), text);
      assert.ok(!text.includes(`UID:event-${other.id}@`), 'only my events');
    }));
});

// Issue #17: an administrator sees failing mail (banner + Mail page) and retries it once SMTP is back.
import { createServer as createTcpServer } from 'node:net';

/** A tiny SMTP server that refuses MAIL FROM with `state.refuse` while it is set. */
function smtpServer(state) {
  const server = createTcpServer((socket) => {
    let data = false;
    let buf = '';
    socket.write('220 e2e ESMTP\r\n');
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line === '.') {
            data = false;
            state.received += 1;
            socket.write('250 OK queued\r\n');
          }
          continue;
        }
        const verb = line.split(/[ :]/)[0].toUpperCase();
        if (verb === 'EHLO') socket.write('250-e2e\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') socket.write(state.refuse ? `${state.refuse}\r\n` : '250 OK\r\n');
        else if (verb === 'DATA') {
          data = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 Bye\r\n');
        } else socket.write('250 OK\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('Mail (issue #17)', () => {
  it('an administrator sees a failed email and the banner, and retries it after SMTP returns', async () => {
    const smtp = { refuse: '451 4.7.1 Greylisted by the e2e server', received: 0 };
    const mailServer = await smtpServer(smtp);
    const port = mailServer.address().port;
    const srv2 = await startServer({
      env: {
        AFISHA_EMAIL__BACKEND: 'smtp',
        AFISHA_EMAIL__SMTP__HOST: '127.0.0.1',
        AFISHA_EMAIL__SMTP__PORT: String(port),
        AFISHA_EMAIL__SMTP__TLS: 'none',
        AFISHA_JOBS__MAX_ATTEMPTS: '1',
      },
    });
    const { context, page } = await newPage(browser, srv2.base);
    try {
      const admin2 = await loginApi(srv2.base, ADMIN.email, ADMIN.password);
      const url = await uploadPng(admin2, coverPngFor('mail'));
      await admin2.post('/api/events', {
        name: `Почта ${RUN}`,
        short_description: 'Проверка почты',
        description: 'Событие, о котором письмо не уйдёт с первого раза.',
        starts_at: inDays(4).toISOString(),
        ends_at: inDays(4, 20).toISOString(),
        image_url: url,
        location: 'Зал',
        max_participants_count: null,
        payment_info: null,
        participants_ids: [admin2.me.id],
      });
      await eventually(async () => {
        const failed = await admin2.get('/api/admin/outbox?status=failed');
        assert.ok(failed.length >= 1, 'a failed email');
      }, 30_000);

      page.base = srv2.base;
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.goto(`${srv2.base}/admin/events`);
      const banner = page.getByTestId('mail-banner');
      await banner.waitFor();
      assert.match(await banner.innerText(), /451\b.*4\.7\.1 Greylisted/);
      await page.getByTestId('mail-banner-link').click();
      await page.waitForURL(/\/admin\/mail$/);
      const row = page.locator('[data-testid="outbox-row"][data-status="failed"]').first();
      await row.waitFor();
      assert.match(await row.getByTestId('outbox-error').innerText(), /451\b.*4\.7\.1 Greylisted/);
      await shot(page, 'admin-mail-failing');

      // The test-send form reports the server's words too.
      await page.getByTestId('field-test_to').fill('probe@example.com');
      await page.getByTestId('mail-test-send').click();
      await eventually(async () => assert.match(await page.getByTestId('mail-test-outcome').innerText(), /451/));

      // SMTP is back: retry from the row (keyboard), the email goes out and the banner goes away.
      smtp.refuse = null;
      const retry = row.getByTestId('outbox-retry');
      await retry.focus();
      await page.keyboard.press('Enter');
      await page.getByTestId('toast').filter({ hasText: 'Письмо снова в очереди' }).waitFor();
      await eventually(async () => {
        await page.getByTestId('mail-refresh').click();
        await page.locator('[data-testid="outbox-row"][data-status="sent"]').first().waitFor({ timeout: 1000 });
      }, 30_000);
      await eventually(async () => assert.equal(await page.getByTestId('mail-banner').count(), 0), 15_000);
      assert.ok(smtp.received >= 1, 'delivered');
      assert.deepEqual(page.problems, [], 'no CSP violations, page errors or off-origin requests');
    } catch (e) {
      await shot(page, 'FAILED-mail').catch(() => {});
      throw e;
    } finally {
      await context.close();
      await srv2.stop();
      mailServer.close();
    }
  });
});

describe('Sign-in with the identity provider (issue #21)', () => {
  // A real OpenID Provider (tests/oidc/provider.mjs, npm oidc-provider) on
  // loopback; the person who signs in there is chosen over its control API.
  it('signs in with the provider button, lands on the dashboard; a refusal is explained on the sign-in page', async () => {
    const { createServer } = await import('node:net');
    const { spawn } = await import('node:child_process');
    const { resolve } = await import('node:path');
    const { FRONTEND } = await import('./setup.mjs');
    const opPort = await new Promise((res, rej) => {
      const s = createServer();
      s.on('error', rej);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => res(port));
      });
    });
    const issuer = `http://127.0.0.1:${opPort}`;
    const srv3 = await startServer({
      env: {
        AFISHA_AUTH__OIDC__ISSUER: issuer,
        AFISHA_AUTH__OIDC__CLIENT_ID: 'afisha',
        AFISHA_AUTH__OIDC__CLIENT_SECRET: 'e2e-client-secret',
        AFISHA_AUTH__OIDC__DISPLAY_NAME: 'Corp SSO',
        // Employees sign in only through the provider; administrators keep
        // a password form, folded away (break-glass).
        AFISHA_AUTH__PASSWORD_LOGIN: 'false',
      },
    });
    const op = spawn('node', ['provider.mjs'], {
      cwd: resolve(FRONTEND, '../tests/oidc'),
      env: {
        ...process.env,
        PORT: String(opPort),
        CLIENT_ID: 'afisha',
        CLIENT_SECRET: 'e2e-client-secret',
        REDIRECT_URI: `${srv3.base}/api/auth/oidc/callback`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((res, rej) => {
      op.on('error', rej);
      op.on('exit', (code) => rej(new Error(`the provider exited with ${code}`)));
      op.stdout.on('data', (d) => String(d).includes('ready') && res());
    });
    const choose = async (account) => {
      const r = await fetch(`${issuer}/control/account`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(account),
      });
      assert.equal(r.status, 204);
    };
    const person = { sub: `e2e-${RUN}`, email: `sso-${RUN}@corp.example`, name: 'Ольга Смирнова', groups: [] };
    const { context, page } = await newPage(browser, srv3.base);
    // The provider is the one other origin this journey may visit.
    await context.route(`${issuer}/**`, (route) => route.continue());
    try {
      await choose({ ...person, email_verified: false });
      await page.goto(`${srv3.base}/login`);
      const button = page.getByTestId('sso-login');
      assert.equal(await button.innerText(), 'Войти через Corp SSO');
      assert.equal(await page.getByTestId('login-form').isVisible(), false, 'the password form is folded away');
      assert.equal(await page.getByTestId('to-register').count(), 0, 'no registration link');
      await page.getByTestId('admin-sign-in').locator('summary').click();
      await page.getByTestId('login-form').waitFor();
      await shot(page, 'sso-only-sign-in');
      await page.getByTestId('admin-sign-in').locator('summary').click();
      await button.click();
      await page.getByTestId('sso-error').waitFor();
      assert.match(await page.getByTestId('sso-error').innerText(), /не подтверждён/);
      assert.equal(new URL(page.url()).searchParams.get('sso_error'), 'email_unverified');
      await shot(page, 'sso-refused');

      await choose({ ...person, email_verified: true });
      await page.getByTestId('sso-login').click();
      await page.waitForURL(/\/dashboard$/);
      assert.equal(new URL(page.url()).hash, '', 'the session left the address bar');
      const me = await page.evaluate(async () => {
        const r = await fetch('/api/login', {
          headers: {
            'X-Login-Session-Uid': localStorage.getItem('afisha.session.uid'),
            'X-Login-Session-Token': localStorage.getItem('afisha.session.token'),
          },
        });
        return r.json();
      });
      assert.equal(me.email, person.email);
      assert.equal(me.full_name, person.name);
      await shot(page, 'sso-dashboard');
      await page.goto(`${srv3.base}/profile`);
      assert.equal(await page.getByTestId('me-sign-in').innerText(), 'единый вход компании');
      assert.deepEqual(page.problems, [], 'no CSP violations, page errors or off-origin requests');
    } catch (e) {
      await shot(page, 'FAILED-sso').catch(() => {});
      throw e;
    } finally {
      await context.close();
      op.kill();
      await srv3.stop();
    }
  });
});

describe('Rough edges (issue #20)', () => {
  it('new user: getting-started dashboard, skeleton while cards load, errors clear on edit, theme switch, no API docs link', async () => {
    const srv4 = await startServer();
    const email = `edges-${RUN}@example.com`;
    const password = 'user-password-1';
    await createUser(srv4, { email, name: 'Новенький', password });
    const { context, page } = await newPage(browser, srv4.base);
    try {
      // A field's error goes away once the field is edited.
      await page.goto(`${srv4.base}/login`);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('error-email').waitFor();
      await page.getByTestId('field-email').fill(email);
      assert.equal(await page.getByTestId('error-email').count(), 0, 'the email error cleared on edit');
      assert.equal(await page.getByTestId('error-password').count(), 1, 'the untouched field keeps its error');

      await uiLogin(page, email, password);
      const start = page.getByTestId('getting-started');
      await start.waitFor();
      assert.match(await start.innerText(), /Выберите событие/);
      assert.equal(await page.locator('footer a[href="/api/docs"]').count(), 0, 'no API docs link for users');
      await shot(page, 'dashboard-getting-started');

      // Skeleton cards while the list is on its way.
      let release;
      const held = new Promise((r) => (release = r));
      await page.route('**/api/events/cards?**', async (route) => {
        await held;
        await route.continue();
      });
      await page.getByTestId('nav-events').click();
      await page.locator('.skeleton-card').first().waitFor();
      release();
      await page.getByTestId('loading').waitFor({ state: 'detached' });
      await page.unroute('**/api/events/cards?**');

      // Theme: system → light → dark, remembered across a reload.
      const theme = page.getByTestId('theme-switch');
      assert.equal(await theme.getAttribute('data-theme-choice'), 'system');
      await theme.click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
      await theme.click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, 'rgb(15, 18, 24)', 'dark colours applied');
      await page.reload();
      await page.getByTestId('theme-switch').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await shot(page, 'events-dark');
      await page.getByTestId('theme-switch').click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), undefined, 'back to the system scheme');

      // The language button's accessible name starts with what it shows.
      const lang = page.getByTestId('lang-switch');
      assert.match(await lang.evaluate((b) => b.textContent), /^EN — /);
      assert.deepEqual(page.problems, [], 'no CSP violations, page errors or off-origin requests');
    } catch (e) {
      await shot(page, 'FAILED-edges').catch(() => {});
      throw e;
    } finally {
      await context.close();
      await srv4.stop();
    }
  });

  it('administrators see the API docs link', () =>
    journey({ name: 'docs-link' }, async (page) => {
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.locator('footer a[href="/api/docs"]').waitFor();
    }));
});

describe('Recurring events (issue #22)', () => {
  it('an administrator creates a weekly series in the form, sees its occurrences in the lists, and edits this and the following ones', () =>
    journey({ name: 'series' }, async (page) => {
      const name = `Лекторий ${RUN}`;
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.getByTestId('nav-admin-events').click();
      await page.getByTestId('create-event').click();
      await page.waitForURL(/\/admin\/events\/new$/);
      await page.getByTestId('field-name').fill(name);
      await page.getByTestId('field-description').fill('Каждую неделю — новая тема.');
      await page.getByTestId('field-starts_at').fill(localInput(inDays(7, 16)));
      await page.getByTestId('field-ends_at').fill(localInput(inDays(7, 18)));
      await page.getByTestId('field-location').fill('Зал 1');
      await page.getByTestId('image-input').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: coverPngFor(name) });
      await page.getByTestId('image-preview').waitFor();
      await page.getByTestId('field-repeat_frequency').selectOption('WEEKLY');
      await page.getByTestId('field-repeat_end').selectOption('count');
      await page.locator('input[name="repeat_count"]').fill('4');
      await shot(page, 'series-form');
      await page.getByTestId('event-submit').click();
      await page.waitForURL(/\/admin\/events$/);
      await page.getByTestId('toast').filter({ hasText: `Серия «${name}» создана, событий: 4` }).waitFor();
      const rows = page.getByTestId('admin-event-row').filter({ hasText: name });
      await eventually(async () => assert.equal(await rows.count(), 4));
      assert.equal(await rows.getByTestId('series-mark').count(), 4, 'every occurrence carries the series mark');
      const ids = (await Promise.all((await rows.all()).map((r) => r.getAttribute('data-event-id')))).map(Number).sort((a, b) => a - b);
      const events = await Promise.all(ids.map((id) => admin.get(`/api/events/${id}`)));
      const seriesId = events[0].series_id;
      assert.ok(seriesId, 'occurrences belong to a series');
      const starts = events.map((e) => new Date(e.starts_at).getTime());
      for (let i = 1; i < 4; i++) assert.equal(starts[i] - starts[i - 1], 7 * 24 * 3600 * 1000, 'a week apart');

      // Users see each occurrence as its own card, marked.
      const u = await createUser(srv, { email: `series-${RUN}@example.com`, name: 'Глеб Слушатель' });
      const { context: ctx2, page: userPage } = await newPage(browser, srv.base);
      try {
        await uiLogin(userPage, u.me.email, u.password);
        await userPage.getByTestId('nav-events').click();
        await userPage.getByTestId('events-search').fill(name);
        await eventually(async () => assert.equal(await userPage.getByTestId('event-card').count(), 4));
        assert.equal(await userPage.getByTestId('event-card').getByTestId('series-mark').count(), 4);
        await shot(userPage, 'series-cards');
        await userPage.goto(`${srv.base}/events/${ids[1]}`);
        await userPage.getByTestId('series-mark').waitFor(); // the event page marks it too
      } finally {
        await ctx2.close();
      }

      // Edit the third occurrence "and the following": the series splits there.
      await page.locator(`[data-testid="admin-event-row"][data-event-id="${ids[2]}"]`).getByTestId('admin-event-link').click();
      await page.waitForURL(new RegExp(`/admin/events/${ids[2]}$`));
      await eventually(async () => assert.equal(await page.getByTestId('field-name').inputValue(), name));
      await page.getByTestId('scope-choice').waitFor();
      await page.getByTestId('field-location').fill('Зал 2');
      await page.getByTestId('scope-following').check();
      await shot(page, 'series-scope');
      await page.getByTestId('event-submit').click();
      await page.getByTestId('toast').filter({ hasText: 'сохранено' }).waitFor();
      const after = await Promise.all(ids.map((id) => admin.get(`/api/events/${id}`)));
      assert.deepEqual(
        after.map((e) => e.location),
        ['Зал 1', 'Зал 1', 'Зал 2', 'Зал 2'],
      );
      assert.equal(after[0].series_id, seriesId);
      assert.notEqual(after[2].series_id, seriesId, 'this and the following moved to a new series');
      assert.equal(after[3].series_id, after[2].series_id);
    }));
});

describe('Audit log and your data (issue #23)', () => {
  it('issue 23: admin changes a user role, then sees the entry in the audit log', () =>
    journey({ name: 'audit-log' }, async (page) => {
      const v = await createUser(srv, { email: `audit-${RUN}@example.com`, name: 'Аудит Проверкин' });
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.getByTestId('nav-admin-users').click();
      await page.getByTestId('users-table').waitFor();
      await page.getByTestId('field-q').fill(v.me.email);
      const row = page.locator(`[data-testid="user-row"][data-email="${v.me.email}"]`);
      await row.waitFor();
      await row.getByTestId('user-edit').click();
      const dlg = page.getByTestId('user-edit-dialog');
      await dlg.getByTestId('field-role').selectOption('ADMINISTRATOR');
      await dlg.getByTestId('user-save').click();
      await eventually(async () => assert.equal(await row.getAttribute('data-role'), 'ADMINISTRATOR'));

      await page.getByTestId('nav-admin-audit').click();
      await page.getByTestId('admin-audit-page').waitFor();
      const entry = page.locator(`[data-testid="audit-row"][data-action="user.role_changed"][data-target="user:${v.me.id}"]`);
      await entry.waitFor();
      const text = await entry.innerText();
      assert.match(text, /Смена роли/);
      assert.match(text, /USER → ADMINISTRATOR/);
      assert.match(text, new RegExp(ADMIN.email.replace(/[.+]/g, '\\$&')));
      // The filter narrows the table to this action.
      await page.getByTestId('field-audit_action').selectOption('user.role_changed');
      await eventually(async () => {
        const actions = await page.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
        assert.ok(actions.length >= 1 && actions.every((a) => a === 'user.role_changed'), String(actions));
      });
      await shot(page, 'audit-log');
      await admin.put(`/api/users/${v.me.id}`, { role: 'USER' });
    }));

  it('issue 23: a user deletes their own account from the profile page', () =>
    journey({ name: 'delete-account' }, async (page) => {
      const email = `leaving-${RUN}@example.com`;
      const v = await createUser(srv, { email, name: 'Уходящий Пользователь' });
      await uiLogin(page, email, 'user-password-1');
      await page.getByTestId('nav-profile').click();
      await page.getByTestId('my-data').waitFor();
      const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('my-data-download').click()]);
      assert.equal(file.suggestedFilename(), 'my-data.json');
      const mine = JSON.parse(readFileSync(await file.path(), 'utf8'));
      assert.equal(mine.profile.email, email);
      assert.ok(Array.isArray(mine.sessions) && mine.sessions.some((x) => x.current));
      await page.getByTestId('field-delete_password').fill('wrong-password-1');
      await page.getByTestId('delete-account').click();
      await page.getByTestId('confirm-ok').click();
      await page.getByText(/Неверный текущий пароль|Invalid password/).first().waitFor();
      await page.getByTestId('field-delete_password').fill('user-password-1');
      await page.getByTestId('delete-account').click();
      await page.getByTestId('confirm-ok').click();
      await page.waitForURL(/\/login/);
      const users = await admin.get(`/api/users?include_deleted=true&q=deleted-user-${v.me.id}`);
      assert.equal(users.length, 1);
      assert.equal(users[0].full_name, 'Deleted user');
      assert.equal(users[0].status, 'DELETED');
    }));
});

describe('Webhooks (issue #23)', () => {
  it('registers a webhook, keeps the secret shown once, pings, resends from the log and disables it', async () => {
    const { createServer } = await import('node:http');
    const { createHmac } = await import('node:crypto');
    const got = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise((res) => receiver.listen(0, '127.0.0.1', res));
    const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    const srv4 = await startServer({ env: { AFISHA_WEBHOOKS__ALLOW_PRIVATE_NETWORKS: 'true' } });
    const { context, page } = await newPage(browser, srv4.base);
    page.base = srv4.base;
    try {
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.goto(`${srv4.base}/admin/webhooks`);
      assert.equal(await page.getByTestId('nav-admin-webhooks').count(), 1, 'the admin menu links the page');
      await page.getByTestId('field-webhook_url').fill(hookUrl);
      await page.getByTestId('field-new-participation.joined').check();
      await page.getByTestId('webhook-create').click();
      const secret = (await page.getByTestId('webhook-secret').innerText()).trim();
      assert.match(secret, /^whsec_[0-9a-f]{64}$/);
      await shot(page, 'webhooks-secret-once');
      await page.getByTestId('webhook-secret-done').click();
      assert.equal(await page.getByTestId('webhook-secret').count(), 0);
      const row = page.getByTestId('webhook-row').first();
      assert.equal(await row.getAttribute('data-enabled'), 'true');
      assert.ok(!(await page.content()).includes(secret), 'the secret is gone from the page');

      // Test ping: signed with the secret shown once, listed in the log.
      await row.getByTestId('webhook-ping').click();
      await eventually(async () => assert.equal(got.length, 1), 30_000);
      const check = (g) => {
        const ts = g.headers['afisha-timestamp'];
        const mac = createHmac('sha256', secret).update(`${ts}.${g.body}`).digest('hex');
        assert.equal(g.headers['afisha-signature'], `v1=${mac}`);
        return JSON.parse(g.body);
      };
      const ping = check(got[0]);
      assert.equal(ping.type, 'ping');
      assert.equal(ping.id, got[0].headers['afisha-delivery']);
      const delivered = page.locator('[data-testid="webhook-delivery"][data-status="delivered"]');
      await eventually(async () => {
        await page.getByTestId('webhook-log-refresh').click();
        await delivered.first().waitFor({ timeout: 1000 });
      }, 30_000);
      await shot(page, 'webhooks-log');

      // Resend: the same delivery id again.
      await delivered.first().getByTestId('webhook-resend').click();
      await eventually(async () => assert.equal(got.length, 2), 30_000);
      check(got[1]);
      assert.equal(got[1].headers['afisha-delivery'], got[0].headers['afisha-delivery']);

      // Disable: the row says so and ping is refused in the UI.
      await row.getByTestId('webhook-toggle').click();
      await eventually(async () => assert.equal(await page.getByTestId('webhook-row').first().getAttribute('data-enabled'), 'false'));
      assert.ok(await page.getByTestId('webhook-row').first().getByTestId('webhook-ping').isDisabled());
      assert.deepEqual(page.problems, [], 'no CSP violations, page errors or off-origin requests');
    } catch (e) {
      await shot(page, 'FAILED-webhooks').catch(() => {});
      throw e;
    } finally {
      await context.close();
      await srv4.stop();
      receiver.close();
    }
  });
});

describe('Check-in (issue #22)', () => {
  it('a manager checks a participant in from the list on a phone; the participant’s page shows "checked in"', async () => {
    const phone = { width: 390, height: 844 };
    const manager = await createUser(srv, { email: `checkin-manager-${RUN}@example.com`, name: 'Мария Менеджерова' });
    const guest = await createUser(srv, { email: `checkin-guest-${RUN}@example.com`, name: 'Глеб Гостев' });
    const other = await createUser(srv, { email: `checkin-other-${RUN}@example.com`, name: 'Ольга Другая' });
    // Starts in 30 minutes: check-in opens 60 minutes before the start.
    const starts = new Date(Date.now() + 30 * 60_000);
    const ev = await createEvent({
      name: `Вход по билетам ${RUN}`,
      starts_at: starts.toISOString(),
      ends_at: new Date(starts.getTime() + 2 * 3600_000).toISOString(),
      participants_ids: [guest.me.id, other.me.id],
      managers: [manager.me.id],
    });

    // The participant's ticket: a QR code on the event page.
    await journey({ name: 'checkin-ticket', viewport: phone }, async (page) => {
      await uiLogin(page, guest.me.email, guest.password);
      await page.goto(`${srv.base}/events/${ev.id}`);
      const qr = page.getByTestId('ticket-qr');
      await qr.waitFor();
      await eventually(async () => assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn'));
      await shot(page, 'checkin-ticket');
    });

    // The manager: "Check-in" on their event, the desk on a phone, find the guest, check them in.
    await journey({ name: 'checkin-desk', viewport: phone }, async (page) => {
      await uiLogin(page, manager.me.email, manager.password);
      // "Manage": the event's form, with its participants' names, for the manager.
      await page.goto(`${srv.base}/events/${ev.id}`);
      await page.getByTestId('manage-link').click();
      await page.getByTestId('event-form-page').waitFor();
      assert.equal(await page.locator('input[name="name"]').inputValue(), ev.name);
      await page.locator(`[data-testid="participant-chip"][data-user-id="${guest.me.id}"]`).waitFor();
      assert.equal(await page.getByTestId('manager-picker').count(), 0, 'only administrators pick managers');
      await page.goto(`${srv.base}/events/${ev.id}`);
      await page.getByTestId('checkin-link').click();
      await page.getByTestId('checkin-page').waitFor();
      assert.equal(await page.getByTestId('checkin-window').getAttribute('data-open'), 'true');
      assert.equal(await page.getByTestId('checkin-row').count(), 2);
      await page.locator('input[name="checkin_search"]').fill('Глеб');
      const row = page.locator(`[data-testid="checkin-row"][data-user-id="${guest.me.id}"]`);
      assert.equal(await page.getByTestId('checkin-row').count(), 1);
      await row.getByTestId('checkin-button').click();
      await page.getByTestId('checkin-result').waitFor();
      assert.equal(await page.getByTestId('checkin-result').getAttribute('data-kind'), 'ok');
      await eventually(async () => assert.equal(await row.getAttribute('data-checked-in'), 'true'));
      assert.equal(await page.getByTestId('checkin-count').getAttribute('data-count'), '1');
      // Nothing wider than the phone's screen.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the desk fits a phone (overflow ${overflow}px)`);
      await shot(page, 'checkin-desk');
    });

    // The participant's page now says so.
    await journey({ name: 'checkin-done', viewport: phone }, async (page) => {
      await uiLogin(page, guest.me.email, guest.password);
      await page.goto(`${srv.base}/events/${ev.id}`);
      await page.getByTestId('checked-in').waitFor();
      assert.equal(await page.getByTestId('ticket').count(), 0, 'no ticket once checked in');
      await shot(page, 'checkin-participant');
    });

    // The administrators' analytics: came / registered for the event.
    await journey({ name: 'checkin-analytics' }, async (page) => {
      await uiLogin(page, ADMIN.email, ADMIN.password);
      await page.goto(`${srv.base}/admin/analytics`);
      const row = page.locator(`[data-testid="attendance-table"] tr[data-event-id="${ev.id}"]`);
      await row.waitFor();
      assert.match(await row.innerText(), /1 \/ 2/);
      await page.getByTestId('no-show-rate').waitFor();
    });
  });
});
