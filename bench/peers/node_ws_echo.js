// Benchmark peer: Node `ws` echo server (bufferutil for masking), no compression.
// Usage: node node_ws_echo.js PORT   (listens on 127.0.0.1:PORT)
// On SIGTERM prints "closes clean=N other=M" to stderr: a close is counted clean when the
// client's close frame carried 1000 (the loadgen's churn mode sends 1000).
'use strict';
const path = require('path');
const peers = process.env.WS_NODE_PEERS || path.join(__dirname, '..', '..', 'tests', 'peers', 'node_modules');
const { WebSocketServer } = require(path.join(peers, 'ws'));
require(path.join(peers, 'bufferutil')); // fail loudly if the native masker is missing
const port = Number(process.argv[2] || 9001);
let clean = 0, other = 0;
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false,
                                  maxPayload: 64 * 1024 * 1024, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
  ws.on('close', (code) => { if (code === 1000) clean++; else other++; });
});
wss.on('listening', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => { process.stderr.write(`closes clean=${clean} other=${other}\n`); process.exit(0); });
