// App-wide state: the route, the theme, announcements for the aria-live region and toasts.
export const ui = $state({
  route: parseRoute(),
  theme: document.documentElement.dataset.theme || 'light',
  announcement: '',
  toasts: [],
  palette: false,
  help: false,
});

export function parseRoute() {
  const h = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = h.split('/');
  return { name: name || 'home', arg: rest.join('/') };
}

export function go(path) {
  location.hash = '#/' + path;
}

let toastId = 0;
// announce speaks a message in the aria-live region; notify also shows it as a toast (with an optional action).
// Messages within a second of each other are spoken together: replacing the text would drop the earlier one
// (realtime events of several collections often arrive at once).
let recent = '';
let recentAt = 0;
export function announce(msg) {
  const now = Date.now();
  recent = recent && now - recentAt < 1000 ? `${recent} ${msg}` : msg;
  recentAt = now;
  const text = recent;
  ui.announcement = '';
  queueMicrotask(() => (ui.announcement = text));
}

export function notify(msg, { kind = 'info', action, timeout = 6000 } = {}) {
  const id = ++toastId;
  ui.toasts.push({ id, msg, kind, action });
  announce(msg);
  setTimeout(() => dismiss(id), timeout);
  return id;
}

export function dismiss(id) {
  const i = ui.toasts.findIndex((t) => t.id === id);
  if (i >= 0) ui.toasts.splice(i, 1);
}

export function setTheme(t) {
  ui.theme = t;
  document.documentElement.dataset.theme = t;
  try { localStorage.setItem('playgram.theme', t); } catch {}
  announce(`${t === 'dark' ? 'Dark' : 'Light'} theme`);
}
