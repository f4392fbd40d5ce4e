// Browser tests of the admin screens: Exports (request, live status, download, audit trail, schedules), Settings
// (workspace, Manychat connect and test against the fake Manychat, members and roles), Instagram sign-in only when
// configured, API key usage and Home's AI spend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launch, newPage, signIn, axe, shot, startFakeManychat, asSuperuser } from './harness.js';

let server, browser, fake, key;
before(async () => {
  fake = await startFakeManychat();
  process.env.MANYCHAT_BASE_URL = fake.url; // startServer passes its environment on
  try { server = await startServer(); } finally { delete process.env.MANYCHAT_BASE_URL; }
  browser = await launch();
  // A key used three times now: its usage is written within the server's 10 s flush, while other tests run.
  key = await server.request('POST', '/api/v1/api-keys', { name: 'Partner site', scopes: ['manychat'] });
  for (let i = 0; i < 3; i++) {
    const res = await fetch(server.base + '/api/v1/ping', { headers: { Authorization: 'Bearer ' + key.secret } });
    assert.equal(res.status, 200);
  }
});
after(async () => { await browser?.close(); await server?.stop(); await fake?.stop(); });

async function withPage(opts, fn) {
  const page = await newPage(browser, opts);
  page.on('dialog', (d) => d.accept()); // confirm() before deletes
  try { await fn(page); page.check(); } finally { await page.closeAll(); }
}

async function open(page, route, heading) {
  await signIn(page, server);
  await page.goto(`${server.base}/#/${route}`);
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

async function axeClean(page, name) {
  await page.waitForSelector('.skeleton', { state: 'detached', timeout: 5000 }).catch(() => {});
  const v = await axe(page);
  assert.deepEqual(v, [], `${name}:\n${v.join('\n')}`);
}

test('requests a CSV export, sees it finish live, downloads it, and the audit trail shows it', async () => {
  await server.request('POST', '/api/collections/contacts/records', { workspace: server.user.workspace, name: 'Dora Export', email: 'dora@example.com', source: 'manual' });
  await withPage({}, async (page) => {
    await open(page, 'exports', 'Exports');
    // A bad filter is refused by the server and named under its field.
    await page.getByLabel('Filter').fill('nope ~~ 1');
    await page.getByLabel('Purpose or legal basis').fill('Quarterly CRM reconciliation');
    await page.getByRole('button', { name: 'Request export' }).click();
    await page.locator('#x-filter-err').waitFor();
    assert.equal(await page.getByLabel('Filter').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Filter').fill('');
    await page.getByRole('button', { name: 'Request export' }).click();
    const row = page.getByTestId('exports').locator('tbody tr').first();
    await row.getByText('done').waitFor({ timeout: 15000 });
    await page.getByTestId('live').filter({ hasText: 'Export of Contacts is ready to download' }).waitFor();
    assert.match(await row.textContent(), /Quarterly CRM reconciliation/);
    assert.match(await row.textContent(), /Demo Owner/, 'who asked for it, by name');

    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: /Download/ }).click()]);
    const bytes = readFileSync(await download.path(), 'utf8');
    assert.match(bytes.split('\n')[0], /^\uFEFF?id,subscriber_id,ig_username,name/);
    assert.match(bytes, /dora@example\.com/);

    const audit = page.getByTestId('audit');
    const entry = audit.getByRole('row', { name: /Contacts as CSV/ }).first();
    await entry.waitFor();
    assert.match(await entry.textContent(), /Quarterly CRM reconciliation/);
    assert.match(await entry.textContent(), new RegExp(server.owner.email.replace(/[.]/g, '\\.')));
    await axeClean(page, 'exports (light, with data)');
    await shot(page, 'exports-data-light');
  });
});

test('answers a data-subject access request with a ZIP and erases the person; both are audited', async () => {
  const c = await server.request('POST', '/api/collections/contacts/records', { workspace: server.user.workspace, name: 'Erin Subject', email: 'erin@example.com', source: 'manual' });
  await withPage({}, async (page) => {
    await open(page, 'exports', 'Exports');
    await page.getByLabel('Find the person').fill('Erin');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    const subjects = page.getByTestId('subjects');
    await subjects.getByRole('listitem').filter({ hasText: 'erin@example.com' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), subjects.getByRole('button', { name: 'Download their data (Erin Subject)' }).click()]);
    assert.equal(download.suggestedFilename(), `contact-${c.id}.zip`);
    const zip = readFileSync(await download.path());
    assert.equal(zip.subarray(0, 2).toString(), 'PK');
    assert.ok(zip.includes('contact.json') && zip.includes('manifest.json'), 'the ZIP holds the contact and a manifest');
    await page.getByTestId('audit').getByText(`All data of contact ${c.id}`).waitFor();

    await subjects.getByRole('button', { name: 'Erase… (Erin Subject)' }).click();
    await page.locator('.toast').getByText('Erin Subject erased').waitFor();
    await page.getByTestId('audit').getByText(`Erased contact ${c.id}`).waitFor();
    await assert.rejects(server.request('GET', `/api/collections/contacts/records/${c.id}`), /404/);
  });
});

test('creates and deletes an export schedule', async () => {
  await withPage({ theme: 'dark' }, async (page) => {
    await open(page, 'exports', 'Exports');
    await page.getByLabel('Schedule name').fill('Weekly contacts');
    await page.getByLabel('Purpose of the scheduled export').fill('Weekly CRM sync (legitimate interest)');
    await page.getByLabel('Cron').fill('0 25 * * *');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('#s-cron-err').waitFor(); // the server's cron check, shown under the field
    await page.getByLabel('Cron').fill('0 6 * * 1');
    await page.getByLabel('Delivery').selectOption('email');
    await page.getByLabel('Recipients').fill('acct@example.com');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    const row = page.getByTestId('schedules').getByRole('row', { name: /Weekly contacts/ });
    await row.waitFor();
    assert.match(await row.textContent(), /email to acct@example\.com/);
    const saved = await server.request('GET', `/api/collections/export_schedules/records?filter=${encodeURIComponent("name='Weekly contacts'")}`);
    assert.equal(saved.items.length, 1);
    assert.equal(saved.items[0].cron, '0 6 * * 1');
    await axeClean(page, 'exports (dark, with a schedule)');
    await shot(page, 'exports-data-dark');

    // Pause it: the switch turns off at once and the server agrees.
    await row.getByRole('checkbox', { name: 'On (Weekly contacts)' }).uncheck();
    await page.getByTestId('live').filter({ hasText: 'Weekly contacts paused' }).waitFor();
    const paused = await server.request('GET', `/api/collections/export_schedules/records/${saved.items[0].id}`);
    assert.equal(paused.enabled, false);

    await row.getByRole('button', { name: 'Delete Weekly contacts' }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('.toast').getByText('Schedule Weekly contacts deleted').waitFor();
    const gone = await server.request('GET', `/api/collections/export_schedules/records?filter=${encodeURIComponent("name='Weekly contacts'")}`);
    assert.equal(gone.items.length, 0);
  });
});

test('changes the workspace time zone, and a made-up zone is refused', async () => {
  await withPage({}, async (page) => {
    await open(page, 'settings', 'Settings');
    const tz = page.getByLabel('Time zone', { exact: true });
    await tz.fill('CEST');
    await page.getByRole('button', { name: 'Save workspace' }).click();
    await page.locator('#ws-tz-err').waitFor();
    await tz.fill('Europe/Berlin');
    await page.getByLabel('Brand colour').fill('#336699');
    await page.getByLabel('Logo').setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml',
      buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#369"/></svg>') });
    await page.getByRole('button', { name: 'Save workspace' }).click();
    await page.locator('.toast').getByText('Workspace saved').waitFor();
    await page.getByRole('img', { name: 'Current logo of Demo Shop' }).waitFor();
    const ws = await server.request('GET', `/api/collections/workspaces/records/${server.user.workspace}`);
    assert.equal(ws.timezone, 'Europe/Berlin');
    assert.equal(ws.branding.primary, '#336699');
    assert.match(ws.logo, /\.svg$/);
    assert.ok(await page.getByTestId('ws-logo').evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo loads from the server');
    await page.reload();
    await page.getByLabel('Time zone', { exact: true }).waitFor();
    assert.equal(await page.getByLabel('Time zone', { exact: true }).inputValue(), 'Europe/Berlin');
  });
});

test('connects Manychat with its API token and tests the connection (fake Manychat)', async () => {
  await withPage({}, async (page) => {
    await open(page, 'settings', 'Settings');
    await page.getByTestId('mc-status').getByText('Not connected.').waitFor();
    await page.getByLabel('API token').fill('100000000000001:ffffffffffffffffffffffffffffffff');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#mc-err').waitFor(); // Manychat refused the token, in its words, under the field
    await page.getByLabel('API token').fill(fake.token);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByTestId('mc-result').getByText(/^Connected to /).waitFor();
    await page.getByTestId('mc-status').getByText(`token ending …${fake.token.slice(-4)}`).waitFor();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('mc-result').getByText(/^Connection works: /).waitFor();
    await page.getByTestId('live').filter({ hasText: 'Connection works' }).waitFor();
    const secrets = await server.request('GET', '/api/v1/workspace/secrets');
    assert.equal(secrets.manychat_token.set, true);
  });
});

test('invites a member, changes their role, and removes them', async () => {
  await withPage({ width: 375, height: 800 }, async (page) => {
    await open(page, 'settings', 'Settings');
    await page.getByLabel('Email', { exact: true }).fill('nina@example.com');
    await page.getByLabel('Name', { exact: true }).fill('Nina Member');
    await page.getByLabel('Role', { exact: true }).selectOption('manager');
    await page.getByRole('button', { name: 'Invite' }).click();
    await page.locator('.toast').getByText('Invited nina@example.com as manager').waitFor();
    const role = page.getByLabel('Role of Nina Member');
    await role.waitFor();
    assert.equal(await role.inputValue(), 'manager');
    await role.selectOption('admin');
    await page.locator('.toast').getByText('Nina Member is now admin').waitFor();
    const users = await server.request('GET', `/api/collections/users/records?filter=${encodeURIComponent("name='Nina Member'")}`);
    assert.equal(users.items[0].role, 'admin');
    await page.getByTestId('members').getByText('nina@example.com').waitFor();
    // A refused change (here the answer is made a 403 on the way) puts the old role back and says why.
    await page.route('**/api/collections/users/records/*', (r) => (r.request().method() === 'PATCH'
      ? r.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ status: 403, message: 'Only owners may do that.', data: {} }) })
      : r.continue()));
    await role.selectOption('viewer');
    await page.locator('.toast').getByText("Could not change Nina Member's role: Only owners may do that.").waitFor();
    await page.waitForFunction(() => document.querySelector('[aria-label="Role of Nina Member"]').value === 'admin');
    await page.unroute('**/api/collections/users/records/*');
    // The owner's own row has no role control or remove button.
    const me = page.getByTestId('members').getByRole('listitem').filter({ hasText: server.owner.email });
    assert.equal(await me.count(), 1);
    assert.equal(await me.getByRole('combobox').count(), 0);
    assert.equal(await me.getByRole('button').count(), 0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'no horizontal page overflow at 375 px');
    await axeClean(page, 'settings (phone, with members)');
    await shot(page, 'settings-data-phone');

    await page.getByRole('button', { name: 'Remove Nina Member' }).click();
    await page.locator('.toast').getByText('Nina Member removed').waitFor();
    const after = await server.request('GET', `/api/collections/users/records?filter=${encodeURIComponent("name='Nina Member'")}`);
    assert.equal(after.items.length, 0);
  });
});

test('shows "Sign in with Instagram" only when the users collection has the instagram2 provider', async () => {
  const su = await asSuperuser(server);
  const users = await su('GET', '/api/collections/users');
  const authMethods = (page) => page.waitForResponse((r) => r.url().includes('/api/collections/users/auth-methods'));
  await withPage({}, async (page) => {
    const loaded = authMethods(page);
    await page.goto(server.base + '/');
    await loaded;
    await page.getByRole('heading', { name: 'Sign in to Playgram' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in with Instagram' }).count(), 0);

    // Configure the provider as a superuser would in the admin UI; no request goes to Instagram.
    await su('PATCH', '/api/collections/users', { oauth2: { ...users.oauth2, enabled: true, providers: [{ name: 'instagram2', clientId: 'test-client', clientSecret: 'test-secret' }] } });
    try {
      await page.reload();
      await page.getByRole('button', { name: 'Sign in with Instagram' }).waitFor();
      await axeClean(page, 'sign-in with Instagram');
      await shot(page, 'signin-instagram-light');
    } finally {
      await su('PATCH', '/api/collections/users', { oauth2: users.oauth2 });
    }
    const again = authMethods(page);
    await page.reload();
    await again;
    await page.getByRole('heading', { name: 'Sign in to Playgram' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in with Instagram' }).count(), 0);
  });
});

test('shows each API key\'s requests per day over 30 days, with a table', async () => {
  const su = await asSuperuser(server);
  const old = new Date(Date.now() - 5 * 86400000).toISOString().slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  await su('POST', '/api/collections/api_key_usage/records', { workspace: server.user.workspace, key: key.id, day: old, count: 7 });
  // Today's three requests are counted in memory and written by the server's flush (every 10 s).
  const filter = encodeURIComponent(`key='${key.id}' && day='${today}'`);
  for (let i = 0; ; i++) {
    const r = await server.request('GET', `/api/collections/api_key_usage/records?filter=${filter}`);
    if (r.items[0]?.count === 3) break;
    assert.ok(i < 60, 'the usage was not flushed within 15 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  await withPage({}, async (page) => {
    await open(page, 'keys', 'API keys');
    const row = page.getByRole('row', { name: /Partner site/ });
    await row.getByTestId('key-usage').getByText('10', { exact: true }).waitFor();
    assert.doesNotMatch(await row.textContent(), /—/, 'last used is shown');
    await row.getByRole('button', { name: 'Usage of Partner site' }).click();
    const chart = page.getByTestId('usage-chart');
    await chart.getByRole('img', { name: /Requests per day with Partner site/ }).waitFor();
    await shot(page, 'keys-usage-light');
    await chart.getByRole('button', { name: 'View as table' }).click();
    const label = (d) => new Date(d + 'T00:00:00Z').toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
    await chart.getByRole('row', { name: `${label(old)} 7` }).waitFor();
    await chart.getByRole('row', { name: `${label(today)} 3` }).waitFor();
    assert.equal(await chart.locator('tbody tr').count(), 30);
    await axeClean(page, 'keys with usage');
  });
});

test('Home shows this week\'s AI spend', async () => {
  const su = await asSuperuser(server);
  const ws = server.user.workspace;
  const tools = await server.request('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='ai_chat'")}`);
  const tool = tools.items[0].id;
  const conv = await su('POST', '/api/collections/ai_conversations/records', { workspace: ws, tool, channel: 'dashboard', status: 'open' });
  await su('POST', '/api/collections/ai_messages/records', { workspace: ws, tool, conversation: conv.id, role: 'assistant', content: 'Hi', cost_usd: 0.4237 });
  await withPage({}, async (page) => {
    await signIn(page, server);
    const kpi = page.getByTestId('kpis').locator('.kpi', { hasText: 'AI spend this week' }).locator('strong');
    await kpi.waitFor();
    assert.equal(await kpi.textContent(), '$0.42');
  });
});

test('a viewer sees Settings read-only and no export controls', async () => {
  const viewer = { email: 'vera@example.com', password: 'viewer-pass-123' };
  await server.request('POST', '/api/collections/users/records', { ...viewer, passwordConfirm: viewer.password, name: 'Vera Viewer', role: 'viewer' });
  await withPage({}, async (page) => {
    await signIn(page, { ...server, owner: viewer });
    await page.goto(`${server.base}/#/settings`);
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByTestId('members').getByText('Demo Owner').waitFor();
    await page.getByText('Demo Shop').waitFor();
    for (const name of ['Save workspace', 'Connect', 'Invite']) assert.equal(await page.getByRole('button', { name }).count(), 0, name);
    assert.equal(await page.getByRole('combobox').count(), 0, 'no role controls');
    assert.equal(await page.getByRole('heading', { name: 'Manychat' }).count(), 0);
    await page.goto(`${server.base}/#/exports`);
    await page.getByText('Only managers and admins export data.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Request export' }).count(), 0);
  });
});
