// Node ws peer for the permessage-deflate interop (run.py). Every message is compressed
// (threshold 0).
//   node node_peer.js server NCT [SW CW]   echo server on a free port, prints "ready PORT"
//   node node_peer.js client PORT NCT N    sends N messages, checks each echo, closes with 1000
// NCT 1: no context takeover both ways; SW/CW: serverMaxWindowBits/clientMaxWindowBits.
'use strict';
const path = require('path');
const mods = process.env.WS_NODE_MODULES || path.join(__dirname, '..', 'peers', 'node_modules');
const WebSocket = require(path.join(mods, 'ws'));
const [mode, a1, a2, a3, a4] = process.argv.slice(2);
setTimeout(() => { console.log('node: timeout'); process.exit(9); }, 30000).unref();

if (mode === 'server') {
  const nct = a1 === '1';
  const pmd = { threshold: 0, serverNoContextTakeover: nct, clientNoContextTakeover: nct };
  if (a2) pmd.serverMaxWindowBits = +a2;
  if (a3) pmd.clientMaxWindowBits = +a3;
  const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1 << 22,
                                              perMessageDeflate: pmd });
  wss.on('listening', () => console.log('ready ' + wss.address().port));
  wss.on('connection', (ws, req) => {
    console.log('node server: offer "' + req.headers['sec-websocket-extensions'] + '"');
    let n = 0;
    ws.on('message', (d, isBinary) => { n++; ws.send(d, { binary: isBinary }); });
    ws.on('close', (code) => {
      console.log('node server: ' + n + ' echoed, close ' + code);
      wss.close();
      process.exit(code === 1000 && n > 0 ? 0 : 3);
    });
  });
} else {
  const port = +a1, nct = a2 === '1', N = +a3;
  const ws = new WebSocket('ws://127.0.0.1:' + port + '/', { maxPayload: 1 << 22,
    perMessageDeflate: { threshold: 0, serverNoContextTakeover: nct, clientNoContextTakeover: nct } });
  let i = 0, cur;
  const next = () => {
    if (i === N) { ws.close(1000, 'done'); return; }
    const n = i % 7 === 0 ? Math.floor(Math.random() * 200000) : Math.floor(Math.random() * 2000);
    const text = i % 2 === 1;
    if (text) cur = Array.from({ length: n }, (_, k) => 'héllo wörld '[k % 12]).join('');
    else { cur = Buffer.alloc(n); for (let k = 0; k < n; k++) cur[k] = (k * 7 + (k >> 5)) & 15; }
    ws.send(cur, { binary: !text, fin: true });
    i++;
  };
  ws.on('open', () => { console.log('node client: accepted "' + ws.extensions + '"'); next(); });
  ws.on('message', (d, isBinary) => {
    const ok = isBinary ? Buffer.compare(d, cur) === 0 : d.toString() === cur;
    if (!ok) { console.log('node client: echo ' + (i - 1) + ' differs'); process.exit(3); }
    next();
  });
  ws.on('close', (code) => {
    console.log('node client: ' + i + ' echoed, close ' + code);
    process.exit(i === N && code === 1000 ? 0 : 4);
  });
  ws.on('error', (e) => { console.log('node client error: ' + e.message); process.exit(5); });
}
