// Browser tests of the dashboard: the real binary, Debian's Chromium, playwright-core and axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, signIn, axe, shot, seedBookings } from './harness.js';
import { startMailbox, useMailbox } from './mailbox.js';

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
    // The scan is made once the page listens, so the list and the announcement can only come from realtime.
    await page.locator('section.scans[data-live="true"][aria-busy="false"]').waitFor();
    await server.request('POST', '/api/v1/qr/scan', { code, consume: true });
    await page.getByTestId('scans').getByText('valid').waitFor({ timeout: 10000 });
    const row = page.getByTestId('qr-table').getByRole('row', { name: new RegExp(code) });
    await row.getByRole('cell', { name: /^1( \/ \d+)?$/ }).waitFor({ timeout: 10000 });
    await page.getByTestId('live').filter({ hasText: `New scan of ${code}` }).waitFor();
  });
});

test('Home updates its feed and KPIs live from the event log', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    const scansToday = page.getByTestId('kpis').locator('.kpi', { hasText: 'Scans today' }).locator('strong');
    await scansToday.waitFor();
    const before = Number(await scansToday.textContent());
    await page.locator('section[data-live="true"]').waitFor();
    const tools = await server.request('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='qr'")}`);
    const qr = await server.request('POST', '/api/v1/qr', { tool: tools.items[0].id, label: 'home feed' });
    await page.getByTestId('feed').getByText(`qr created — ${qr.code}`).waitFor({ timeout: 10000 });
    await server.request('POST', '/api/v1/qr/scan', { code: qr.code });
    await page.getByTestId('feed').getByText(new RegExp(`qr scanned.*${qr.code}|${qr.code}`)).first().waitFor();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=kpis] .kpi strong').textContent) === n, before + 1, { timeout: 10000 });
    await page.getByTestId('live').filter({ hasText: 'New activity' }).waitFor();
    // The chart's numbers are also available as a table.
    await page.getByRole('button', { name: 'View as table' }).click();
    await page.getByRole('columnheader', { name: 'Scans' }).waitFor();
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
  ['home', 'Home'], ['qr', 'QR codes'], ['bookings', 'Bookings'], ['contacts', 'Contacts'], ['inbox', 'Inbox'],
  ['webhooks', 'Webhooks'], ['tools', 'Tools'], ['keys', 'API keys'], ['exports', 'Exports'], ['settings', 'Settings'],
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

test('signs in with an emailed code, and a member with MFA passes the second step', async () => {
  const mailbox = await startMailbox();
  try {
    await useMailbox(server, mailbox);
    // OTP alone: the demo owner.
    await withPage({}, async (page) => {
      await page.goto(server.base + '/');
      await page.getByRole('button', { name: 'Email code' }).click();
      await page.getByLabel('Email').fill(server.owner.email);
      const seen = mailbox.messages.length;
      await page.getByRole('button', { name: 'Email me a code' }).click();
      await page.getByLabel('One-time code').waitFor();
      await page.getByLabel('One-time code').fill(await mailbox.code(server.owner.email, seen));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Home' }).waitFor();
    });
    // Password, then the MFA step, for a viewer who turned MFA on; a viewer sees no write controls.
    const email = 'mfa-viewer@example.com';
    const password = 'viewer-password-123';
    await server.request('POST', '/api/collections/users/records', {
      email, password, passwordConfirm: password, name: 'Vera Viewer', workspace: server.user.workspace,
      role: 'viewer', mfa_enabled: true, verified: true,
    }, server.suToken);
    await withPage({}, async (page) => {
      await page.goto(server.base + '/');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      const seen = mailbox.messages.length;
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('Second step').waitFor();
      await page.getByLabel('One-time code').fill(await mailbox.code(email, seen));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Home' }).waitFor();
      await page.getByRole('link', { name: 'QR codes' }).click();
      await page.getByRole('heading', { name: 'QR codes', level: 1 }).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'New QR code' }).count(), 0, 'a viewer sees no create form');
      assert.equal(await page.getByRole('button', { name: 'Revoke' }).count(), 0, 'a viewer sees no revoke buttons');
    });
  } finally {
    await mailbox.close();
  }
});

test('tools show the server field errors inline, save versions and restore one', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.getByRole('link', { name: 'Tools' }).click();
    await page.getByRole('button', { name: 'Appointments' }).click();
    const duration = page.getByLabel('Duration (min)');
    await duration.fill('2');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByTestId('error-duration_minutes').waitFor();
    assert.equal(await duration.getAttribute('aria-invalid'), 'true');
    await duration.fill('60');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.locator('.toast').getByText(/Appointments saved as version 2/).waitFor();
    assert.equal(await page.getByTestId('error-duration_minutes').count(), 0);
    await page.getByRole('button', { name: 'Restore v1' }).click();
    await page.locator('.toast').getByText(/Restored version 1 as version 3/).waitFor();
    assert.equal(await page.getByLabel('Duration (min)').inputValue(), '45');
  });
});

test('API keys: the secret is shown once, rotate shows a new one, revoke stops it', async () => {
  await withPage({}, async (page) => {
    page.on('dialog', (d) => d.accept());
    await signIn(page, server);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Name').fill('Counter tablet');
    await page.getByRole('button', { name: 'Create key' }).click();
    const first = (await page.getByTestId('secret').textContent()).trim();
    assert.match(first, /^pgk_/);
    const ping = (key) => fetch(server.base + '/api/v1/ping', { headers: { Authorization: 'Bearer ' + key } }).then((r) => r.status);
    assert.equal(await ping(first), 200);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    assert.equal(await page.getByTestId('secret').count(), 0, 'the secret is gone once dismissed');
    const row = page.getByRole('row', { name: /Counter tablet/ });
    await row.getByRole('button', { name: 'Rotate' }).click();
    const second = (await page.getByTestId('secret').textContent()).trim();
    assert.notEqual(second, first);
    assert.equal(await ping(second), 200);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('cell', { name: 'revoked' }).waitFor();
    assert.equal(await ping(second), 401);
  });
});

test('webhooks: the secret is shown once and a delivery can be replayed', async () => {
  const { createServer } = await import('node:http');
  let received = 0;
  const receiver = createServer((req, res) => { received++; req.resume(); req.on('end', () => res.end('ok')); });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    await withPage({}, async (page) => {
      await signIn(page, server);
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByLabel('URL').fill(`http://127.0.0.1:${receiver.address().port}/hook`);
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      assert.ok((await page.getByTestId('secret').textContent()).trim().length >= 16);
      await page.getByRole('button', { name: 'I have saved it' }).click();
      await page.getByRole('cell', { name: /127\.0\.0\.1/ }).first().waitFor();
      // Something happens in the workspace: a new QR code is an event, delivered to the endpoint.
      const tools = await server.request('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='qr'")}`);
      await server.request('POST', '/api/v1/qr', { tool: tools.items[0].id, label: 'webhook test' });
      const deadline = Date.now() + 20000;
      while (!(await page.getByRole('cell', { name: 'succeeded' }).count())) {
        if (Date.now() > deadline) throw new Error(`no succeeded delivery (receiver got ${received})`);
        await page.waitForTimeout(500);
        await page.getByLabel('Status').selectOption('succeeded');
      }
      const before = received;
      await page.getByRole('button', { name: 'Replay' }).first().click();
      await page.locator('.toast').getByText('Replay queued').waitFor();
      while (received === before) {
        if (Date.now() > deadline + 10000) throw new Error('the replay never arrived');
        await page.waitForTimeout(200);
      }
      await page.getByRole('link', { name: 'Home' }).click();
      await page.getByTestId('kpis').locator('.kpi', { hasText: 'Webhook success this week' }).getByText('100%').waitFor();
    });
  } finally {
    receiver.close();
  }
});

test('contacts: search finds a contact and opens its page', async () => {
  const c = await server.request('POST', '/api/collections/contacts/records', {
    workspace: server.user.workspace, name: 'Dora Example', ig_username: 'dora.example', email: 'dora@example.com', source: 'manual', local_tags: ['vip'],
  });
  await withPage({ width: 375, height: 800 }, async (page) => {
    await signIn(page, server);
    await page.goto(server.base + '/#/contacts');
    await page.getByLabel('Search contacts').fill('Dora');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('link', { name: 'Dora Example' }).click();
    await page.getByRole('heading', { name: 'Dora Example', level: 1 }).waitFor();
    assert.ok(page.url().endsWith('#/contacts/' + c.id));
    await page.getByText('@dora.example').waitFor();
    await page.getByText('vip').waitFor();
  });
});
