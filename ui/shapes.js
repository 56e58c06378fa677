// Tolerant readers for the inspection answers. docs/API.md is the contract
// (RFC 3339 times, camelCase, flat cookie rows); the first keybench-server
// answers some topics in the session engine's own shapes (times in ms since
// the epoch, snake_case members, nested cookie policies). Each function here
// returns the contract's shape from either, so the pages are written
// against the contract alone. Contract-shaped input passes through unchanged.

const pick = (...vs) => vs.find((v) => v !== undefined && v !== null);

/** ms since epoch (number) or RFC 3339 (string) → RFC 3339, else undefined. */
export function isoTime(v) {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return new Date(v).toISOString();
  return String(v);
}

export function sessions(list) {
  if (!Array.isArray(list)) return list;
  return list.map((s) => ({
    ...s,
    created: isoTime(pick(s.created, s.createdMs)),
    lastAccess: isoTime(pick(s.lastAccess, s.lastAccessMs)),
    expires: isoTime(pick(s.expires, s.expiresMs)),
  }));
}

export function challenges(list) {
  if (!Array.isArray(list)) return list;
  return list.map((c) => ({
    ...c,
    id: pick(c.id, c.handle),
    created: isoTime(pick(c.created, c.issued, c.issuedMs)),
    expires: isoTime(pick(c.expires, c.expiresMs)),
    consumed: isoTime(pick(c.consumed, c.consumedMs)),
  }));
}

const LABEL_BY_BASIS = { plain_http: 'http', direct_tls: 'https' };

/** `{rows, current}` with flat camelCase rows; `current` is a context label. */
export function cookies(answer) {
  let rows;
  let current;
  if (Array.isArray(answer)) {
    rows = answer;
    const cur = answer.find((r) => r.current === true);
    current = cur ? cur.context : undefined;
  } else if (answer && typeof answer === 'object') {
    rows = answer.rows || answer.cookies || [];
    current = answer.current;
  } else {
    return { rows: [], current: undefined };
  }
  rows = rows.map((r) => {
    const p = r.policy || r;
    return {
      context: r.context,
      endpoint: r.endpoint,
      lifetime: pick(r.lifetime, p.lifetime),
      name: p.name,
      httpOnly: pick(p.httpOnly, p.http_only),
      secure: p.secure,
      sameSite: pick(p.sameSite, p.same_site),
      maxAge: pick(p.maxAge, p.max_age_secs),
      path: p.path,
      hostPrefix: pick(p.hostPrefix, p.host_prefix),
      basis: p.basis,
      header: r.header,
      current: r.current,
    };
  });
  // `current` may be the policy of this request rather than a label: the
  // context whose rows share its basis (why Secure is what it is).
  if (current && typeof current === 'object') {
    const match = rows.find((r) => r.basis && r.basis === current.basis) || rows.find((r) => r.name === current.name && r.secure === current.secure);
    current = match ? match.context : LABEL_BY_BASIS[current.basis];
  }
  return { rows, current };
}

export function cleanup(c) {
  if (!c || typeof c !== 'object') return c;
  if (c.status && c.report) return cleanup({ ...c.status, last: c.status.last || c.report });
  if (c.lastRun !== undefined || c.nextRun !== undefined) return c;
  const last = c.last || null;
  const removed = last ? pick(last.removed, (last.removed_idle || 0) + (last.removed_empty || 0) + (last.removed_budget || 0)) : 0;
  return {
    lastRun: last ? isoTime(last.started_ms) : undefined,
    durationMs: last && last.duration_us !== undefined ? Math.round(last.duration_us / 100) / 10 : undefined,
    scanned: last ? last.scanned : 0,
    removed,
    removedChallenges: last ? last.removed_challenges : undefined,
    trigger: last ? last.trigger : undefined,
    nextRun: isoTime(c.next_run_ms),
    errors: last ? last.errors || [] : [],
    idleLimitDays: c.idle_limit_secs !== undefined ? +(c.idle_limit_secs / 86400).toFixed(2) : undefined,
    intervalHours: c.interval_secs !== undefined ? +(c.interval_secs / 3600).toFixed(2) : undefined,
    running: c.running,
    runs: c.runs,
  };
}

const SOURCE_LABEL = { keyring: 'OS keyring', environment: 'environment', file: 'key file', ephemeral: 'generated' };

export function key(k) {
  if (!k || typeof k !== 'object') return k;
  if (typeof k.source === 'string') return k;
  const src = k.source || {};
  const warnings = k.warnings || [];
  return {
    source: SOURCE_LABEL[src.kind] || src.kind || 'unknown',
    sourceDetail: pick(src.service, src.path),
    generated: k.generated,
    fingerprint: k.fingerprint,
    previous: k.previous_fingerprint ? { fingerprint: k.previous_fingerprint, validUntil: isoTime(k.previous_valid_until_ms) } : undefined,
    warning: warnings.length ? warnings.join(' ') : undefined,
  };
}

export function events(list) {
  if (!Array.isArray(list)) return list;
  return list.map((e) => ({ ...e, at: isoTime(pick(e.at, e.at_ms, e.atMs)) }));
}

export function storage(s) {
  return s;
}
