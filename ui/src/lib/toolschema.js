// The form fields of each tool type, mirroring internal/toolconfig (the server validates and names bad keys).
// kind: text | int | number | bool | list (comma-separated) | enum (with values) | longtext
export const toolFields = {
  qr: [
    ['prefix', 'text', 'Prefix'], ['template', 'text', 'Code template'], ['content', 'enum', 'Image encodes', ['code', 'url']],
    ['url_template', 'text', 'URL template'], ['default_max_uses', 'int', 'Uses per code (0 = unlimited)'],
    ['default_ttl_hours', 'int', 'Hours until expiry (0 = never)'], ['fg', 'text', 'Foreground #RRGGBB'], ['bg', 'text', 'Background #RRGGBB'],
    ['caption', 'text', 'Caption'], ['repeat_window_seconds', 'int', 'Repeat-scan window (s)'],
  ],
  booking: [
    ['duration_minutes', 'int', 'Duration (min)'], ['slot_interval_minutes', 'int', 'Slot interval (min)'],
    ['buffer_before_minutes', 'int', 'Buffer before (min)'], ['buffer_after_minutes', 'int', 'Buffer after (min)'],
    ['min_notice_minutes', 'int', 'Minimum notice (min)'], ['max_advance_days', 'int', 'Book up to (days ahead)'],
    ['seats', 'int', 'Seats per slot'], ['daily_limit', 'int', 'Daily limit per helper (0 = none)'],
    ['requires_confirmation', 'bool', 'Requires confirmation'], ['cutoff_hours', 'int', 'Customer change cutoff (h)'],
    ['hold_minutes', 'int', 'Waitlist hold (min)'], ['reminder_hours', 'intlist', 'Reminders (hours before, comma-separated)'],
  ],
  ai_chat: [
    ['model', 'text', 'Model'], ['system_prompt', 'longtext', 'System prompt'], ['temperature', 'number', 'Temperature'],
    ['max_tokens', 'int', 'Max tokens'], ['context_tokens', 'int', 'Context tokens'], ['monthly_budget_usd', 'number', 'Monthly budget (USD, 0 = none)'],
    ['fallback_text', 'longtext', 'Fallback text'], ['functions', 'list', 'Functions (comma-separated)'],
  ],
  verification: [
    ['code_length', 'int', 'Code length'], ['ttl_minutes', 'int', 'Code lifetime (min)'], ['instagram_username', 'text', 'Instagram account'],
    ['dm_text', 'text', 'DM text'], ['require_signature', 'bool', 'Require signed requests'], ['max_attempts_per_code', 'int', 'Attempts per code'],
  ],
  social: [
    ['platforms', 'list', 'Platforms (comma-separated)'], ['default_limit', 'int', 'Items per request'],
    ['ttl_posts_minutes', 'int', 'Posts cache (min)'], ['ttl_profile_minutes', 'int', 'Profile cache (min)'], ['ttl_reviews_minutes', 'int', 'Reviews cache (min)'],
  ],
};

// toForm turns a config into input strings; fromForm turns them back into typed JSON (blank = server default).
export function toForm(type, config = {}) {
  const out = {};
  for (const [k, kind] of toolFields[type] || []) {
    const v = config[k];
    out[k] = kind === 'bool' ? !!v : Array.isArray(v) ? v.join(', ') : v ?? '';
  }
  return out;
}

export function fromForm(type, form, base = {}) {
  const out = { ...base };
  for (const [k, kind] of toolFields[type] || []) {
    const v = form[k];
    if (kind === 'bool') { out[k] = !!v; continue; }
    if (v === '' || v == null) { delete out[k]; continue; }
    if (kind === 'int' || kind === 'number') out[k] = Number(v);
    else if (kind === 'list') out[k] = String(v).split(',').map((s) => s.trim()).filter(Boolean);
    else if (kind === 'intlist') out[k] = String(v).split(',').map((s) => Number(s.trim())).filter((n) => !isNaN(n));
    else out[k] = v;
  }
  return out;
}
