// Node peers for tests/interop/run.py: a `ws` server, and `ws` / undici WebSocket clients.
//   node node_peer.js server-ws                      -> prints "listening PORT", then one JSON
//                                                       line per closed connection
//   node node_peer.js client-ws|client-undici URL ACTION_JSON -> one JSON line with the result
// Module lookup: NODE_PATH points at tests/peers/node_modules (set by run.py).
'use strict';
const mode = process.argv[2];
const guard = setTimeout(() => { console.log(JSON.stringify({ error: 'node guard timeout' })); process.exit(3); }, 100000);

function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i * 7 + seed) % 26);
  return b;
}

if (mode === 'server-ws') {
  const { WebSocketServer } = require('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20,
                                    handleProtocols: (set) => (set.has('chat') ? 'chat' : false) });
  wss.on('listening', () => console.log('listening ' + wss.address().port));
  wss.on('connection', (ws, req) => {
    const path = req.url;
    const parts = path.split('/');
    const report = (code, reason) => console.log(JSON.stringify({ path, code, reason: reason.toString() }));
    ws.on('close', report);
    ws.on('error', () => {});
    if (parts[1] === 'echo') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    } else if (parts[1] === 'close') {
      const code = Number(parts[2]);
      const reason = parts[3] === '-' ? undefined : parts[3].startsWith('@') ? 'r'.repeat(Number(parts[3].slice(1))) : parts[3];
      if (code === 0) ws.close(); else ws.close(code, reason);
    } else if (parts[1] === 'drop') {
      ws.terminate();
    } else if (parts[1] === 'bad-utf8') {
      ws._socket.write(Buffer.from([0x81, 0x02, 0xc3, 0x28]));
    } else if (parts[1] === 'bad-opcode') {
      ws._socket.write(Buffer.from([0x83, 0x00]));
    } else if (parts[1] === 'big') {
      ws.send(pattern(Number(parts[2]), 0));
    } else if (parts[1] === 'frag') {
      ws.send('part1', { fin: false });
      ws.send('part2', { fin: false });
      ws.send('part3', { fin: true });
      ws.close(1000, 'frag-done');
    } else if (parts[1] === 'ping') {
      ws.on('pong', () => ws.close(1000, 'pong-ok'));
      ws.ping('hi');
    }
  });
} else if (mode === 'client-ws' || mode === 'client-undici' || mode === 'batch') {
  // batch KIND [[url, action], ...]: run the scenarios one after the other (one Node start-up
  // for all of them), one JSON line each.
  const runs = mode === 'batch' ? JSON.parse(process.argv[4]).map((r) => [process.argv[3], r[0], r[1]])
                                : [[mode, process.argv[3], JSON.parse(process.argv[4])]];
  (async () => {
    for (const [kind, url, action] of runs) console.log(JSON.stringify(await runClient(kind, url, action)));
    clearTimeout(guard);
    process.exit(0);
  })();
} else {
  console.error('unknown mode ' + mode);
  process.exit(2);
}

function runClient(kind, url, action) {
  return new Promise((resolve) => {
    const isWs = kind === 'client-ws';
    const protocols = action.protocols || [];
    let ws;
    try {
      ws = isWs ? new (require('ws'))(url, protocols, Object.assign({ maxPayload: 64 << 20 }, action.origin ? { origin: action.origin } : {}))
                : new (require('undici').WebSocket)(url, protocols.length ? protocols : undefined);
    } catch (e) {
      resolve({ exception: String(e) });
      return;
    }
    ws.binaryType = 'arraybuffer';
    const out = { events: [] };
    let echoIdx = 0, echoPhase = 0, expect = null, done = false;
    const timer = setTimeout(() => finish(0, 'scenario timeout', false), 15000);
    const sendNext = () => {
      if (echoIdx >= action.sizes.length) { out.echo = 'ok'; ws.close(1000); return; }
      const n = action.sizes[echoIdx];
      expect = pattern(n, echoIdx * 2 + echoPhase);
      if (echoPhase === 0) ws.send(expect.toString('latin1')); else ws.send(expect);
    };
    const onOpen = () => {
      out.events.push('open');
      out.protocol = ws.protocol;
      switch (action.op) {
        case 'echo': sendNext(); break;
        case 'close':
          if (action.code === 0) ws.close(); else if (action.reason === undefined) ws.close(action.code); else ws.close(action.code, action.reason);
          break;
        case 'drop':
          if (isWs) ws.terminate(); else { out.error = 'drop unsupported'; ws.close(); }
          break;
        case 'big': ws.send(pattern(action.n, 0)); break;
        case 'frag':
          if (isWs) { ws.send('part1', { fin: false }); ws.send('part2', { fin: false }); ws.send('part3', { fin: true }); }
          else ws.send('part1part2part3');
          break;
        case 'ping':
          if (isWs) { ws.on('pong', () => { out.pong = true; ws.close(1000, 'pong-ok'); }); ws.ping('hi'); }
          break;
        default: break;
      }
    };
    const onMessage = (buf, isText) => {
      if (action.op === 'echo') {
        if ((echoPhase === 0) !== isText || !buf.equals(expect)) { out.echo = 'bad at ' + echoIdx; ws.close(1000); return; }
        if (++echoPhase === 2) { echoPhase = 0; echoIdx++; }
        sendNext();
      } else if (action.op === 'frag') {
        out.message = buf.toString();
        ws.close(1000, 'frag-ok');
      } else {
        out.events.push('message ' + buf.length);
      }
    };
    function finish(code, reason, wasClean) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      out.code = code; out.reason = reason.toString(); if (wasClean !== undefined) out.clean = wasClean;
      resolve(out);
    }
    if (isWs) {
      ws.on('open', onOpen);
      ws.on('message', (d, isBinary) => onMessage(Buffer.from(d), !isBinary));
      ws.on('error', (e) => { out.events.push('error'); out.errorText = String(e && e.message); });
      ws.on('unexpected-response', (req, res) => { out.status = res.statusCode; finish(1006, '', false); });
      ws.on('close', (code, reason) => finish(code, reason));
    } else {
      ws.onopen = onOpen;
      ws.onmessage = (e) => onMessage(typeof e.data === 'string' ? Buffer.from(e.data, 'latin1') : Buffer.from(e.data), typeof e.data === 'string');
      ws.onerror = () => out.events.push('error');
      ws.onclose = (e) => finish(e.code, e.reason, e.wasClean);
    }
  });
}
