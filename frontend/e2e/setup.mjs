// Starts the real server (AFISHA_BIN) on a free loopback port with a temp data
// dir, and offers API helpers for seeding and a browser launcher.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const FRONTEND = resolve(here, '..');
export const SHOTS = resolve(FRONTEND, '../target/e2e-screenshots');
export const ADMIN = { email: 'admin@example.com', password: 'admin-password-1', name: 'Admin' };

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startServer({ env: extraEnv = {} } = {}) {
  const bin = resolve(FRONTEND, process.env.AFISHA_BIN ?? '../target/debug/afisha');
  if (!existsSync(bin)) throw new Error(`server binary not found: ${bin} (set AFISHA_BIN)`);
  const dataDir = mkdtempSync(join(tmpdir(), 'afisha-e2e-'));
  const env = {
    ...process.env,
    AFISHA_EMAIL__BACKEND: 'file',
    AFISHA_AUTH__ARGON2__MEMORY_KIB: '1024',
    AFISHA_AUTH__ARGON2__ITERATIONS: '1',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    ...extraEnv,
  };
  const created = spawnSync(bin, ['user', 'create', '--data-dir', dataDir, '--email', ADMIN.email, '--name', ADMIN.name, '--admin', '--password-stdin'], {
    env,
    input: `${ADMIN.password}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (created.status !== 0) throw new Error(`user create failed (${created.status}): ${created.stderr || created.stdout}`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logPath = join(dataDir, 'server.log');
  const log = openSync(logPath, 'a');
  const child = spawn(bin, ['serve', '--data-dir', dataDir, '--bind', `127.0.0.1:${port}`, '--debug'], { env, stdio: ['ignore', log, log] });
  let exited = null;
  child.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited !== null) throw new Error(`server exited with ${exited}:\n${readFileSync(logPath, 'utf8').slice(-3000)}`);
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${readFileSync(logPath, 'utf8').slice(-3000)}`);
    await sleep(200);
  }
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && exited === null; i++) await sleep(100);
      if (exited === null) child.kill('SIGKILL');
    }
    if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`data dir kept: ${dataDir}`);
  };
  return { base, dataDir, logPath, stop };
}

export class ApiClient {
  constructor(base, session = null) {
    this.base = base;
    this.session = session;
  }
  async req(method, path, body, { raw = false, expect } = {}) {
    const headers = {};
    if (this.session) {
      headers['X-Login-Session-Uid'] = this.session.login_session_uid;
      headers['X-Login-Session-Token'] = this.session.login_session_token;
    }
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.base + path, { method, headers, body: payload });
    if (raw) return res;
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (expect ? res.status !== expect : !res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return data;
  }
  get(p) {
    return this.req('GET', p);
  }
  post(p, b) {
    return this.req('POST', p, b);
  }
  put(p, b) {
    return this.req('PUT', p, b);
  }
}

export async function loginApi(base, email, password) {
  const session = await new ApiClient(base).post('/api/login', { email, password });
  const c = new ApiClient(base, session);
  c.me = await c.get('/api/login');
  return c;
}

function decodeMime(text) {
  // Decode base64 and quoted-printable bodies well enough to find a code.
  const out = [text];
  const b64 = text.split(/\r?\n\r?\n/).slice(1).join('\n');
  for (const block of b64.split(/--[^\r\n]+/)) {
    const m = /Content-Transfer-Encoding:\s*base64\s*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/i.exec(block);
    if (m) out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64').toString('utf8'));
  }
  if (/quoted-printable/i.test(text)) {
    out.push(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))));
  }
  if (out.length === 1 && /^[A-Za-z0-9+/=\r\n]+$/m.test(b64)) {
    try {
      out.push(Buffer.from(b64.replace(/\s+/g, ''), 'base64').toString('utf8'));
    } catch {
      /* not base64 */
    }
  }
  return out.join('\n');
}

/** Wait for the verification email to `email` in <data>/mail and return the 6-digit code. */
export async function codeFromMail(dataDir, email, { timeout = 20_000, after = 0 } = {}) {
  const dir = join(dataDir, 'mail');
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (existsSync(dir)) {
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.eml'))
        .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
        .filter((x) => x.t >= after)
        .sort((a, b) => b.t - a.t);
      for (const { f } of files) {
        const text = readFileSync(join(dir, f), 'utf8');
        const head = text.split(/\r?\n\r?\n/)[0];
        if (!head.toLowerCase().includes(email.toLowerCase())) continue;
        const body = decodeMime(text);
        const m = /(?<![\d#])(\d{6})(?!\d)/.exec(body.split(/\r?\n\r?\n/).slice(1).join('\n')) ?? /(?<![\d#])(\d{6})(?!\d)/.exec(body);
        if (m) return parseInt(m[1], 10);
      }
    }
    await sleep(200);
  }
  throw new Error(`no verification email for ${email} in ${dir}`);
}

/**
 * The code for a pending registration: from the emailed .eml file when the
 * server writes one, else (mail delivery not ready) from the debug route.
 */
export async function verificationCode(srv, email, token, { after = 0, mailTimeout = 10_000 } = {}) {
  try {
    return { code: await codeFromMail(srv.dataDir, email, { after, timeout: mailTimeout }), source: 'email' };
  } catch (e) {
    const d = await new ApiClient(srv.base).get('/api/debug/intercept-verification-code');
    if (d.token !== token) throw e;
    console.log(`# note: no .eml for ${email} after ${mailTimeout} ms; used /api/debug/intercept-verification-code`);
    return { code: d.code, source: 'debug-route' };
  }
}

/** Register and verify a user through the API; returns a logged-in client. */
export async function createUser(srv, { email, name, password = 'user-password-1' }) {
  const anon = new ApiClient(srv.base);
  const { token } = await anon.post('/api/register', { email, password, full_name: name });
  let code;
  try {
    const d = await anon.get('/api/debug/intercept-verification-code');
    if (d.token === token) code = d.code;
  } catch {
    /* fall back to the mail file */
  }
  code ??= await codeFromMail(srv.dataDir, email);
  await anon.req('POST', '/api/register/verification', { token, code }, { expect: 201 });
  const c = await loginApi(srv.base, email, password);
  c.password = password;
  return c;
}

export async function uploadPng(client, png, name = 'cover.png') {
  const fd = new FormData();
  fd.append('file', new Blob([png], { type: 'image/png' }), name);
  return (await client.req('POST', '/api/files', fd, { expect: 201 })).url;
}

export function inDays(days, hour = 18, minute = 0) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  d.setUTCHours(hour, minute, 0, 0);
  return d;
}

/** YYYY-MM-DDTHH:mm for <input type="datetime-local"> (the browser runs in UTC+3, but only "in the future" matters). */
export function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

export async function launch() {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

/** A fresh browser context that records CSP violations, page errors and any request leaving the origin. */
export async function newPage(browser, base, { viewport = { width: 1280, height: 860 }, locale = 'ru-RU' } = {}) {
  const context = await browser.newContext({ viewport, locale, timezoneId: 'Europe/Moscow', acceptDownloads: true, deviceScaleFactor: 1 });
  const problems = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    problems.push(`request left the origin: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.problems = problems;
  page.base = base;
  return { context, page };
}

/** Run one journey in its own browser context; fail on CSP violations, page errors or off-origin requests. */
export async function runJourney(browser, base, opts, fn) {
  const { context, page } = await newPage(browser, base, opts);
  try {
    await fn(page, context);
    if (page.problems.length) throw new Error(`CSP violations, page errors or off-origin requests: ${page.problems.join('; ')}`);
  } catch (e) {
    await shot(page, `FAILED-${opts?.name ?? 'journey'}`).catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Retry an assertion until it passes (UI updates are asynchronous). */
export async function eventually(fn, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last;
    await sleep(100);
  }
}

export async function uiLogin(page, email, password) {
  await page.goto(`${page.base}/login`);
  await page.getByTestId('field-email').fill(email);
  await page.getByTestId('field-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/\/dashboard$/);
  await page.getByTestId('dashboard-page').waitFor();
}

import { coverPng } from './png.mjs';
/** A deterministic cover image for a given event name. */
export function coverPngFor(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return coverPng(h % 997);
}
