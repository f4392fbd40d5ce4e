// Browser tests of the QR batch and code detail (charts, offline world map), the webhook playground and the tool
// version diff: the real binary, Debian's Chromium, playwright-core and axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startServer, launch, signIn, axe, shot, withPage } from './harness.js';

let server, browser, qrTool;
const seen = {}; // what the feature tests made, for the axe passes at the end
before(async () => {
  server = await startServer();
  browser = await launch();
  qrTool = (await server.request('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='qr'")}`)).items[0];
});
after(async () => { await browser?.close(); await server?.stop(); });

const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const android = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
function scan(body, ua) {
  return fetch(server.base + '/api/v1/qr/scan', {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Authorization: server.token, 'User-Agent': ua },
  }).then((r) => r.json());
}

async function saved(page, click) {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

async function noViolations(page, what) {
  const v = await axe(page);
  assert.deepEqual(v, [], `${what}:\n  ${v.join('\n  ')}`);
}

test('QR batch: generated in the background, then its ZIP, PDF and CSV download', async () => {
  await withPage(browser, {}, async (page) => {
    await signIn(page, server);
    await page.goto(server.base + '/#/qr');
    await page.getByLabel('Number of codes').fill('3');
    await page.getByLabel('Batch name').fill('Spring flyers');
    await page.getByLabel('Uses per code').fill('2');
    await page.getByRole('button', { name: 'Generate batch' }).click();
    await page.locator('.toast').getByText('Batch of 3 codes queued').waitFor();
    const row = page.getByTestId('batches').getByRole('row', { name: /Spring flyers/ });
    await row.locator('[data-status="done"]').or(page.locator('tr[data-status="done"]', { hasText: 'Spring flyers' })).first().waitFor({ timeout: 30000 });
    await row.getByText('3 / 3 · done').waitFor();
    await page.locator('.toast').getByText('Batch of 3 codes is ready to download').waitFor();
    // The codes themselves are in the table, with the batch's label and uses.
    assert.equal(await page.getByTestId('qr-table').getByRole('row', { name: /Spring flyers/ }).count(), 3);

    const zip = await saved(page, () => row.getByRole('button', { name: 'ZIP' }).click());
    assert.match(zip.name, /\.zip$/);
    assert.equal(zip.bytes.subarray(0, 4).toString('binary'), 'PK\x03\x04', 'a ZIP archive');
    const names = zip.bytes.toString('latin1');
    assert.equal((names.match(/png\/[^/]+?\.png/g) || []).length >= 3, true, 'three PNG entries');
    assert.ok(names.includes('manifest.csv'));

    const pdf = await saved(page, () => row.getByRole('button', { name: /^PDF/ }).click());
    assert.match(pdf.name, /\.pdf$/);
    assert.equal(pdf.bytes.subarray(0, 5).toString(), '%PDF-');
    assert.ok(pdf.bytes.length > 1000);

    const csv = await saved(page, () => row.getByRole('button', { name: 'CSV' }).click());
    const lines = csv.bytes.toString('utf8').replace(/^\uFEFF/, '').trim().split(/\r\n/);
    assert.match(lines[0], /^code,status,uses,max_uses/);
    assert.equal(lines.length, 4, 'a header and the three codes');
    for (const l of lines.slice(1)) assert.match(l, /,active,0,2,.*Spring flyers/);
  });
});

test('QR detail: located scans are points on the offline world map, with the device split as tables', async () => {
  const code = await server.request('POST', '/api/v1/qr', { tool: qrTool.id, label: 'Map test', max_uses: 0 });
  seen.code = code;
  await scan({ code: code.code, lat: 52.52, lng: 13.405 }, iphone); // Berlin
  await scan({ code: code.code, lat: 48.14, lng: 11.58 }, iphone); // Munich
  await scan({ code: code.code, lat: 40.71, lng: -74.0 }, iphone); // New York
  await scan({ code: code.code }, android); // no location
  await withPage(browser, {}, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/qr/${code.id}`);
    await page.getByRole('heading', { name: `Scans of ${code.code}` }).waitFor();
    const map = page.getByTestId('scan-map');
    const dots = map.locator('svg circle');
    await dots.nth(2).waitFor();
    assert.equal(await dots.count(), 3, 'one point per located scan');
    assert.ok(await map.locator('svg path').count() > 150, 'the country shapes are drawn');
    const label = await map.getByRole('img').getAttribute('aria-label');
    assert.match(label, /3 located scans in Germany 2, United States of America 1/);
    // Germany is shaded as the busiest country, the United States lighter.
    const [de, us] = await page.evaluate(() => {
      const svg = document.querySelector('[data-testid=scan-map] svg');
      return [svg.querySelectorAll('path.s4').length, svg.querySelectorAll('path.s2, path.s3').length];
    });
    assert.ok(de >= 1 && us >= 1, `shaded countries: ${de} busiest, ${us} lighter`);

    // The device split, as tables.
    const os = page.getByTestId('chart-os');
    await os.getByRole('button', { name: 'View as table' }).click();
    await os.getByRole('row', { name: 'iOS 3' }).waitFor();
    await os.getByRole('row', { name: 'Android 1' }).waitFor();
    const device = page.getByTestId('chart-device');
    await device.getByRole('button', { name: 'View as table' }).click();
    await device.getByRole('row', { name: 'mobile 4' }).waitFor();
    const br = page.getByTestId('chart-browser');
    await br.getByRole('button', { name: 'View as table' }).click();
    await br.getByRole('row', { name: 'Safari 3' }).waitFor();
    await page.getByTestId('chart-time').getByText(/No data yet/).count().then((n) => assert.equal(n, 0));

    // A new located scan arrives live: a fourth point, Japan on the map.
    await page.locator('section.scans[data-live="true"][aria-busy="false"]').waitFor();
    await scan({ code: code.code, lat: 35.68, lng: 139.69 }, iphone);
    await dots.nth(3).waitFor({ timeout: 10000 });
    await shot(page, 'qr-detail-light');
    await noViolations(page, 'QR detail with the map (light)');

    await map.getByRole('button', { name: 'View as table' }).click();
    await map.getByTestId('map-countries').getByRole('row', { name: 'Germany 2' }).waitFor();
    await map.getByTestId('map-countries').getByRole('row', { name: 'Japan 1' }).waitFor();
    await map.getByTestId('map-points').getByRole('row', { name: /52\.520 13\.405 Germany valid/ }).waitFor();
    await noViolations(page, 'QR detail as tables (light)');
  });
});

// sign makes Standard Webhooks v1 headers for body with a whsec_ secret.
function sign(secret, body, id = 'msg_test1') {
  const ts = Math.floor(Date.now() / 1000).toString();
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` };
}

test('webhook playground: a signed request sent to a bin arrives live with its signature check', async () => {
  // An endpoint whose secret the check uses; its URL is a closed loopback port and it listens to no real event.
  const ep = await server.request('POST', '/api/v1/webhooks/endpoints', { url: 'http://127.0.0.1:9/never', events: ['nothing.happens'] });
  await withPage(browser, {}, async (page) => {
    await signIn(page, server);
    await page.goto(server.base + '/#/webhooks');
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByLabel('Bin name').fill('Checkout test');
    await page.getByRole('button', { name: 'Create bin' }).click();
    await page.getByRole('heading', { name: 'Requests to Checkout test' }).waitFor();
    await page.getByText('Nothing captured yet.').waitFor();
    await page.locator('[data-testid=bin][data-live="true"]').waitFor();
    const url = await page.getByTestId('capture-url').inputValue();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/playground\/bins\/\w+\/capture$/);
    assert.equal(await page.getByLabel('Check signatures with').inputValue(), ep.id);

    const body = JSON.stringify({ type: 'order.paid', data: { order: 'A-17', amount: 42 } });
    let res = await fetch(url + '/orders', { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...sign(ep.secret, body) } });
    assert.equal(res.status, 200);
    const captures = page.getByTestId('captures');
    const good = captures.locator('li', { hasText: '/orders' });
    await good.getByTestId('verdict').getByText('✓ Signature valid (current secret)').waitFor({ timeout: 10000 });
    await page.getByTestId('live').filter({ hasText: 'Captured POST /orders' }).waitFor();
    // A forged one: signed with another secret.
    res = await fetch(url + '/forged', { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...sign('whsec_' + Buffer.from('not the secret, not at all').toString('base64'), body, 'msg_forged') } });
    assert.equal(res.status, 200);
    const forged = captures.locator('li', { hasText: '/forged' }).getByTestId('verdict');
    await forged.waitFor();
    await page.waitForFunction(() => !/Checking/.test([...document.querySelectorAll('[data-testid=verdict]')].map((e) => e.textContent).join()));
    assert.match(await forged.textContent(), /^✗ Signature invalid: /);
    // Unsigned requests say so.
    await fetch(url + '/plain?x=1', { method: 'PUT', body: 'hi' });
    await captures.locator('li', { hasText: '/plain' }).getByText('Not signed (no webhook-signature header)').waitFor({ timeout: 10000 });

    // Headers and body of the signed one.
    await good.locator('summary').click();
    await good.getByRole('row', { name: /Webhook-Id msg_test1/i }).waitFor();
    await good.getByText('"order": "A-17"').waitFor();
    await shot(page, 'playground-light');
    await noViolations(page, 'playground (light)');
  });
});

test('webhook deliveries: filtered by status, event type and endpoint', async () => {
  const { createServer } = await import('node:http');
  const receiver = createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const hook = await server.request('POST', '/api/v1/webhooks/endpoints', { url: `http://127.0.0.1:${receiver.address().port}/hook`, events: ['qr.*'] });
    await server.request('POST', '/api/v1/qr', { tool: qrTool.id, label: 'delivery filter' });
    await withPage(browser, {}, async (page) => {
      await signIn(page, server);
      await page.goto(server.base + '/#/webhooks');
      await page.getByLabel('Endpoint', { exact: true }).selectOption(hook.id);
      const rows = page.getByTestId('deliveries').getByRole('row');
      const deadline = Date.now() + 20000;
      while (!(await rows.filter({ hasText: 'qr.created' }).filter({ hasText: 'succeeded' }).count())) {
        if (Date.now() > deadline) throw new Error('no succeeded qr.created delivery to the endpoint');
        await page.waitForTimeout(400);
        await page.getByRole('button', { name: 'Refresh' }).click();
      }
      // Every row is this endpoint's; the event filter narrows to what matches.
      for (const t of await rows.allTextContents()) assert.match(t, new RegExp(`127\\.0\\.0\\.1:${receiver.address().port}`));
      await rows.filter({ hasText: 'HTTP 200' }).first().waitFor();
      await page.getByLabel('Event type').fill('booking.');
      await page.getByText('No deliveries match.').waitFor();
      await page.getByLabel('Event type').fill('qr.created');
      await rows.filter({ hasText: 'qr.created' }).first().waitFor();
    });
  } finally {
    receiver.close();
  }
});

test('tools: a version diff names the changed key, then restores that version', async () => {
  const tools = await server.request('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='booking'")}`);
  const booking = tools.items[0];
  seen.booking = booking;
  await server.request('PATCH', `/api/collections/tools/records/${booking.id}`, { config: { ...booking.config, duration_minutes: 60, seats: 3 } });
  await withPage(browser, {}, async (page) => {
    await signIn(page, server);
    await page.goto(server.base + '/#/tools');
    await page.getByRole('button', { name: booking.name }).click();
    await page.getByRole('button', { name: 'Compare v1' }).click();
    const diff = page.getByTestId('diff');
    await diff.getByRole('heading', { name: 'v1 compared with the current config (v2)' }).waitFor();
    const row = diff.locator('tr[data-key="duration_minutes"]');
    assert.equal((await row.innerText()).replace(/\s+/g, ' ').trim(), `duration_minutes Changed ${booking.config.duration_minutes ?? 45} 60`);
    await diff.locator('tr[data-key="seats"]').getByText('Changed').or(diff.locator('tr[data-key="seats"]').getByText('Only in current')).waitFor();
    assert.match(await diff.getByTestId('diff-summary').textContent(), /^2 differences: /);
    assert.equal(await diff.locator('tr.k-same').count(), 0, 'unchanged keys are hidden');
    await diff.getByLabel('Show unchanged keys').check();
    assert.ok(await diff.locator('tr.k-same').count() > 0);
    await shot(page, 'tools-diff-light');
    await noViolations(page, 'tool diff (light)');

    await diff.getByRole('button', { name: 'Restore this version (v1)' }).click();
    await page.locator('.toast').getByText('Restored version 1 as version 3').waitFor();
    assert.equal(await page.getByLabel('Duration (min)').inputValue(), String(booking.config.duration_minutes ?? 45));
    assert.equal(await page.getByTestId('diff').count(), 0);
    const now = await server.request('GET', `/api/collections/tools/records/${booking.id}`);
    assert.equal(now.version, 3);
    assert.equal(now.config.duration_minutes, booking.config.duration_minutes ?? 45);
  });
});

test('a viewer sees the detail, map, captures and diff, but none of their write controls', async () => {
  assert.ok(seen.code && seen.booking, 'the feature tests above ran first');
  const email = 'qr-viewer@example.com';
  const password = 'viewer-password-123';
  await server.request('POST', '/api/collections/users/records', {
    email, password, passwordConfirm: password, name: 'Vic Viewer', workspace: server.user.workspace, role: 'viewer',
  });
  await withPage(browser, {}, async (page) => {
    await signIn(page, { ...server, owner: { email, password } });
    await page.goto(`${server.base}/#/qr/${seen.code.id}`);
    await page.getByTestId('scan-map').locator('svg circle').first().waitFor();
    await page.getByTestId('batches').getByRole('button', { name: 'ZIP' }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Generate batch' }).count(), 0);
    await page.goto(`${server.base}/#/webhooks/playground`);
    await page.getByTestId('captures').locator('li').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create bin' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Delete bin/ }).count(), 0);
    await page.goto(`${server.base}/#/tools`);
    await page.getByRole('button', { name: seen.booking.name }).click();
    await page.getByRole('button', { name: 'Compare v2' }).click();
    await page.getByTestId('diff').locator('tr[data-key="duration_minutes"]').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Restore/ }).count(), 0);
  });
});

// The light theme at desktop width is checked inside the tests above; here the same views in the dark theme and
// on a 375 px phone, on one signed-in page (the theme is the stored choice, applied at load by theme.js).
test('QR detail with map, playground and tool diff pass axe — dark and 375 px', async () => {
  assert.ok(seen.code && seen.booking, 'the feature tests above ran first');
  await withPage(browser, { width: 1280, height: 800 }, async (page) => {
    const found = [];
    await signIn(page, server);
    for (const look of [{ name: 'dark', theme: 'dark', width: 1280 }, { name: 'phone', theme: 'light', width: 375 }]) {
      await page.setViewportSize({ width: look.width, height: 800 });
      await page.evaluate((t) => localStorage.setItem('playgram.theme', t), look.theme);
      const check = async (what) => {
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), look.theme);
        const v = await axe(page);
        if (v.length) found.push(`${what} (${look.name}):\n  ${v.join('\n  ')}`);
        if (look.width < 400) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          if (overflow > 0) found.push(`${what}: the page is ${overflow}px wider than a 375px screen`);
        }
        await shot(page, `${what}-${look.name}`);
      };
      await page.goto(`${server.base}/#/qr/${seen.code.id}`);
      await page.reload();
      await page.getByTestId('scan-map').locator('svg circle').first().waitFor();
      await check('qr-detail');
      await page.goto(`${server.base}/#/webhooks/playground`);
      const first = page.getByTestId('captures').locator('li').first();
      await first.getByTestId('verdict').waitFor();
      await page.waitForFunction(() => !/Checking/.test([...document.querySelectorAll('[data-testid=verdict]')].map((e) => e.textContent).join()));
      await first.locator('summary').click();
      await check('playground');
      await page.goto(`${server.base}/#/tools`);
      await page.getByRole('button', { name: seen.booking.name }).click();
      await page.getByRole('button', { name: 'Compare v2' }).click();
      await page.getByTestId('diff').waitFor();
      await check('tools-diff');
    }
    assert.deepEqual(found, [], found.join('\n'));
  });
});
