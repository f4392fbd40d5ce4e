// Browser tests of Contacts (filters, saved searches, the contact page) and the Inbox (conversations, Alt+J/K,
// canned replies, auto-reply rules). Everything is seeded through the real API: Manychat's routes with a
// manychat-scope key, the collection API as the owner, and (for what only the server's jobs write: snapshots and
// AI transcripts) the collection API as the superuser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, signIn, axe, shot } from './harness.js';

let server, browser, seed;
before(async () => { server = await startServer(); browser = await launch(); seed = await seedCRM(server); });
after(async () => { await browser?.close(); await server?.stop(); });

async function withPage(opts, fn) {
  const page = await newPage(browser, opts);
  try { await fn(page); page.check(); } finally { await page.closeAll(); }
}

const day = (d) => d.toISOString().slice(0, 10);

async function seedCRM(server) {
  const r = server.request;
  const ws = server.user.workspace;
  const key = (await r('POST', '/api/v1/api-keys', { name: 'Manychat test', scopes: ['manychat'] })).secret;
  const mc = (method, p, body) => r(method, p, body, 'Bearer ' + key);
  const ana = await mc('POST', '/api/v1/manychat/contacts', { id: '9001', key: 'user:9001', name: 'Ana Souza', first_name: 'Ana',
    ig_username: 'ana.souza', email: 'ana@example.com', custom_fields: { plan: 'pro' }, tags: [{ id: 1, name: 'vip' }] });
  const bruno = await mc('POST', '/api/v1/manychat/contacts', { id: '9002', key: 'user:9002', name: 'Bruno Lima', first_name: 'Bruno',
    ig_username: 'bruno.l', custom_fields: { plan: 'basic' }, tags: [{ id: 2, name: 'lead' }] });
  await mc('POST', '/api/v1/manychat/contacts', { id: '9003', key: 'user:9003', name: 'Carla Dias', first_name: 'Carla', custom_fields: { plan: 'free' } });
  // Carla was last seen 40 days ago; Ana three times on the latest Tuesday at 10:xx UTC, and once on a Friday.
  const now = new Date();
  await mc('POST', '/api/v1/manychat/events', { subscriber_id: '9003', type: 'comment', text: 'nice', at: new Date(now - 40 * 86400000).toISOString() });
  const tue = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 7 - ((now.getUTCDay() + 5) % 7), 10, 5));
  for (const m of [0, 20, 40]) {
    await mc('POST', '/api/v1/manychat/events', { subscriber_id: '9001', type: 'story_reply', text: 'love it', at: new Date(tue.getTime() + m * 60000).toISOString() });
  }
  await mc('POST', '/api/v1/manychat/events', { subscriber_id: '9001', type: 'click', at: new Date(tue.getTime() + 3 * 86400000 + 5 * 3600000).toISOString() });
  // Manychat messages (the Inbox): Bruno's first, then Ana's, so Ana's conversation is the newest.
  await mc('POST', '/api/v1/manychat/messages', { subscriber_id: '9002', text: 'Do you open on Sundays?' });
  await new Promise((res) => setTimeout(res, 20));
  await mc('POST', '/api/v1/manychat/messages', { subscriber_id: '9001', text: 'How much is a haircut?' });
  await r('POST', '/api/collections/message_templates/records', { workspace: ws, name: 'prices', body: 'Hi {first_name}, a haircut is 20 euros.' });
  await r('POST', '/api/collections/message_templates/records', { workspace: ws, name: 'hours', body: 'We open 9 to 17, Monday to Saturday.' });

  // What only the server's jobs write: a snapshot of Ana 30 days ago, and an AI transcript with sentiment.
  const su = await r('POST', '/api/collections/_superusers/auth-with-password', { identity: server.superuser.email, password: server.superuser.password }, '');
  const sur = (method, p, body) => r(method, p, body, su.token);
  const snapDay = day(new Date(now - 30 * 86400000));
  await sur('POST', '/api/collections/contact_snapshots/records', { workspace: ws, contact: ana.contact_id, day: snapDay, taken_at: new Date(now - 30 * 86400000).toISOString(),
    diff: { set: { name: 'Ana Old-Name', ig_username: 'ana.souza', email: 'ana@old.example', tags: ['trial'], 'custom_fields.plan': 'basic' } } });
  const tools = await r('GET', `/api/collections/tools/records?filter=${encodeURIComponent("type='ai_chat'")}`);
  const conv = await sur('POST', '/api/collections/ai_conversations/records', { workspace: ws, tool: tools.items[0].id, contact: bruno.contact_id, channel: 'manychat',
    status: 'open', title: 'Broken parcel', message_count: 2, last_message_at: new Date(now - 3600000).toISOString() });
  const msg = (role, content, extra = {}) => sur('POST', '/api/collections/ai_messages/records', { workspace: ws, tool: tools.items[0].id, conversation: conv.id,
    contact: bruno.contact_id, role, content, status: 'ok', ...extra });
  await msg('user', 'My parcel arrived broken and nobody answers.', { sentiment: 'negative', sentiment_score: -0.8 });
  await msg('assistant', 'I am sorry! I have asked the team to call you today.');
  return { key, ana: ana.contact_id, bruno: bruno.contact_id, snapDay, conv: conv.id };
}

test('filters contacts by tag, field and activity; saves a search and applies it again', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(server.base + '/#/contacts');
    const table = page.getByTestId('contacts-table');
    await table.getByRole('link', { name: 'Bruno Lima' }).waitFor();
    await table.getByRole('link', { name: 'Ana Souza' }).waitFor();

    await page.getByLabel('Tags (all of them)').fill('vip');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByTestId('contacts-total').filter({ hasText: /^1 contact$/ }).waitFor();
    await table.getByRole('link', { name: 'Ana Souza' }).waitFor();
    assert.equal(await table.getByRole('link', { name: 'Bruno Lima' }).count(), 0);

    await page.getByLabel('Save this search as').fill('VIPs');
    await page.getByRole('button', { name: 'Save search' }).click();
    await page.locator('.toast').getByText('Saved search “VIPs”').waitFor();
    const saved = await server.request('GET', '/api/collections/saved_searches/records');
    assert.deepEqual(saved.items.map((s) => [s.name, s.query]), [['VIPs', { tags: 'vip' }]]);

    // Field and activity filters.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('contacts-total').filter({ hasText: /^3 contacts$/ }).waitFor();
    await page.getByLabel('Custom field').fill('plan');
    await page.getByLabel('Field value').fill('basic');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByTestId('contacts-total').filter({ hasText: /^1 contact$/ }).waitFor();
    await table.getByRole('link', { name: 'Bruno Lima' }).waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Activity').selectOption('inactive');
    await page.getByLabel('Days').fill('30');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByTestId('contacts-total').filter({ hasText: /^1 contact$/ }).waitFor();
    await table.getByRole('link', { name: 'Carla Dias' }).waitFor();

    // The saved search runs on the server (?saved=ID) and fills the form back.
    await page.getByTestId('saved-searches').getByRole('button', { name: 'VIPs', exact: true }).click();
    await page.getByTestId('contacts-total').filter({ hasText: /^1 contact$/ }).waitFor();
    await table.getByRole('link', { name: 'Ana Souza' }).waitFor();
    assert.equal(await page.getByLabel('Tags (all of them)').inputValue(), 'vip');
    assert.equal(await page.getByLabel('Activity').inputValue(), '');
    await page.reload();
    await page.getByTestId('saved-searches').getByRole('button', { name: 'VIPs', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Delete saved search VIPs' }).click();
    await page.locator('.toast').getByText('Deleted saved search “VIPs”').waitFor();
    assert.equal((await server.request('GET', '/api/collections/saved_searches/records')).totalItems, 0);
  });
});

test('the contact page shows the heatmap, the contact at a date, and quick actions add a tag and generate a QR', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/contacts/${seed.ana}`);
    await page.getByRole('heading', { name: 'Ana Souza', level: 1 }).waitFor();
    // Three story replies on a Tuesday at 10:xx, one click on the Friday, one message now: the heatmap and its table agree.
    const heat = page.getByTestId('heatmap');
    await heat.getByRole('img', { name: /5 interactions; busiest Tue 10:00 with 3/ }).waitFor();
    await heat.getByRole('button', { name: 'View as table' }).click();
    const tueRow = heat.getByRole('row', { name: /^Tue/ });
    const cells = await tueRow.getByRole('cell').allTextContents();
    assert.equal(cells[10], '3');
    assert.equal(cells[24], '3', 'the row total');
    assert.equal((await heat.getByRole('row', { name: /^Fri/ }).getByRole('cell').allTextContents())[15], '1');

    // History at a date, from the snapshot of 30 days ago.
    const next = day(new Date(new Date(seed.snapDay).getTime() + 86400000));
    await page.getByLabel('Date', { exact: true }).fill(next);
    await page.getByRole('button', { name: 'Show' }).click();
    const hist = page.getByTestId('history');
    await hist.getByText(`As of the snapshot of ${seed.snapDay}`).waitFor();
    await hist.getByText('Ana Old-Name').waitFor();
    await hist.getByText('(now: Ana Souza)').waitFor();
    await hist.getByText('(now: pro)').waitFor();
    await hist.getByText('ana@old.example').waitFor();
    await hist.getByText('trial').waitFor();
    await hist.getByText('basic').waitFor();
    const before = day(new Date(new Date(seed.snapDay).getTime() - 86400000));
    await page.getByLabel('Date', { exact: true }).fill(before);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('alert').filter({ hasText: 'No snapshot of this contact' }).waitFor();

    // Quick action: add a tag (a local tag, kept by Playgram).
    await page.getByRole('group', { name: 'Quick actions' }).getByRole('button', { name: 'Add tag' }).click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'c-newtag');
    await page.keyboard.type('walk-in');
    await page.keyboard.press('Enter');
    await page.locator('.toast').getByText('Tagged walk-in').waitFor();
    await page.getByTestId('contact-tags').getByText('walk-in').waitFor();
    let saved = await server.request('GET', `/api/collections/contacts/records/${seed.ana}`);
    assert.deepEqual(saved.local_tags, ['walk-in']);

    // Quick action: generate a QR code for this contact.
    await page.getByRole('button', { name: 'Generate QR' }).click();
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const code = (await page.getByTestId('contact-qr').textContent()).trim();
    await page.getByTestId('contact-qrs').getByText(`${code} — active`).waitFor();
    const qr = await server.request('GET', `/api/collections/qr_codes/records?filter=${encodeURIComponent(`code='${code}'`)}`);
    assert.equal(qr.items[0].contact, seed.ana);

    // Quick action: book the first free slot (prefilled from /bookings/next).
    await page.getByRole('button', { name: 'Create booking' }).click();
    await page.waitForFunction(() => document.getElementById('cb-time')?.value !== '');
    const when = await page.evaluate(() => new Date(`${document.getElementById('cb-date').value}T${document.getElementById('cb-time').value}:00`).toISOString());
    await page.getByRole('button', { name: 'Book', exact: true }).click();
    await page.locator('.toast').getByText(/^Booked /).waitFor();
    await page.getByTestId('contact-bookings').getByText(/confirmed|pending/).waitFor();
    const booked = await server.request('GET', `/api/collections/bookings/records?filter=${encodeURIComponent(`contact='${seed.ana}'`)}`);
    assert.equal(booked.totalItems, 1);
    assert.equal(new Date(booked.items[0].start.replace(' ', 'T')).toISOString(), when);

    // Quick action: send a flow (queued for Manychat).
    await page.getByRole('button', { name: 'Send a flow' }).click();
    await page.getByLabel('Flow namespace').fill('content20260101000000_000001');
    await page.getByRole('button', { name: 'Send flow' }).click();
    await page.locator('.toast').getByText('Flow content20260101000000_000001 queued for Ana Souza').waitFor();

    // Removing the tag.
    await page.getByRole('button', { name: 'Remove walk-in' }).click();
    await page.locator('.toast').getByText('Removed walk-in').waitFor();
    saved = await server.request('GET', `/api/collections/contacts/records/${seed.ana}`);
    assert.deepEqual(saved.local_tags, []);
  });
});

test('Inbox lists conversations, moves with Alt+J / Alt+K, and / inserts a canned reply', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.getByRole('link', { name: 'Inbox' }).click();
    const list = page.getByTestId('conversations');
    await list.getByRole('button', { name: /Ana Souza/ }).waitFor();
    await list.getByRole('button', { name: /Bruno Lima.*Manychat/ }).waitFor();
    await list.getByRole('button', { name: /Bruno Lima.*AI.*Sentiment: negative/ }).waitFor();
    const current = list.locator('button[aria-current="true"]');
    assert.match(await current.textContent(), /Ana Souza/, 'the newest conversation is open');
    const detail = page.getByTestId('conversation');
    await detail.getByText('How much is a haircut?').waitFor();

    await page.keyboard.press('Alt+j');
    await detail.getByRole('heading', { name: 'Messages from Bruno Lima' }).waitFor();
    await detail.getByText('Do you open on Sundays?').waitFor();
    assert.match(await current.textContent(), /Bruno Lima/);
    await page.keyboard.press('Alt+j');
    await detail.getByRole('heading', { name: 'AI transcript with Bruno Lima' }).waitFor();
    await detail.getByText('My parcel arrived broken').waitFor();
    await detail.getByText(/negative/).first().waitFor();
    await page.getByTestId('live').filter({ hasText: 'Conversation 3 of 3: Bruno Lima' }).waitFor();
    await page.keyboard.press('Alt+k');
    await page.keyboard.press('Alt+k');
    await detail.getByRole('heading', { name: 'Messages from Ana Souza' }).waitFor();

    // A new Manychat message arrives live.
    await page.locator('.inbox[data-live="true"]').waitFor();
    await fetch(server.base + '/api/v1/manychat/messages', { method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + seed.key }, body: JSON.stringify({ subscriber_id: '9003', text: 'Is there parking?' }) });
    await list.getByRole('button', { name: /Carla Dias.*Is there parking\?/ }).waitFor({ timeout: 10000 });
    await page.getByTestId('live').filter({ hasText: 'New Manychat message' }).waitFor();
    assert.match(await current.textContent(), /Ana Souza/, 'the open conversation stays open');

    // "/" lists the templates; Enter inserts the chosen one with the contact's placeholders filled.
    const box = page.getByLabel('Reply', { exact: true });
    await box.click();
    await page.keyboard.type('Thanks! /pri');
    const menu = page.getByRole('listbox', { name: 'Canned replies' });
    await menu.getByRole('option', { name: /\/prices/ }).waitFor();
    assert.equal(await menu.getByRole('option').count(), 1);
    await page.keyboard.press('Enter');
    assert.equal(await box.inputValue(), 'Thanks! Hi Ana, a haircut is 20 euros.');
    assert.equal(await menu.count(), 0);

    // Without a reply flow the Send is refused inline; with one, the set-field + flow actions are queued.
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Set the reply flow' }).waitFor();
    await page.getByText('Reply settings', { exact: true }).click();
    await page.getByLabel('Reply flow namespace').fill('content20260101000000_000002');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.toast').getByText('Reply to Ana Souza queued (flow content20260101000000_000002)').waitFor();
    assert.equal(await box.inputValue(), '');
  });
});

test('a bad auto-reply pattern is rejected inline with the server message; a good one is saved and answers', async () => {
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(server.base + '/#/inbox');
    await page.getByRole('heading', { name: 'Auto-reply rules' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Prices');
    await page.getByLabel('Match').selectOption('regex');
    const pattern = page.getByLabel('Pattern');
    await pattern.fill('(price|cost');
    await page.getByLabel('Reply with').selectOption('template');
    await page.getByLabel('Template', { exact: true }).selectOption('prices');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByTestId('error-pattern').filter({ hasText: 'is not a valid regular expression' }).waitFor();
    assert.equal(await pattern.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'ar-pattern', 'focus goes to the bad field');
    assert.equal((await server.request('GET', '/api/collections/auto_reply_rules/records')).totalItems, 0);

    await pattern.fill('(price|cost)');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('.toast').getByText('Rule “Prices” saved').waitFor();
    assert.equal(await page.getByTestId('error-pattern').count(), 0);
    await page.getByTestId('rules').getByRole('row', { name: /Prices.*regex.*reply \/prices/ }).waitFor();
    // The rule is live: Manychat's message route answers with the template.
    const res = await fetch(server.base + '/api/v1/manychat/messages', { method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + seed.key }, body: JSON.stringify({ subscriber_id: '9002', text: 'what is the price?' }) });
    const body = await res.text();
    assert.match(body, /Hi Bruno, a haircut is 20 euros/);
  });
});

test('a refused tag change rolls back with a message, and a viewer sees no write controls', async () => {
  const dora = await server.request('POST', '/api/collections/contacts/records', { workspace: server.user.workspace, name: 'Dora Gone', source: 'manual' });
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/contacts/${dora.id}`);
    await page.getByRole('heading', { name: 'Dora Gone', level: 1 }).waitFor();
    await server.request('DELETE', `/api/collections/contacts/records/${dora.id}`);
    await page.getByLabel('New tag').fill('ghost');
    await page.getByLabel('New tag').press('Enter');
    await page.locator('.toast.error').getByText(/Could not add ghost/).waitFor();
    await page.getByTestId('contact-tags').getByText('No tags.').waitFor();
  });

  const email = 'inbox-viewer@example.com';
  const password = 'viewer-password-123';
  const su = await server.request('POST', '/api/collections/_superusers/auth-with-password', { identity: server.superuser.email, password: server.superuser.password }, '');
  await server.request('POST', '/api/collections/users/records', { email, password, passwordConfirm: password, name: 'Vic Viewer',
    workspace: server.user.workspace, role: 'viewer', verified: true }, su.token);
  await withPage({}, async (page) => {
    await page.goto(server.base + '/');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.goto(`${server.base}/#/contacts/${seed.ana}`);
    await page.getByTestId('heatmap').waitFor();
    await page.getByRole('button', { name: 'Show' }).waitFor(); // history is reading, not writing
    for (const name of ['Create booking', 'Generate QR', 'Send a flow', 'Add tag']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `a viewer sees no ${name}`);
    }
    assert.equal(await page.getByLabel('New tag').count(), 0);
    await page.goto(`${server.base}/#/inbox`);
    await page.getByTestId('conversation').getByRole('heading', { name: /Messages from/ }).waitFor();
    assert.equal(await page.getByLabel('Reply', { exact: true }).count(), 0, 'a viewer cannot reply');
    await page.getByTestId('rules').getByRole('row', { name: /Prices/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add rule' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Delete/ }).count(), 0);
  });
});

const looks = [
  { name: 'light', theme: 'light', width: 1280 },
  { name: 'dark', theme: 'dark', width: 1280 },
  { name: 'phone', theme: 'light', width: 375 },
];

test('the contact page and the Inbox pass axe in light, dark and at 375 px', async () => {
  const found = [];
  for (const look of looks) {
    await withPage({ theme: look.theme, width: look.width, height: 900 }, async (page) => {
      await signIn(page, server);
      const check = async (what) => {
        await page.waitForSelector('.skeleton', { state: 'detached', timeout: 5000 }).catch(() => {});
        const v = await axe(page);
        if (v.length) found.push(`${what} ${look.name}:\n  ${v.join('\n  ')}`);
        if (look.width < 400) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          if (overflow > 0) found.push(`${what}: ${overflow}px wider than a 375px screen`);
        }
        await shot(page, `${what}-${look.name}`);
      };
      await page.goto(`${server.base}/#/contacts/${seed.ana}`);
      await page.getByTestId('heatmap').getByRole('img').waitFor();
      await page.getByRole('button', { name: 'Show' }).click();
      await page.getByTestId('history').waitFor();
      await shot(page, `contact-${look.name}`);
      // One axe run sees the heatmap's table and the quick-action form too.
      await page.getByTestId('heatmap').getByRole('button', { name: 'View as table' }).click();
      await page.getByRole('button', { name: 'Generate QR' }).click();
      await check('contact-table');
      await page.goto(`${server.base}/#/inbox`);
      await page.getByTestId('conversation').getByRole('heading', { name: /Messages from|AI transcript/ }).waitFor();
      await page.getByLabel('Reply', { exact: true }).fill('/');
      await page.getByLabel('Reply', { exact: true }).press('End');
      await page.getByLabel('Reply', { exact: true }).type('h');
      await page.getByRole('listbox', { name: 'Canned replies' }).waitFor();
      await check('inbox');
    });
  }
  assert.deepEqual(found, [], found.join('\n'));
});
