// Browser tests of the Bookings screen: day/week/month views, moves without a notice, the availability editor
// and the waitlist, on the real binary with Debian's Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, signIn, axe, shot, seedBookings } from './harness.js';

let server, browser, seeded;
before(async () => { server = await startServer(); browser = await launch(); seeded = await seedBookings(server); });
after(async () => { await browser?.close(); await server?.stop(); });

async function withPage(opts, fn) {
  const page = await newPage(browser, opts);
  try { await fn(page); page.check(); } finally { await page.closeAll(); }
}

// The seeded bookings are next Tuesday (UTC, and the browser runs in UTC) at 10:00 and 14:00.
const key = (d) => d.toISOString().slice(0, 10);
const tuesday = () => key(seeded.at(0));
const dayAfter = (n) => key(new Date(seeded.at(0).getTime() + n * 86400000));
const count = async (collection, filter) =>
  (await server.request('GET', `/api/collections/${collection}/records?perPage=1&filter=${encodeURIComponent(filter)}`)).totalItems;

test('month and day views show the seeded bookings; the view and date live in the hash', async () => {
  await withPage({ height: 1400 }, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/bookings/month/${tuesday()}`);
    const cell = page.locator(`[data-testid=month] td[data-date="${tuesday()}"]`);
    await cell.getByText('10:00 Bea Customer').waitFor();
    await cell.getByText('14:00 Carl Customer').waitFor();
    assert.equal((await cell.locator('.count').textContent()).trim(), '2 bookings');
    assert.equal(await page.getByRole('button', { name: 'Month', exact: true }).getAttribute('aria-pressed'), 'true');
    // A day without bookings says so.
    assert.match(await page.locator(`td[data-date="${dayAfter(1)}"] button`).textContent(), / \d{4},\s+0 bookings$/);

    // The day opens in the day view: one column per helper, each booking at its time.
    await cell.getByRole('button', { name: /2 bookings/ }).click();
    await page.locator('[data-testid=calendar][data-view=day]').waitFor();
    const inSlot = (h, id) => page.locator(`[data-slot="${seeded.at(h).toISOString()}"][data-helper="${seeded.helper.id}"] [data-booking="${id}"]`);
    await inSlot(10, seeded.a.id).waitFor();
    await inSlot(14, seeded.b.id).waitFor();
    assert.equal(new URL(page.url()).hash, `#/bookings/day/${tuesday()}`);

    // A deep link (a reload) opens the same view and date; next/previous step by the view's unit.
    await page.reload();
    await inSlot(10, seeded.a.id).waitFor();
    await page.getByRole('button', { name: 'Next day →' }).click();
    await page.getByTestId('period').filter({ hasText: new Date(dayAfter(1)).toLocaleDateString('en-GB', { weekday: 'long', timeZone: 'UTC' }) }).waitFor();
    assert.equal(await page.locator(`[data-booking="${seeded.a.id}"]`).count(), 0);
    assert.equal(new URL(page.url()).hash, `#/bookings/day/${dayAfter(1)}`);
    await page.getByRole('button', { name: '← Previous day' }).click();
    await inSlot(10, seeded.a.id).waitFor();

    // Week view of the same date, filtered to the helper: the helper is kept in the hash too.
    await page.getByRole('button', { name: 'Week', exact: true }).click();
    await page.locator('[data-testid=calendar][data-view=week]').waitFor();
    await page.locator('#bk-helper').selectOption({ label: 'Ana' });
    await page.locator(`[data-slot="${seeded.at(14).toISOString()}"] [data-booking="${seeded.b.id}"]`).waitFor();
    assert.equal(new URL(page.url()).hash, `#/bookings/week/${tuesday()}/${seeded.helper.id}`);
    await page.getByRole('button', { name: 'Today' }).click();
    assert.equal(new URL(page.url()).hash, `#/bookings/week/${key(new Date())}/${seeded.helper.id}`);
    // The Calendar tab goes back to this week, all helpers, and says so in the hash.
    await page.getByRole('button', { name: 'Month', exact: true }).click();
    await page.getByRole('link', { name: 'Calendar' }).click();
    await page.locator('[data-testid=calendar][data-view=week]').waitFor();
    assert.equal(new URL(page.url()).hash, `#/bookings/week/${key(new Date())}`);
    assert.equal(await page.locator('#bk-helper').inputValue(), '');
  });
});

test('a reschedule can skip the customer notice', async () => {
  const notices = () => count('jobs', "kind = 'booking.email'");
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/bookings/week/${tuesday()}`);
    await page.locator(`[data-booking="${seeded.b.id}"]`).waitFor();
    const queued = await notices();

    // The bar's switch sets the default of the dialog's checkbox.
    await page.getByLabel('Tell customers when I move a booking').uncheck();
    await page.getByRole('button', { name: 'Reschedule Carl Customer…' }).click();
    assert.equal(await page.getByLabel('Send the customer a notice of the move').isChecked(), false);
    await page.getByLabel('Time').fill('15:00');
    await page.getByRole('button', { name: 'Move' }).click();
    await page.locator('.toast').getByText(/Moved Carl Customer .*the customer is not told/).waitFor();
    await page.locator(`[data-slot="${seeded.at(15).toISOString()}"] [data-booking="${seeded.b.id}"]`).waitFor();
    const saved = await server.request('GET', `/api/collections/bookings/records/${seeded.b.id}`);
    assert.equal(new Date(saved.start.replace(' ', 'T')).toISOString(), seeded.at(15).toISOString());
    assert.equal(await notices(), queued, 'no notice was queued');
    const ev = await server.request('GET', `/api/collections/events/records?sort=-ts&perPage=1&filter=${encodeURIComponent(`type = 'booking.rescheduled' && subject_id = '${seeded.b.id}'`)}`);
    assert.equal(ev.items[0].data.notified, false);

    // Ticking it again does send one.
    await page.getByRole('button', { name: 'Reschedule Carl Customer…' }).click();
    await page.getByLabel('Send the customer a notice of the move').check();
    await page.getByLabel('Time').fill('16:00');
    await page.getByRole('button', { name: 'Move' }).click();
    await page.locator('.toast').getByText(/Moved Carl Customer .*the customer is told/).waitFor();
    await page.locator(`[data-slot="${seeded.at(16).toISOString()}"] [data-booking="${seeded.b.id}"]`).waitFor();
    assert.equal(await notices(), queued + 1);
  });
  // A drag with the bar's switch off tells nobody either. (Tall: HTML5 drag and drop does not scroll mid-drag.)
  await withPage({ height: 1400 }, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/bookings/week/${tuesday()}`);
    const queued = await notices();
    await page.getByLabel('Tell customers when I move a booking').uncheck();
    await page.locator(`[data-booking="${seeded.b.id}"]`).dragTo(page.locator(`[data-slot="${seeded.at(13).toISOString()}"]`));
    await page.locator('.toast').getByText(/Moved Carl Customer .*the customer is not told/).waitFor();
    await page.locator(`[data-slot="${seeded.at(13).toISOString()}"] [data-booking="${seeded.b.id}"]`).waitFor();
    assert.equal(await notices(), queued);
  });
});

test("edits a helper's weekly hours and exceptions; the server's errors show inline and slot search follows", async () => {
  const wednesday = dayAfter(1);
  const thursday = dayAfter(2);
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/bookings/availability/${seeded.helper.id}`);
    const slots = page.getByTestId('free-slots');
    await page.getByLabel('Date', { exact: true }).last().fill(wednesday);
    await page.getByRole('button', { name: 'Show free slots' }).click();
    await slots.getByText('14:00', { exact: true }).waitFor();

    // End before start: the server refuses and says so under the field.
    const end = page.getByLabel('Wednesday interval 1 to', { exact: true });
    await end.fill('08:00');
    await page.getByRole('button', { name: 'Save weekly hours' }).click();
    const err = page.locator(`#${await end.getAttribute('id')}-err`);
    await err.waitFor();
    assert.match(await err.textContent(), /after|before|start/i);
    assert.equal(await end.getAttribute('aria-invalid'), 'true');

    // Fixed, with a break: saved, and slot search follows.
    await end.fill('12:00');
    await page.getByRole('button', { name: 'Add a break to Wednesday interval 1' }).click();
    await page.getByLabel('Wednesday interval 1 break 1 break from').fill('10:00');
    await page.getByLabel('Wednesday interval 1 break 1 to').fill('10:30');
    await page.getByRole('button', { name: 'Save weekly hours' }).click();
    await page.locator('.toast').getByText('Weekly hours of Ana saved').waitFor();
    assert.equal(await err.count(), 0);
    const rules = await server.request('GET', `/api/collections/availability/records?filter=${encodeURIComponent(`helper = '${seeded.helper.id}' && weekday = 3`)}`);
    assert.equal(rules.items.length, 1);
    assert.equal(rules.items[0].end, '12:00');
    assert.deepEqual(rules.items[0].breaks, [{ start: '10:00', end: '10:30' }]);
    // The demo tool books 45 minutes on a 15-minute grid: 11:15 is the last start, nothing overlaps the break.
    await slots.getByText('11:15', { exact: true }).waitFor();
    assert.equal(await slots.getByText('14:00', { exact: true }).count(), 0);
    assert.equal(await slots.getByText('09:30', { exact: true }).count(), 0);
    assert.equal(await slots.getByText('10:15', { exact: true }).count(), 0);

    // A day off: the exception is listed and the day has no slots.
    await page.getByLabel('Date', { exact: true }).first().fill(thursday);
    await page.getByLabel('Note').fill('Dentist');
    await page.getByRole('button', { name: 'Add exception' }).click();
    await page.getByTestId('exceptions').getByRole('row', { name: new RegExp(`${thursday}.*Closed.*Dentist`) }).waitFor();
    await page.getByLabel('Date', { exact: true }).last().fill(thursday);
    await page.getByRole('button', { name: 'Show free slots' }).click();
    await slots.getByText(`No free slots on ${thursday}.`).waitFor();

    // With Ana chosen, the week grid shades her free times: Wednesday's afternoon is gone, Thursday is off.
    await page.goto(`${server.base}/#/bookings/week/${wednesday}/${seeded.helper.id}`);
    const free = (day, h) => page.locator(`.cell.free[data-slot="${new Date(Date.parse(day + 'T00:00:00Z') + h * 3600000).toISOString()}"]`);
    await free(wednesday, 11).waitFor();
    await free(tuesday(), 15).waitFor();
    assert.equal(await free(wednesday, 14).count(), 0);
    assert.equal(await page.locator(`.cell.free[data-slot^="${thursday}"]`).count(), 0);
    assert.ok(await page.locator(`.cell.free[data-slot^="${dayAfter(3)}"]`).count() > 10, 'Friday is open all day');
    await page.goBack();

    // A time zone the server does not know is refused inline.
    await page.locator('#av-tz').fill('CEST');
    await page.getByRole('button', { name: 'Save helper' }).click();
    await page.locator('#av-tz-err').waitFor();
    assert.equal(await page.locator('#av-tz').getAttribute('aria-invalid'), 'true');
  });
});

test('the waitlist lists entries, shows a freed slot being offered, and removes one', async () => {
  const r = server.request;
  const ws = server.user.workspace;
  const person = (name) => r('POST', '/api/collections/contacts/records', { workspace: ws, name, email: `${name.split(' ')[0].toLowerCase()}@example.com`, source: 'manual' });
  const dora = await person('Dora Waiting');
  const emil = await person('Emil Waiting');
  const join = (c) => r('POST', '/api/v1/bookings/waitlist', { tool: seeded.tool.id, date: tuesday(), contact: c.id, name: c.name, email: c.email });
  const dj = await join(dora);
  const ej = await join(emil);
  await withPage({}, async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/#/bookings/waitlist`);
    const row = (id) => page.locator(`[data-testid=waitlist] tr[data-entry="${id}"]`);
    await row(dj.id).getByText('Dora Waiting').waitFor();
    assert.deepEqual(await row(dj.id).locator('td').evaluateAll((tds) => tds.slice(0, 6).map((t) => t.textContent.trim())),
      [tuesday(), '1', 'Dora Waiting · dora@example.com', seeded.tool.name, 'Any', 'waiting']);
    assert.equal((await row(ej.id).locator('td').nth(1).textContent()).trim(), '2');

    // A slot of that day frees up: Dora, first in line, is offered it (live).
    await page.locator('[data-live="true"]').waitFor();
    const extra = await r('POST', '/api/v1/bookings', { tool: seeded.tool.id, helper: seeded.helper.id, start: seeded.at(12).toISOString(), contact: seeded.a.contact, name: 'Bea Customer' });
    await r('POST', `/api/v1/bookings/${(extra.booking || extra).id}/cancel`, {});
    await page.getByTestId('live').filter({ hasText: 'Dora Waiting was offered a freed slot' }).waitFor({ timeout: 10000 });
    await row(dj.id).getByText('offered', { exact: true }).waitFor({ timeout: 10000 });
    await row(dj.id).getByText(/Offered .*12:00 with Ana, held until/).waitFor();

    // Removing Dora passes the held slot to Emil.
    await page.getByRole('button', { name: 'Remove Dora Waiting from the waitlist' }).click();
    await page.locator('.toast').getByText(/Dora Waiting is off the waitlist; the held slot goes to the next in line/).waitFor();
    await row(dj.id).waitFor({ state: 'detached' });
    await row(ej.id).getByText('offered', { exact: true }).waitFor({ timeout: 10000 });
    const saved = await r('GET', `/api/collections/waitlist/records/${dj.id}`);
    assert.equal(saved.status, 'cancelled');

    // All statuses: Dora is still there, as cancelled.
    await page.getByLabel('Status').selectOption({ label: 'All' });
    await row(dj.id).getByText('cancelled', { exact: true }).waitFor();
  });
});

const looks = [
  { name: 'light', theme: 'light', width: 1280 },
  { name: 'dark', theme: 'dark', width: 1280 },
  { name: 'phone', theme: 'light', width: 375 },
];

test('month, day, availability and waitlist pass axe in light, dark and at 375 px', async () => {
  const views = [
    ['month', `bookings/month/${tuesday()}`, '[data-testid=month]'],
    ['day', `bookings/day/${tuesday()}/${seeded.helper.id}`, '[data-testid=calendar][data-view=day] .cell.free'], // with the free-time shading
    ['availability', `bookings/availability/${seeded.helper.id}`, '[data-testid=weekly] fieldset'],
    ['waitlist', 'bookings/waitlist', '[data-testid=waitlist] tbody tr:not(:has(.skeleton))'],
  ];
  const found = [];
  for (const look of looks) {
    await withPage({ theme: look.theme, width: look.width, height: 800 }, async (page) => {
      await signIn(page, server);
      for (const [name, route, ready] of views) {
        await page.goto(`${server.base}/#/${route}`);
        await page.locator(ready).first().waitFor();
        await page.waitForSelector('.skeleton', { state: 'detached', timeout: 5000 }).catch(() => {});
        const v = await axe(page);
        if (v.length) found.push(`${name} ${look.name}:\n  ${v.join('\n  ')}`);
        if (look.width < 400) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          if (overflow > 0) found.push(`${name}: the page is ${overflow}px wider than a 375px screen`);
        }
        await shot(page, `bookings-${name}-${look.name}`);
      }
    });
  }
  assert.deepEqual(found, [], found.join('\n'));
});
