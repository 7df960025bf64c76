// Chromium (through playwright-core) as the client of the permessage-deflate interop (run.py):
//   node chromium_peer.js PORT N
// The page opens ws://127.0.0.1:PORT/, expects ws.extensions to name permessage-deflate, sends N
// messages (strings and ArrayBuffers, up to 200 KB), checks each echo, and closes with 1000.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const mods = process.env.WS_NODE_MODULES || path.join(__dirname, '..', 'peers', 'node_modules');
const { chromium } = require(path.join(mods, 'playwright-core'));
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const [port, N] = process.argv.slice(2).map(Number);
setTimeout(() => { console.log('chromium: timeout'); process.exit(9); }, 60000).unref();

function page(args) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${args.port}/`);
    ws.binaryType = 'arraybuffer';
    let i = 0, cur;
    const next = () => {
      if (i === args.n) { ws.close(1000, 'done'); return; }
      const len = i % 7 === 0 ? (i * 7919) % 200000 : (i * 131) % 2000;
      if (i % 2) cur = 'héllo wörld '.repeat(len / 12 + 1).slice(0, len);
      else { cur = new Uint8Array(len); for (let k = 0; k < len; k++) cur[k] = (k * 7 + (k >> 5)) & 15; }
      ws.send(cur);
      i++;
    };
    ws.onopen = () => next();
    ws.onmessage = (e) => {
      const ok = typeof cur === 'string' ? e.data === cur
        : e.data instanceof ArrayBuffer && e.data.byteLength === cur.length &&
          new Uint8Array(e.data).every((b, k) => b === cur[k]);
      if (!ok) { resolve({ error: `echo ${i - 1} differs`, extensions: ws.extensions }); ws.close(); return; }
      next();
    };
    ws.onclose = (e) => resolve({ echoed: i, code: e.code, wasClean: e.wasClean, extensions: ws.extensions });
  });
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclean-pmd-chromium-'));
  let browser;
  let rc = 1;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, ignoreDefaultArgs: true, timeout: 20000,
      args: [...FLAGS, `--user-data-dir=${dir}`, '--remote-debugging-pipe'] });
    const p = await (await browser.newContext()).newPage();
    const got = await p.evaluate(page, { port, n: N });
    console.log('chromium: ' + JSON.stringify(got));
    rc = got.echoed === N && got.code === 1000 && got.wasClean &&
      /^permessage-deflate/.test(got.extensions) ? 0 : 3;
  } catch (e) {
    console.log('chromium: ' + e.message);
    rc = 5;
  } finally {
    if (browser) await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(rc);
})();
