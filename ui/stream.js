// Server-sent events read with fetch and a stream reader (EventSource cannot
// send the `Authorization: Bearer` launch secret), with reconnection after
// 1, 2, 4 … 30 s (plus jitter), reset once a connection delivers an event.

/**
 * Opens `url` and calls `onEvent(name, data)` for each message, `onState(state,
 * info)` with 'connecting' | 'live' | 'reconnecting' {seconds, reason} |
 * 'denied' {status, message} (no retry: the secret is wrong) | 'stopped'.
 * Returns a function that stops it.
 */
export function eventStream(url, { headers = {}, onEvent, onState = () => {} }) {
  let stopped = false;
  let controller = null;
  let attempt = 0;
  let timer = null;

  const connect = async () => {
    if (stopped) return;
    controller = new AbortController();
    onState('connecting');
    let reason = 'the connection closed';
    try {
      const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: controller.signal, cache: 'no-store', credentials: 'same-origin' });
      if (res.status === 401 || res.status === 403 || res.status === 421) {
        let message = res.statusText;
        try { const j = await res.json(); message = j.message || message; } catch { /* not JSON */ }
        onState('denied', { status: res.status, message });
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      await read(res.body, (name, data) => {
        if (attempt) attempt = 0;
        onState('live');
        onEvent(name, data);
      }, () => onState('live'));
    } catch (e) {
      if (stopped) return;
      reason = e.message || String(e);
    }
    if (stopped) return;
    const seconds = Math.min(30, 2 ** attempt) + Math.random() * 0.5;
    attempt += 1;
    onState('reconnecting', { seconds: Math.round(seconds), reason });
    timer = setTimeout(connect, seconds * 1000);
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (controller) controller.abort();
    onState('stopped');
  };
}

/** Parses the text/event-stream body (WHATWG HTML §9.2 field rules). */
async function read(body, dispatch, onOpen) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data = [];
  onOpen();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone CR at the end may be the first half of a CRLF: wait for more.
      if (buffer[nl] === '\r' && nl === buffer.length - 1) break;
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length) {
          const text = data.join('\n');
          let parsed;
          try { parsed = JSON.parse(text); } catch { parsed = text; }
          dispatch(event || 'message', parsed);
        }
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const fieldName = colon < 0 ? line : line.slice(0, colon);
      let val = colon < 0 ? '' : line.slice(colon + 1);
      if (val.startsWith(' ')) val = val.slice(1);
      if (fieldName === 'event') event = val;
      else if (fieldName === 'data') data.push(val);
    }
  }
}
