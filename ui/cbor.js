// A small CBOR encoder for the Decoder page's "Encode" card (the Python
// platform's codec had one): JSON in, canonical CBOR out (RFC 8949 §4.2.1
// core deterministic encoding = CTAP2 canonical: shortest heads, map keys
// sorted by their encoded bytes). JSON cannot say "bytes" or "integer key",
// so: a string "h'00ff'" is a byte string, an object key that is an integer
// ("1", "-7") is an integer key, {"$tag": n, "value": v} is a tag.

const MAX_DEPTH = 32;

function head(major, n) {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  if (n < 0x100000000) return [m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const big = BigInt(n);
  const out = [m | 27];
  for (let i = 7; i >= 0; i--) out.push(Number((big >> BigInt(i * 8)) & 0xffn));
  return out;
}

function int(n) {
  if (!Number.isSafeInteger(n)) throw new Error(`${n} is not an integer CBOR can carry exactly here`);
  return n >= 0 ? head(0, n) : head(1, -1 - n);
}

function float(x) {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  return [0xfb, ...new Uint8Array(b.buffer)];
}

const utf8 = (s) => Array.from(new TextEncoder().encode(s));
const cmp = (a, b) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
};

function enc(v, depth) {
  if (depth > MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH}`);
  if (v === null) return [0xf6];
  if (v === true) return [0xf5];
  if (v === false) return [0xf4];
  if (typeof v === 'number') return Number.isInteger(v) ? int(v) : float(v);
  if (typeof v === 'string') {
    const m = /^h'([0-9a-fA-F\s]*)'$/.exec(v);
    if (m) {
      const hex = m[1].replace(/\s+/g, '');
      if (hex.length % 2) throw new Error(`odd number of hex digits in ${v.slice(0, 40)}`);
      const bytes = hex.match(/../g)?.map((x) => parseInt(x, 16)) || [];
      return [...head(2, bytes.length), ...bytes];
    }
    const b = utf8(v);
    return [...head(3, b.length), ...b];
  }
  if (Array.isArray(v)) return [...head(4, v.length), ...v.flatMap((x) => enc(x, depth + 1))];
  if (typeof v === 'object') {
    if (Object.keys(v).length === 2 && '$tag' in v && 'value' in v) return [...head(6, v.$tag), ...enc(v.value, depth + 1)];
    const entries = Object.entries(v).map(([k, x]) => {
      const key = /^-?\d+$/.test(k) ? int(Number(k)) : enc(k, depth + 1);
      return [key, enc(x, depth + 1)];
    }).sort((a, b) => cmp(a[0], b[0]));
    return [...head(5, entries.length), ...entries.flatMap(([k, x]) => [...k, ...x])];
  }
  throw new Error(`cannot encode ${typeof v}`);
}

/** JSON value → canonical CBOR bytes. */
export function encodeCbor(value) {
  return Uint8Array.from(enc(value, 0));
}
