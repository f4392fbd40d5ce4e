// Starts the real built binary on a free loopback port with a temp data dir and the demo workspace, and drives
// Debian's Chromium with playwright-core. Every page is watched: a request to a non-local host, a CSP violation
// or an uncaught page error fails the test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const shotsDir = path.join(here, 'screenshots');
const axeSource = readFileSync(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// startServer starts a new server with a fresh data dir; with opts.dir and opts.owner it starts again on an
// existing one (the owner's password is printed only on the first start).
export async function startServer(opts = {}) {
  const bin = process.env.PLAYGRAM_BIN || path.join(root, 'bin/playgram');
  const dir = opts.dir || mkdtempSync(path.join(tmpdir(), 'playgram-ui-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir], {
    env: { ...process.env, PLAYGRAM_NO_DEMO: '0', PLAYGRAM_PUBLIC_URL: base, PLAYGRAM_OUTBOUND_ALLOW: '127.0.0.0/8', TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 30000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error('playgram exited:\n' + out);
    try { if ((await fetch(base + '/api/health')).ok && (opts.owner || /demo owner/.test(out))) break; } catch {}
    if (Date.now() > deadline) throw new Error('playgram did not start:\n' + out);
    await new Promise((r) => setTimeout(r, 150));
  }
  const owner = out.match(/demo owner (\S+)\s+password (\S+)/);
  const su = out.match(/superuser (\S+)\s+password (\S+)/);
  const server = {
    base, proc, dir,
    owner: opts.owner || { email: owner[1], password: owner[2] },
    superuser: su ? { email: su[1], password: su[2] } : null,
    async stop({ keep = false } = {}) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
  bind(server);
  const auth = await server.request('POST', '/api/collections/users/auth-with-password', { identity: server.owner.email, password: server.owner.password }, '');
  server.token = auth.token;
  server.user = auth.record;
  return server;
}

// request calls the server as the demo owner (or with the given token) and returns the JSON body; non-2xx throws.
export function bind(server) {
  server.request = async (method, p, body, token = server.token) => {
    const res = await fetch(server.base + p, {
      method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) { const e = new Error(`${method} ${p}: ${res.status} ${text}`); e.status = res.status; e.data = data; throw e; }
    return data;
  };
  return server;
}

export async function launch() {
  // playwright-core gives chromium.launch a fresh, empty profile directory of its own (--user-data-dir).
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, TZ: 'UTC' },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  return browser;
}

const localHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

// newPage opens a page with the guard: every request must stay on loopback; CSP violations and page errors are
// collected, and check() throws when there were any.
export async function newPage(browser, { width = 1280, height = 900, theme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: theme, timezoneId: 'UTC', locale: 'en-GB' });
  const page = await context.newPage();
  const problems = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:') return;
    if (!localHosts.has(u.hostname)) problems.push(`request to a non-local host: ${req.url()}`);
  });
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.check = () => { if (problems.length) throw new Error(problems.join('\n')); };
  page.closeAll = () => context.close();
  return page;
}

export async function signIn(page, server) {
  await page.goto(server.base + '/');
  await page.getByLabel('Email').fill(server.owner.email);
  await page.getByLabel('Password').fill(server.owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

// axe runs axe-core (WCAG 2.0/2.1 A and AA) in the page; page.evaluate is not subject to the page's CSP.
export async function axe(page) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  return res.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ` + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    '));
}

export async function shot(page, name) {
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, name + '.png'), fullPage: true });
}

// seedBookings gives the demo workspace a helper working 09:00–17:00 UTC every day and two bookings next
// Tuesday at 10:00 and 14:00, so the calendar has something to move.
export async function seedBookings(server) {
  const r = server.request;
  const tools = await r('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='booking'")}`);
  const tool = tools.items[0];
  const ws = server.user.workspace;
  const helper = await r('POST', '/api/collections/helpers/records', { workspace: ws, name: 'Ana', timezone: 'UTC', active: true, tools: [tool.id] });
  for (let wd = 1; wd <= 7; wd++) {
    await r('POST', '/api/collections/availability/records', { workspace: ws, helper: helper.id, weekday: wd, start: '09:00', end: '17:00' });
  }
  const now = new Date();
  const monday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7) + 7));
  const at = (h) => new Date(monday.getTime() + 86400000 + h * 3600000); // Tuesday next week
  const person = (name, email) => r('POST', '/api/collections/contacts/records', { workspace: ws, name, email, source: 'manual' });
  const bea = await person('Bea Customer', 'bea@example.com');
  const carl = await person('Carl Customer', 'carl@example.com');
  const a = await r('POST', '/api/v1/bookings', { tool: tool.id, helper: helper.id, contact: bea.id, start: at(10).toISOString(), name: 'Bea Customer', email: 'bea@example.com' });
  const b = await r('POST', '/api/v1/bookings', { tool: tool.id, helper: helper.id, contact: carl.id, start: at(14).toISOString(), name: 'Carl Customer', email: 'carl@example.com' });
  return { tool, helper, a: a.booking || a, b: b.booking || b, at };
}

// startFakeManychat runs `playgram fake-manychat` (internal/fakes/manychat with a demo page) on a free loopback
// port; give its url to a server as MANYCHAT_BASE_URL. {url, token, stop()}.
export async function startFakeManychat() {
  const bin = process.env.PLAYGRAM_BIN || path.join(root, 'bin/playgram');
  const dir = mkdtempSync(path.join(tmpdir(), 'playgram-fakemc-'));
  const port = await freePort();
  const proc = spawn(bin, ['fake-manychat', '--addr', `127.0.0.1:${port}`, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 15000;
  while (!/token (\S+)/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) { proc.kill(); throw new Error('fake Manychat did not start:\n' + out); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    token: out.match(/token (\S+)/)[1],
    async stop() {
      proc.kill('SIGTERM');
      if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// asSuperuser signs in as the server's superuser and returns a request function like server.request.
export async function asSuperuser(server) {
  const auth = await server.request('POST', '/api/collections/_superusers/auth-with-password', { identity: server.superuser.email, password: server.superuser.password }, '');
  return (method, p, body) => server.request(method, p, body, auth.token);
}

// withPage runs fn on a fresh guarded page (see newPage) and fails on any non-local request, CSP violation or page
// error it saw; the page's context is closed either way.
export async function withPage(browser, opts, fn) {
  const page = await newPage(browser, opts);
  try { await fn(page); page.check(); } finally { await page.closeAll(); }
}
