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
