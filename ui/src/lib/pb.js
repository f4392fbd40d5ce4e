import PocketBase from 'pocketbase';

// One client for the whole app; same origin, so the CSP's default-src 'self' covers every request.
export const pb = new PocketBase(location.origin);
pb.autoCancellation(false);

// api calls a Playgram /api/v1 route with the signed-in member's token.
export function api(path, { method = 'GET', body, query } = {}) {
  return pb.send('/api/v1' + path, { method, body, query });
}

// fieldErrors turns a PocketBase/Playgram error into {field: message} (plus _ for the general message).
export function fieldErrors(err) {
  const out = {};
  const data = err?.response?.data || err?.data?.data || {};
  for (const [k, v] of Object.entries(data)) out[k] = v?.message || String(v);
  out._ = err?.response?.message || err?.message || 'Something went wrong.';
  return out;
}

export function errorMessage(err) {
  const fe = fieldErrors(err);
  const fields = Object.entries(fe).filter(([k]) => k !== '_');
  return fields.length ? fields.map(([k, v]) => `${k}: ${v}`).join('; ') : fe._;
}

export function fmtTime(s) {
  if (!s) return '—';
  const d = new Date(s.replace(' ', 'T'));
  return isNaN(d) ? s : d.toLocaleString();
}

// download fetches a signed-in route (e.g. a CSV export, or POST a data-subject ZIP) and saves it; a plain link
// would carry no token.
export async function download(path, filename, { method = 'GET' } = {}) {
  const res = await fetch('/api/v1' + path, { method, headers: { Authorization: pb.authStore.token } });
  if (!res.ok) throw new Error(`Export failed (${res.status})`);
  saveBlob(await res.blob(), filename);
}

// saveBlob hands a fetched file to the browser's downloads under `filename`.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// inWs adds `workspace = <the member's workspace>` to a list filter. The API rules already limit every list to
// the member's workspace, but the rule compiles to a comparison SQLite cannot serve from an index; naming the
// workspace literally lets the (workspace, …) indexes answer (Home's feed over 1M events: seconds → milliseconds).
export function inWs(filter = '') {
  const ws = pb.authStore.record?.workspace;
  const parts = [ws ? pb.filter('workspace = {:ws}', { ws }) : '', filter].filter(Boolean);
  return parts.length > 1 ? parts.map((p) => `(${p})`).join(' && ') : parts[0] || '';
}

// tagNames reads a contact's tags or local_tags (plain names, or Manychat's {id, name} objects) as names.
export function tagNames(list) {
  return (Array.isArray(list) ? list : []).map((t) => (typeof t === 'string' ? t : t?.name)).filter(Boolean);
}

// downloadFile saves a protected file of a record (e.g. a QR batch's ZIP or PDF sheet) through a short-lived
// file token; the token is asked for at the click, so a link left open for long still works.
export async function downloadFile(record, filename, saveAs = filename) {
  const token = await pb.files.getToken();
  const res = await fetch(pb.files.getURL(record, filename, { token }));
  if (!res.ok) throw new Error(`Download failed (${res.status})`);
  saveBlob(await res.blob(), saveAs);
}
