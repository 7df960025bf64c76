// Echo server on Node `ws` (tests/peers/node_modules): the harness's second reference peer.
//   node ws_echo_server.js PORT
// Messages up to 64 MiB; permessage-deflate on (off by default on a ws server) for
// sections 12/13, which changes nothing when the client does not offer it; prints
// "listening PORT" when ready.
'use strict';
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '../../peers/node_modules/ws'));

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: true,
                                  maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log('listening ' + port));
