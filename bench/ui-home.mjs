// Home interactive time with a large workspace: 100,000 contacts and 1,000,000 events in the demo workspace.
// Starts the built binary once (migrations, demo workspace), stops it, inserts the rows with the sqlite3 CLI,
// starts it again and times, in headless Chromium, a signed-in load of #/home until the KPIs show numbers and the
// activity feed is filled. Prints each run and the median. Needs: make build, sqlite3, tests/browser/node_modules.
// Usage: node bench/ui-home.mjs [contacts] [events] [runs]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, launch } from '../tests/browser/harness.js';

const [contacts = 100000, events = 1000000, runs = 5] = process.argv.slice(2).map(Number);
let server = await startServer();
const { owner, dir } = server;
const ws = server.user.workspace;
await server.stop({ keep: true });

const t0 = Date.now();
const db = path.join(dir, 'data.db');
const sql = `
PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO contacts (workspace, name, ig_username, source, created, updated)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${contacts})
  SELECT '${ws}', 'Contact ' || i, 'user' || i, 'manychat',
    strftime('%Y-%m-%d %H:%M:%fZ', 'now', '-' || (i % 90) || ' days'), strftime('%Y-%m-%d %H:%M:%fZ', 'now') FROM n;
INSERT INTO events (workspace, type, subject_collection, data, ts, created, updated)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${events})
  SELECT '${ws}', CASE i % 3 WHEN 0 THEN 'qr.scanned' WHEN 1 THEN 'contact.created' ELSE 'booking.created' END, '',
    '{"code":"BENCH-' || i || '"}', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - i * 1000,
    strftime('%Y-%m-%d %H:%M:%fZ', 'now', '-' || i || ' seconds'), strftime('%Y-%m-%d %H:%M:%fZ', 'now') FROM n;
COMMIT;`;
execFileSync('sqlite3', [db], { input: sql });
console.log(`inserted ${contacts} contacts and ${events} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

server = await startServer({ dir, owner });
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.base + '/');
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill(owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = Date.now();
    await page.goto(server.base + '/#/home?r=' + i, { waitUntil: 'commit' });
    await page.reload({ waitUntil: 'commit' });
    await page.waitForFunction(() => {
      const cards = document.querySelectorAll('[data-testid=kpis] .kpi');
      const k = document.querySelectorAll('[data-testid=kpis] .kpi strong');
      return cards.length > 0 && k.length === cards.length && [...k].every((x) => x.textContent !== '') && document.querySelectorAll('[data-testid=feed] li').length >= 20;
    }, null, { timeout: 60000, polling: 10 });
    times.push(Date.now() - start);
    const slow = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/'))
      .sort((a, b) => b.duration - a.duration).slice(0, 2).map((e) => `${Math.round(e.duration)} ms ${decodeURIComponent(new URL(e.name).pathname + new URL(e.name).search).slice(0, 70)}`));
    console.log(`run ${i + 1}: Home interactive in ${times.at(-1)} ms; slowest: ${slow.join('; ')}`);
  }
  times.sort((a, b) => a - b);
  const kpis = await page.$$eval('[data-testid=kpis] .kpi', (els) => els.map((e) => e.textContent.trim().replace(/\s+/g, ' ')));
  console.log(`KPIs: ${kpis.join(' | ')}`);
  console.log(`median Home interactive: ${times[Math.floor(times.length / 2)]} ms over ${runs} loads (${contacts} contacts, ${events} events)`);
} finally {
  await browser.close();
  await server.stop();
}
