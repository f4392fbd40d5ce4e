// keyDiff compares two JSON objects key by key. Nested objects are flattened to dotted paths (`a.b`); arrays and
// scalars are compared as their JSON text. It answers one row per key present in either side, sorted by key:
// {key, kind: 'same'|'changed'|'added'|'removed', from, to} where from/to are display strings ('' when absent).
// 'added' means only `to` has the key, 'removed' only `from`.
export function keyDiff(from = {}, to = {}) {
  const a = flatten(from), b = flatten(to);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.map((key) => {
    const inA = key in a, inB = key in b;
    const kind = !inA ? 'added' : !inB ? 'removed' : a[key] === b[key] ? 'same' : 'changed';
    return { key, kind, from: inA ? a[key] : '', to: inB ? b[key] : '' };
  });
}

function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) flatten(v, key, out);
    else out[key] = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null);
  }
  return out;
}
