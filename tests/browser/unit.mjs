// Unit tests of the UI's pure modules, run by node (no browser): the CBOR
// encoder against RFC 8949 Appendix A vectors and CTAP2 key order, base64url,
// and the server-sent-events reader (split chunks, CRLF, comments,
// multi-line data, reconnection, a refused secret).
//   node --test tests/browser/unit.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCbor } from '../../ui/cbor.js';
import { b64urlToBytes, bytesToB64url } from '../../ui/webauthn.js';
import { eventStream } from '../../ui/stream.js';

const hex = (b) => Buffer.from(b).toString('hex');

test('CBOR: RFC 8949 Appendix A vectors', () => {
  const vectors = [
    [0, '00'], [23, '17'], [24, '1818'], [100, '1864'], [1000, '1903e8'], [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'], [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [1.1, 'fb3ff199999999999a'], [false, 'f4'], [true, 'f5'], [null, 'f6'],
    ["h''", '40'], ["h'01020304'", '4401020304'], ['', '60'], ['a', '6161'], ['IETF', '6449455446'],
    ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'], [[], '80'], [[1, 2, 3], '83010203'],
    [[1, [2, 3], [4, 5]], '8301820203820405'], [{}, 'a0'], [{ 1: 2, 3: 4 }, 'a201020304'],
    [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [['a', { b: 'c' }], '826161a161626163'],
    [{ $tag: 1, value: 1363896240 }, 'c11a514b67b0'],
  ];
  for (const [value, want] of vectors) assert.equal(hex(encodeCbor(value)), want, JSON.stringify(value));
});

test('CBOR: map keys in CTAP2 canonical order (shorter encodings first, then bytewise)', () => {
  // A COSE key written in any order comes out as 01, 03, 20, 21, 22.
  const got = hex(encodeCbor({ '-3': "h'02'", '-1': 1, 3: -7, '-2': "h'01'", 1: 2 }));
  assert.equal(got, 'a5010203262001214101224102');
  assert.equal(hex(encodeCbor({ bb: 1, a: 2, 10: 3, '-1': 4 })), 'a4' + '0a03' + '2004' + '616102' + '62626201');
});

test('CBOR: refuses what it cannot encode exactly', () => {
  assert.throws(() => encodeCbor(2 ** 60), /not an integer CBOR can carry/);
  assert.throws(() => encodeCbor("h'abc'"), /odd number of hex digits/);
  let deep = 0;
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.throws(() => encodeCbor(deep), /nested deeper/);
});

test('base64url round trip, unpadded', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const s = bytesToB64url(bytes);
    assert.ok(!/[+/=]/.test(s), s);
    assert.deepEqual(b64urlToBytes(s), bytes);
  }
  assert.equal(bytesToB64url(Uint8Array.of(0xfb, 0xff)), '-_8');
});

// A fetch that answers each call with the next scripted response.
function scriptedFetch(responses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, headers: init.headers });
    const next = responses.shift();
    if (!next) return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    if (next.status) return new Response(JSON.stringify(next.json || {}), { status: next.status });
    const enc = new TextEncoder();
    const body = new ReadableStream({
      start(c) { for (const chunk of next.chunks) c.enqueue(enc.encode(chunk)); c.close(); },
    });
    return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  };
  return { fetch, calls };
}

test('SSE: events split across chunks, CRLF, comments, multi-line data; reconnects; stops', async () => {
  const { fetch, calls } = scriptedFetch([
    { chunks: [': hello\n\nevent: sessi', 'ons\ndata: [{"id":"ab…"}]\n', '\nevent: key\r', '\ndata: {"source":\r\ndata: "generated"}\r\n\r\n'] },
    { chunks: ['data: "plain message"\n\n'] },
  ]);
  globalThis.fetch = fetch;
  const seen = [];
  const states = [];
  await new Promise((resolve) => {
    const stop = eventStream('/api/inspect/stream', {
      headers: { Authorization: 'Bearer s3cret' },
      onEvent: (name, data) => { seen.push([name, data]); if (seen.length === 3) { stop(); resolve(); } },
      onState: (s) => states.push(s),
    });
  });
  assert.deepEqual(seen, [
    ['sessions', [{ id: 'ab…' }]],
    ['key', { source: 'generated' }], // two data lines joined by a newline, then parsed
    ['message', 'plain message'],
  ]);
  assert.equal(calls.length, 2, 'one reconnection after the first stream ended');
  assert.equal(calls[0].headers.Authorization, 'Bearer s3cret');
  assert.ok(states.includes('reconnecting'));
  assert.equal(states.at(-1), 'stopped');
});

test('SSE: a refused secret stops without retrying', async () => {
  const { fetch, calls } = scriptedFetch([{ status: 401, json: { code: 'bad_launch_secret', message: 'wrong secret' } }]);
  globalThis.fetch = fetch;
  const info = await new Promise((resolve) => {
    eventStream('/s', { onEvent: () => {}, onState: (s, i) => { if (s === 'denied') resolve(i); } });
  });
  assert.deepEqual(info, { status: 401, message: 'wrong secret' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls.length, 1);
});

// ---- shapes.js: the engine's shapes read as the API.md contract ----------
import * as shapes from '../../ui/shapes.js';

test('shapes: contract-shaped answers pass through', () => {
  const cleanup = { lastRun: '2026-11-26T11:00:00Z', scanned: 3, removed: 1, nextRun: '2026-11-26T17:00:00Z', errors: [], idleLimitDays: 14, intervalHours: 6 };
  assert.deepEqual(shapes.cleanup(cleanup), cleanup);
  const key = { source: 'OS keyring', fingerprint: 'ab' };
  assert.deepEqual(shapes.key(key), key);
  const rows = [{ context: 'http', endpoint: 'normal', name: 'keybench-session', httpOnly: true, secure: false, sameSite: 'Lax', maxAge: 60, path: '/', hostPrefix: false, header: 'h', current: true }];
  const c = shapes.cookies(rows);
  assert.equal(c.current, 'http');
  assert.equal(c.rows[0].sameSite, 'Lax');
  assert.equal(c.rows[0].maxAge, 60);
  assert.deepEqual(shapes.cookies(c), c, 'idempotent');
});

test('shapes: engine-shaped answers become the contract shapes', () => {
  const s = shapes.sessions([{ id: 'abc…', tag: 't', createdMs: 0, lastAccessMs: 1000, expiresMs: 86400000, authenticated: false, items: 0, bytes: 9 }]);
  assert.equal(s[0].created, '1970-01-01T00:00:00.000Z');
  assert.equal(s[0].expires, '1970-01-02T00:00:00.000Z');
  const ch = shapes.challenges([{ handle: 'h1', ceremony: 'registration', issuedMs: 0, expiresMs: 300000, consumedMs: null, state: 'issued' }]);
  assert.equal(ch[0].id, 'h1');
  assert.equal(ch[0].expires, '1970-01-01T00:05:00.000Z');
  assert.equal(ch[0].consumed, undefined);
  const cookies = shapes.cookies({
    rows: [
      { context: 'http', endpoint: 'normal', lifetime: 'metadata', header: 'x', policy: { name: 'keybench-session', http_only: true, secure: false, basis: 'plain_http', same_site: 'Lax', max_age_secs: 31536000, path: '/', host_prefix: false, lifetime: 'metadata' } },
      { context: 'https', endpoint: 'normal', lifetime: 'metadata', header: 'y', policy: { name: '__Host-keybench-session', http_only: true, secure: true, basis: 'direct_tls', same_site: 'None', max_age_secs: 31536000, path: '/', host_prefix: true, lifetime: 'metadata' } },
    ],
    current: { name: 'keybench-session', http_only: true, secure: false, basis: 'plain_http', same_site: 'Lax', max_age_secs: 31536000, path: '/', host_prefix: false },
  });
  assert.equal(cookies.current, 'http');
  assert.deepEqual(cookies.rows[1], { context: 'https', endpoint: 'normal', lifetime: 'metadata', name: '__Host-keybench-session', httpOnly: true, secure: true, sameSite: 'None', maxAge: 31536000, path: '/', hostPrefix: true, basis: 'direct_tls', header: 'y', current: undefined });
  const cl = shapes.cleanup({ report: { started_ms: 5000 }, status: { last: { trigger: 'manual', started_ms: 5000, duration_us: 1500, scanned: 4, removed_idle: 1, removed_empty: 2, removed_budget: 0, removed_challenges: 3, errors: ['e'] }, next_run_ms: 21600000, idle_limit_secs: 1209600, interval_secs: 21600 } });
  assert.equal(cl.lastRun, '1970-01-01T00:00:05.000Z');
  assert.equal(cl.durationMs, 1.5);
  assert.equal(cl.removed, 3);
  assert.equal(cl.idleLimitDays, 14);
  assert.equal(cl.intervalHours, 6);
  assert.deepEqual(cl.errors, ['e']);
  const k = shapes.key({ source: { kind: 'file', path: '/d/key' }, generated: true, fingerprint: 'f', previous_fingerprint: 'p', previous_valid_until_ms: 0, warnings: ['w1', 'w2'] });
  assert.deepEqual(k, { source: 'key file', sourceDetail: '/d/key', generated: true, fingerprint: 'f', previous: { fingerprint: 'p', validUntil: '1970-01-01T00:00:00.000Z' }, warning: 'w1 w2' });
  assert.equal(shapes.events([{ seq: 1, at_ms: 0, kind: 'session_created', severity: 'info', detail: '' }])[0].at, '1970-01-01T00:00:00.000Z');
});
