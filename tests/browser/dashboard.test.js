// Browser tests of the dashboard: the real binary, Debian's Chromium, playwright-core and axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, signIn, axe, shot, seedBookings } from './harness.js';

let server, browser;
before(async () => { server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.stop(); });

// page runs fn on a fresh guarded page and fails on any non-local request, CSP violation or page error.
async function withPage(opts, fn) {
  const page = await newPage(browser, opts);
  try { await fn(page); page.check(); } finally { await page.closeAll(); }
}

test('signs in with a password and signs out', async () => {
  await withPage({}, async (page) => {
    await page.goto(server.base + '/');
    await page.getByLabel('Email').fill(server.owner.email);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(server.owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.reload(); // the session is kept
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Playgram' }).waitFor();
  });
});

test('serves the dashboard with a strict CSP', async () => {
  const res = await fetch(server.base + '/');
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  assert.match(await res.text(), /<div id="app">/, 'the built dashboard, not the placeholder');
});

test('creates a QR code and sees its scan appear live', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.getByRole('link', { name: 'QR codes' }).click();
    await page.getByLabel('Label').fill('Counter flyer');
    await page.getByRole('button', { name: 'Create' }).click();
    const code = (await page.getByTestId('created-code').textContent()).trim();
    await page.getByRole('heading', { name: `Scans of ${code}` }).waitFor();
    await page.getByText('No scans yet.').waitFor();
    await server.request('POST', '/api/v1/qr/scan', { code, consume: true });
    await page.getByTestId('scans').getByText('valid').waitFor({ timeout: 10000 });
    const row = page.getByTestId('qr-table').getByRole('row', { name: new RegExp(code) });
    await row.getByRole('cell', { name: /^1( \/ \d+)?$/ }).waitFor({ timeout: 10000 });
    await page.getByTestId('live').filter({ hasText: `New scan of ${code}` }).waitFor();
  });
});

test('drags a booking to a new time, undoes it, and a refused move rolls back', async () => {
  const seeded = await seedBookings(server);
  // Tall enough that the whole 08:00–20:00 grid is on screen: HTML5 drag and drop does not scroll mid-drag.
  await withPage({ height: 1400 }, async (page) => {
    await signIn(page, server);
    await page.getByRole('link', { name: 'Bookings' }).click();
    await page.getByRole('button', { name: 'Next week →' }).click();
    const card = page.locator(`[data-booking="${seeded.a.id}"]`);
    await card.waitFor();
    const slot = (h) => page.locator(`[data-slot="${seeded.at(h).toISOString()}"]`);
    await card.dragTo(slot(11));
    await slot(11).locator(`[data-booking="${seeded.a.id}"]`).waitFor();
    await page.locator('.toast').getByText(/Moved Bea Customer/).waitFor();
    let saved = await server.request('GET', `/api/collections/bookings/records/${seeded.a.id}`);
    assert.equal(new Date(saved.start.replace(' ', 'T')).toISOString(), seeded.at(11).toISOString());

    await page.getByRole('button', { name: 'Undo' }).click();
    await slot(10).locator(`[data-booking="${seeded.a.id}"]`).waitFor();
    await page.waitForFunction(() => /Moved Bea Customer to/.test(document.querySelector('[data-testid=live]').textContent));

    // 19:00 is outside the helper's hours: the server refuses and the card goes back to 10:00.
    await slot(10).locator(`[data-booking="${seeded.a.id}"]`).dragTo(slot(19));
    await page.locator('.toast').getByText(/Could not move Bea Customer/).waitFor();
    await slot(10).locator(`[data-booking="${seeded.a.id}"]`).waitFor();
    saved = await server.request('GET', `/api/collections/bookings/records/${seeded.a.id}`);
    assert.equal(new Date(saved.start.replace(' ', 'T')).toISOString(), seeded.at(10).toISOString());

    // The keyboard way: the Reschedule… dialog.
    await page.getByRole('button', { name: 'Reschedule Carl Customer…' }).click();
    await page.getByLabel('Time').fill('15:00');
    await page.getByRole('button', { name: 'Move' }).click();
    await slot(15).locator(`[data-booking="${seeded.b.id}"]`).waitFor();
  });
});

test('Cmd/Ctrl-K palette navigates and ? opens the shortcuts', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.keyboard.press('Control+k');
    const palette = page.getByRole('dialog', { name: 'Command palette' });
    await palette.waitFor();
    await page.keyboard.type('webhooks');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    assert.equal(await palette.count(), 0);
    await page.keyboard.press('?');
    await page.getByRole('heading', { name: 'Keyboard shortcuts' }).waitFor();
  });
});

test('switches theme without a flash and remembers it', async () => {
  await withPage({ theme: 'dark' }, async (page) => {
    await signIn(page, server);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'system default');
    await page.getByTestId('theme-toggle').click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    // On reload the theme is set by /theme.js before the first paint: check it at DOMContentLoaded.
    await page.reload({ waitUntil: 'domcontentloaded' });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(246, 246, 248)');
  });
});

const screens = [
  ['home', 'Home'], ['qr', 'QR codes'], ['bookings', 'Bookings'], ['contacts', 'Contacts'],
  ['webhooks', 'Webhooks'], ['tools', 'Tools'], ['keys', 'API keys'],
];
const looks = [
  { name: 'light', theme: 'light', width: 1280 },
  { name: 'dark', theme: 'dark', width: 1280 },
  { name: 'phone', theme: 'light', width: 375 },
  { name: 'phone-dark', theme: 'dark', width: 375 },
];

for (const look of looks) {
  test(`every screen passes axe (WCAG 2.1 AA) — ${look.name}`, async () => {
    await withPage({ theme: look.theme, width: look.width, height: 800 }, async (page) => {
      await page.goto(server.base + '/');
      await page.getByRole('heading', { name: 'Sign in to Playgram' }).waitFor();
      const found = [];
      const signinViolations = await axe(page);
      if (signinViolations.length) found.push(`sign-in:\n  ${signinViolations.join('\n  ')}`);
      await shot(page, `signin-${look.name}`);
      await signIn(page, server);
      for (const [route, heading] of screens) {
        await page.goto(`${server.base}/#/${route}`);
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        await page.waitForLoadState('networkidle').catch(() => {});
        await page.waitForSelector('.skeleton', { state: 'detached', timeout: 5000 }).catch(() => {});
        const v = await axe(page);
        if (v.length) found.push(`${route}:\n  ${v.join('\n  ')}`);
        if (look.width < 400) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          if (overflow > 0) found.push(`${route}: the page is ${overflow}px wider than a 375px screen`);
        }
        await shot(page, `${route}-${look.name}`);
      }
      assert.deepEqual(found, [], found.join('\n'));
    });
  });
}
