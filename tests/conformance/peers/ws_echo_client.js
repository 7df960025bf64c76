// Echo client on Node `ws`: echoes every message, exits when the connection closes.
//   node ws_echo_client.js URL
// permessage-deflate is offered (the ws client default) for sections 12/13.
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '../../peers/node_modules/ws'));

const ws = new WebSocket(process.argv[2], { perMessageDeflate: true, maxPayload: 64 << 20 });
ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
ws.on('error', () => {});
ws.on('close', () => process.exit(0));
