// A minimal SMTP server on loopback that keeps every message, so tests can read the one-time codes that
// PocketBase emails (the server's SMTP settings are pointed at it by useMailbox).
import { createServer } from 'node:net';

export async function startMailbox() {
  const messages = [];
  const waiters = [];
  const server = createServer((sock) => {
    let buf = '';
    let data = null;
    let to = [];
    sock.setEncoding('utf8');
    sock.write('220 localhost test mailbox\r\n');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (data !== null) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buf.slice(0, end);
          buf = buf.slice(end + 5);
          const msg = { to, raw: data, text: decode(data) };
          messages.push(msg);
          waiters.splice(0).forEach((w) => w());
          data = null;
          to = [];
          sock.write('250 OK\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-localhost\r\n250 8BITMIME\r\n');
        else if (cmd === 'RCPT') { to.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, '$1').toLowerCase()); sock.write('250 OK\r\n'); }
        else if (cmd === 'DATA') { data = ''; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); return; }
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    messages,
    // code waits for the newest message to `to` that carries a 6-digit one-time password, and returns it.
    async code(to, since = 0, timeout = 10000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const m = messages.slice(since).reverse().find((x) => x.to.includes(to.toLowerCase()) && /<strong>\d{6}<\/strong>/.test(x.text));
        if (m) return m.text.match(/<strong>(\d{6})<\/strong>/)[1];
        if (Date.now() > deadline) throw new Error(`no code emailed to ${to}; got ${messages.length} messages`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

// decode undoes quoted-printable soft breaks and escapes and base64 parts well enough to find the code.
function decode(raw) {
  let text = raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  for (const b64 of raw.match(/(?:^[A-Za-z0-9+/=]{20,}\r\n)+/gm) || []) {
    try { text += Buffer.from(b64.replace(/\r\n/g, ''), 'base64').toString('utf8'); } catch {}
  }
  return text;
}

// useMailbox points the server's SMTP settings at the mailbox (as the superuser).
export async function useMailbox(server, mailbox) {
  const su = await server.request('POST', '/api/collections/_superusers/auth-with-password', { identity: server.superuser.email, password: server.superuser.password }, '');
  server.suToken = su.token;
  await server.request('PATCH', '/api/settings', {
    meta: { senderName: 'Playgram', senderAddress: 'noreply@playgram.test' },
    smtp: { enabled: true, host: '127.0.0.1', port: mailbox.port, tls: false },
  }, su.token);
}
