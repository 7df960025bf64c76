// Benchmark peer: Bun.serve websocket echo (uWebSockets inside), no compression.
// Usage: bun bun_echo.js PORT   (listens on 127.0.0.1:PORT)
// On SIGTERM prints "closes clean=N other=M" to stderr (clean: the close frame carried 1000).
const port = Number(process.argv[2] || 9001);
let clean = 0, other = 0;
Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response('websocket only', { status: 400 });
  },
  websocket: {
    perMessageDeflate: false,
    maxPayloadLength: 64 * 1024 * 1024,
    idleTimeout: 0,
    message(ws, msg) { ws.send(msg); },
    close(ws, code) { if (code === 1000) clean++; else other++; },
  },
});
process.stdout.write('listening\n');
process.on('SIGTERM', () => { process.stderr.write(`closes clean=${clean} other=${other}\n`); process.exit(0); });
