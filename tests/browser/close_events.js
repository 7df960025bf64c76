#!/usr/bin/env node
// Browser tests: every row of the close-code table that a server can produce or a browser can
// send, as real Chromium reports it (code, reason, wasClean, whether `error` fired), checked
// against what `wsclean serve --verbose` logged for the same connection. Also drives the
// playground page once and saves a screenshot.
//
// usage: close_events.js WSCLEAN_BINARY ARTIFACT_DIR
// Exit status: 0 all passed, 1 a check failed, 77 skipped (no `wsclean serve` yet).
'use strict';

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const SKIP = 77;
const [wsclean, artifactDir = os.tmpdir()] = process.argv.slice(2);
const sourceDir = process.env.WSCLEAN_SOURCE_DIR || path.resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
// Exactly these flags: headless, no sandbox (containers), nothing that talks to the network.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function skip(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(SKIP);
}

if (!wsclean || !fs.existsSync(wsclean)) skip(`no wsclean binary at ${wsclean}`);
const serveHelp = spawnSync(wsclean, ['serve', '--help'], { encoding: 'utf8', timeout: 5000 });
if (serveHelp.status !== 0) skip('`wsclean serve` is not available yet');
// Rows whose scenario `wsclean serve --help` does not list yet are reported as skipped, not run.
const SERVE_HELP = serveHelp.stdout;
const HAVE_PROXY = spawnSync(wsclean, ['proxy', '--help'], { encoding: 'utf8', timeout: 5000 }).status === 0;
let chromium;
try {
  chromium = require(path.join(sourceDir, 'tests/peers/node_modules/playwright-core')).chromium;
} catch (e) {
  console.error(`playwright-core missing in tests/peers/node_modules (run scripts/install-deps.sh): ${e.message}`);
  process.exit(1);
}
if (!fs.existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} missing (run scripts/install-deps.sh)`);
  process.exit(1);
}

// ---- TAP-ish reporting -------------------------------------------------------------------------
let count = 0;
let failed = 0;
function check(cond, desc, detail) {
  count += 1;
  if (cond) {
    console.log(`ok ${count} - ${desc}`);
  } else {
    failed += 1;
    console.log(`not ok ${count} - ${desc}`);
    if (detail !== undefined) console.log(`  # ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  }
}

// ---- processes ---------------------------------------------------------------------------------
const children = [];

// Starts `wsclean <args>` and resolves once it printed its URL; collects its stderr log lines.
function startTool(args, urlPattern) {
  return new Promise((resolve, reject) => {
    const child = spawn(wsclean, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const proc = { child, lines: [], out: '', port: 0, exited: null };
    let done = false;
    const timer = setTimeout(() => {
      if (!done) reject(new Error(`wsclean ${args.join(' ')} printed no URL in 5 s: ${proc.out}`));
    }, 5000);
    const onData = (chunk) => {
      proc.out += chunk;
      let i;
      while ((i = proc.out.indexOf('\n')) >= 0) {
        const line = proc.out.slice(0, i);
        proc.out = proc.out.slice(i + 1);
        proc.lines.push(line);
        if (process.env.WSCLEAN_TEST_VERBOSE) console.log(`  # [${args[0]}] ${line}`);
        const m = !done && line.match(urlPattern);
        if (m) {
          done = true;
          clearTimeout(timer);
          proc.port = Number(m[1]);
          resolve(proc);
        }
      }
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, sig) => {
      proc.exited = { code, sig };
      if (!done) {
        clearTimeout(timer);
        reject(new Error(`wsclean ${args.join(' ')} exited (${code ?? sig}): ${proc.out}`));
      }
    });
  });
}

function waitExit(proc, ms) {
  return new Promise((resolve) => {
    if (proc.exited) return resolve(proc.exited);
    const timer = setTimeout(() => resolve(null), ms);
    proc.child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, sig });
    });
  });
}

// "wsclean: close id=3 target=/x code=1000 reason=\"bye\" wasClean=true ..." -> object
function parseLogLine(line) {
  const m = line.match(/\b(open|close) id=(\d+)/);
  if (!m) return null;
  const rec = { kind: m[1], id: Number(m[2]) };
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  let kv;
  while ((kv = re.exec(line))) {
    let v = kv[2];
    if (v.startsWith('"')) {
      try { v = JSON.parse(v); } catch { /* keep raw */ }
    }
    rec[kv[1]] = v;
  }
  return rec;
}

// The server's close line for the connection whose request target contains `tag`.
async function serverClose(proc, tag, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    for (const line of proc.lines) {
      const rec = parseLogLine(line);
      if (rec && rec.kind === 'close' && typeof rec.target === 'string' && rec.target.includes(tag)) return rec;
    }
    if (Date.now() > end) return null;
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---- the browser side --------------------------------------------------------------------------
// Runs in the page: opens a WebSocket, plays `steps` once open, resolves with the CloseEvent.
function browserCase({ url, steps, timeoutMs }) {
  return new Promise((resolve) => {
    const out = { events: [], exceptions: [], error: false, readyAfterRefusal: [] };
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      resolve({ ctorException: e.name });
      return;
    }
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => resolve({ ...out, timeout: true }), timeoutMs);
    ws.onopen = () => {
      out.events.push('open');
      for (const s of steps) {
        if (s.sendText !== undefined) ws.send(s.sendText);
        if (s.sendBinary !== undefined) ws.send(new Uint8Array(s.sendBinary));
        if (s.close) {
          try {
            ws.close(...s.close);
          } catch (e) {
            out.exceptions.push(e.name);
            out.readyAfterRefusal.push(ws.readyState);
          }
        }
      }
    };
    ws.onmessage = () => out.events.push('message');
    ws.onerror = () => {
      out.error = true;
      out.events.push('error');
    };
    ws.onclose = (e) => {
      out.events.push('close');
      clearTimeout(timer);
      Object.assign(out, { code: e.code, reason: e.reason, wasClean: e.wasClean });
      resolve(out);
    };
    // Lets the test runner reach this socket (signals are sent from outside).
    window.__lastSocket = ws;
  });
}

function openOnly(page, url) {
  // Opens a socket and keeps it in window.__held[name]; resolves when open (or closed).
  return page.evaluate((u) => new Promise((resolve) => {
    window.__held = window.__held || [];
    const ws = new WebSocket(u);
    const rec = { ws, error: false, close: null };
    window.__held.push(rec);
    ws.onopen = () => resolve(window.__held.length - 1);
    ws.onerror = () => { rec.error = true; };
    ws.onclose = (e) => {
      rec.close = { code: e.code, reason: e.reason, wasClean: e.wasClean, error: rec.error };
      resolve(window.__held.length - 1);
    };
  }), url);
}

function heldClose(page, idx, ms = 5000) {
  return page.evaluate(({ i, ms: limit }) => new Promise((resolve) => {
    const end = Date.now() + limit;
    (function poll() {
      const rec = window.__held[i];
      if (rec.close || Date.now() > end) return resolve(rec.close);
      setTimeout(poll, 20);
    })();
  }), { i: idx, ms });
}

function expectClose(desc, got, want) {
  const fields = ['code', 'reason', 'wasClean', 'error'];
  const diff = fields.filter((f) => want[f] !== undefined && got && got[f] !== want[f]);
  check(got && !got.timeout && diff.length === 0, `${desc}: browser CloseEvent ${JSON.stringify(pick(want, fields))}`,
    got ? pick(got, ['code', 'reason', 'wasClean', 'error', 'events', 'exceptions', 'timeout']) : 'no result');
}

function pick(o, keys) {
  const r = {};
  for (const k of keys) if (o && o[k] !== undefined) r[k] = o[k];
  return r;
}

function expectLog(desc, rec, want) {
  const diff = Object.keys(want).filter((k) => !rec || String(rec[k]) !== String(want[k]));
  check(rec && diff.length === 0, `${desc}: server log ${JSON.stringify(want)}`, rec || 'no close line in the server log');
}

// ---- the cases ---------------------------------------------------------------------------------
const R123 = `${'é'.repeat(61)}x`; // 123 bytes of UTF-8, multi-byte characters up to the edge
const R124 = `${'é'.repeat(62)}`; // 124 bytes

// [description, path, steps, browser expectation, server-log expectation]
// Server log fields: code/reason/wasClean are the server's own CloseEvent; sent = code it sent.
const CASES = [
  ['1000 with a reason', '/close?code=1000&reason=bye', [], { code: 1000, reason: 'bye', wasClean: true, error: false },
    { code: 1000, sent: 1000, wasClean: true, initiator: 'local' }],
  ['1000 without a reason', '/close?code=1000', [], { code: 1000, reason: '', wasClean: true, error: false },
    { code: 1000, sent: 1000, wasClean: true }],
  ['1001 going away (/shutdown)', '/shutdown', [], { code: 1001, wasClean: true, error: false }, { sent: 1001, wasClean: true }],
  ['1002 protocol error', '/protocol-error', [], { code: 1002, wasClean: true, error: false }, { sent: 1002 }],
  ['1003 binary to a text-only endpoint', '/text-only', [{ sendBinary: [1, 2, 3] }], { code: 1003, wasClean: true, error: false },
    { sent: 1003 }],
  ['1005 empty close frame', '/empty', [], { code: 1005, reason: '', wasClean: true, error: false }, { sent: 1005 }],
  // /drop: ws_terminate right after open (TCP FIN, no close frame). Chromium fires no `error` for it
  // (measured: events open, close), as WHATWG: a connection that just ends is closed, not failed.
  ['1006 TCP dropped', '/drop', [], { code: 1006, reason: '', wasClean: false, error: false }, { wasClean: false, code: 1006, error: 'WS_ERR_TERMINATED', sent: 0 }],
  ['1007 invalid payload', '/badutf8', [], { code: 1007, wasClean: true, error: false }, { sent: 1007 }],
  ['1008 policy (origin)', '/policy', [], { code: 1008, wasClean: true, error: false }, { sent: 1008 }],
  ['1009 message too big', '/toobig', [{ sendText: 'x'.repeat(200) }], { code: 1009, wasClean: true, error: false },
    { sent: 1009 }],
  ['1011 handler failed', '/fail', [], { code: 1011, wasClean: true, error: false }, { sent: 1011 }],
  ['1012 service restart', '/restart', [], { code: 1012, wasClean: true, error: false }, { sent: 1012 }],
  ['1013 try again later', '/overload', [], { code: 1013, wasClean: true, error: false }, { sent: 1013 }],
  ...[3000, 3003, 3008, 3999, 4000, 4999].map((c) => [`${c} from the server`, `/close?code=${c}&reason=r${c}`, [],
    { code: c, reason: `r${c}`, wasClean: true, error: false }, { code: c, sent: c, wasClean: true }]),
  ['a 123-byte reason', `/close?code=4000&reason=${encodeURIComponent(R123)}`, [],
    { code: 4000, reason: R123, wasClean: true, error: false }, { code: 4000, reason: R123, wasClean: true }],
  // The server echoes the code and the reason (as Python websockets and Node ws do), so
  // Chromium's CloseEvent shows the browser's own code and reason back.
  ...[1000, 3000, 4999].map((c) => [`browser closes with ${c}`, '/', [{ close: [c, `b${c}`] }],
    { code: c, reason: `b${c}`, wasClean: true, error: false },
    { code: c, reason: `b${c}`, wasClean: true, initiator: 'remote' }]),
  ['browser refused 1001 (InvalidAccessError), then closes with 1000', '/', [{ close: [1001, 'x'] }, { close: [1000] }],
    { code: 1000, wasClean: true, error: false, exceptions: ['InvalidAccessError'] }, { code: 1000, initiator: 'remote' }],
  ['browser refused a 124-byte reason (SyntaxError), then closes with 1000', '/', [{ close: [1000, R124] }, { close: [1000] }],
    { code: 1000, wasClean: true, error: false, exceptions: ['SyntaxError'] }, { code: 1000, initiator: 'remote' }],
];

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclean-chromium-'));
  fs.mkdirSync(artifactDir, { recursive: true });
  let browser;
  try {
    const serve = await startTool(['serve', '--port', '0', '--verbose'], /http:\/\/127\.0\.0\.1:(\d+)\//);
    const base = `127.0.0.1:${serve.port}`;
    // ignoreDefaultArgs: Chromium gets our flags only (plus the pipe playwright talks over).
    browser = await chromium.launch({
      executablePath: CHROMIUM, ignoreDefaultArgs: true, timeout: 20000,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${userDataDir}`, '--remote-debugging-pipe'],
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    if (process.env.WSCLEAN_TEST_VERBOSE) page.on('console', (m) => console.log(`  # [chromium] ${m.text()}`));
    await page.goto(`http://${base}/`);

    let n = 0;
    // WSCLEAN_TEST_ONLY=regex runs only the matching table rows (when chasing one failure).
    const only = process.env.WSCLEAN_TEST_ONLY ? new RegExp(process.env.WSCLEAN_TEST_ONLY) : null;
    for (const [desc, p, steps, wantBrowser, wantLog] of CASES) {
      n += 1;
      if (only && !only.test(desc)) continue;
      const scenario = p.split('?')[0];
      if (scenario !== '/' && !SERVE_HELP.includes(scenario)) {
        count += 1;
        console.log(`ok ${count} - ${desc} # SKIP ${scenario} is not in \`wsclean serve --help\` yet`);
        continue;
      }
      const tag = `t=${n}`;
      const url = `ws://${base}${p}${p.includes('?') ? '&' : '?'}${tag}`;
      const got = await page.evaluate(browserCase, { url, steps, timeoutMs: 8000 });
      expectClose(desc, got, wantBrowser);
      if (wantBrowser.exceptions) {
        check(JSON.stringify(got.exceptions) === JSON.stringify(wantBrowser.exceptions) && got.readyAfterRefusal.every((s) => s === 1),
          `${desc}: close() threw ${wantBrowser.exceptions} and the socket stayed OPEN`, got.exceptions);
      }
      expectLog(desc, await serverClose(serve, tag), wantLog);
    }

    if (!only) {
      // The playground page, driven as a person would, in French.
      await drivePlayground(page, base);
      // Signals and limits on a second server: 1013 at --max-connections, 1012 on SIGHUP, 1001 on SIGTERM.
      await signals(page, base);
      // 1014 through the proxy when the upstream cannot be reached.
      if (HAVE_PROXY) await proxy(page, serve);
      else console.log(`ok ${++count} - 1014 through the proxy # SKIP no \`wsclean proxy\` yet`);
    }

    serve.child.kill('SIGTERM');
    const ex = await waitExit(serve, 5000);
    check(ex && ex.code === 0, 'serve exits 0 after SIGTERM', ex);
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(`1..${count}`);
  if (failed) console.log(`# ${failed} of ${count} failed`);
  process.exit(failed ? 1 : 0);
}

async function drivePlayground(page, base) {
  const fr = await (await fetch(`http://${base}/codes.json?lang=fr`)).json();
  const rows = Array.isArray(fr) ? fr : fr.rows || fr.codes;
  const row4000 = rows.find((r) => (r.range_lo ?? r.code) <= 4000 && 4000 <= (r.range_hi ?? r.code));
  check(row4000 && row4000.description, '/codes.json?lang=fr has a description for 4000', row4000);

  await page.goto(`http://${base}/?lang=fr`);
  // The scenario list offers what /scenarios.json says this server has; the rest is disabled.
  const offered = (await (await fetch(`http://${base}/scenarios.json`)).json()).scenarios;
  await page.waitForFunction(() => document.querySelectorAll('#scenario option:disabled').length > 0 ||
    document.querySelectorAll('#scenario option').length > 0, null, { timeout: 5000 });
  await page.waitForTimeout(200); // the list is rebuilt once /scenarios.json arrives
  const options = await page.evaluate(() => Array.from(document.querySelectorAll('#scenario option'),
    (o) => ({ path: o.textContent.trim().split(/\s+/)[1], disabled: o.disabled })));
  const wrong = options.filter((o) => o.path !== '/' && o.disabled === offered.includes(o.path.split('?')[0]));
  check(options.length === 14 && wrong.length === 0, `playground: scenarios offered = /scenarios.json (${offered.length})`,
    { offered, wrong });
  await page.selectOption('#scenario', 'close');
  await page.fill('#sc-code', '4000');
  await page.fill('#sc-reason', 'au revoir');
  await page.click('#btn-connect');
  await page.waitForFunction(() => document.getElementById('r-code').textContent === '4000', null, { timeout: 5000 });
  const shown = await page.evaluate(() => ({
    code: document.getElementById('r-code').textContent,
    name: document.getElementById('r-name').textContent,
    meaning: document.getElementById('r-meaning').textContent,
    reason: document.getElementById('r-reason').textContent,
    clean: document.getElementById('r-clean').dataset.value,
    error: document.getElementById('r-error').dataset.value,
    kinds: Array.from(document.querySelectorAll('#timeline li'), (li) => li.dataset.kind),
    lang: document.documentElement.lang,
  }));
  check(shown.reason === '"au revoir"' && shown.clean === 'true' && shown.error === 'false',
    'playground: CloseEvent 4000 "au revoir" wasClean yes, no error', shown);
  check(shown.lang === 'fr' && row4000 && shown.meaning === row4000.description && shown.name === row4000.name,
    'playground: name and meaning in French from /codes.json', shown);
  check(JSON.stringify(shown.kinds.filter((k) => k !== 'exception')) === JSON.stringify(['connect', 'open', 'close']),
    'playground: timeline connect, open, close', shown.kinds);

  // Echo, then the refused close (the browser's exception shown), then a clean close.
  await page.selectOption('#scenario', 'echo');
  await page.click('#btn-connect');
  await page.waitForFunction(() => document.getElementById('ready-state').textContent === 'OPEN', null, { timeout: 5000 });
  await page.fill('#text', 'bonjour');
  await page.click('#btn-send-text');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('#timeline li')).some((li) => li.dataset.kind === 'message'),
    null, { timeout: 5000 });
  await page.fill('#close-code', '1001');
  await page.click('#btn-close');
  const exc = await page.textContent('#exception');
  check(/^InvalidAccessError/.test(exc), 'playground: close(1001) shows InvalidAccessError', exc);
  await page.fill('#close-code', '3000');
  await page.fill('#close-reason', 'fini');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('r-code').textContent === '3000', null, { timeout: 5000 });
  const png = path.join(artifactDir, 'playground.png');
  await page.screenshot({ path: png, fullPage: true });
  check(fs.statSync(png).size > 1000, `playground: screenshot saved to ${png}`);
}

async function signals(page, base0) {
  // --origin: only pages served by the first server may connect (1008's HTTP cousin: 403).
  const srv = await startTool(['serve', '--port', '0', '--verbose', '--max-connections', '1', '--origin', `http://${base0}`],
    /http:\/\/127\.0\.0\.1:(\d+)\//);
  const base = `127.0.0.1:${srv.port}`;
  await page.goto(`http://${base0}/`); // any page on loopback will do
  const first = await openOnly(page, `ws://${base}/?t=held1`);
  const second = await openOnly(page, `ws://${base}/?t=refused`);
  const c2 = await heldClose(page, second);
  expectClose('1013 over --max-connections', c2 && { ...c2 }, { code: 1013, wasClean: true, error: false });
  srv.child.kill('SIGHUP');
  const c1 = await heldClose(page, first);
  expectClose('1012 on SIGHUP', c1, { code: 1012, wasClean: true, error: false });
  expectLog('1012 on SIGHUP', await serverClose(srv, 't=held1'), { sent: 1012, wasClean: true });
  // A page of another origin (this server's own page) is refused with 403: Chromium says only 1006 + error.
  await page.goto(`http://${base}/`);
  const refused = await page.evaluate(browserCase, { url: `ws://${base}/?t=forbidden`, steps: [], timeoutMs: 8000 });
  expectClose('--origin: another origin gets 403', refused, { code: 1006, reason: '', wasClean: false, error: true });
  check(!(await serverClose(srv, 't=forbidden', 300)), '--origin: no connection was logged for the refused handshake');
  await page.goto(`http://${base0}/`);
  const third = await openOnly(page, `ws://${base}/?t=held3`);
  srv.child.kill('SIGTERM');
  const c3 = await heldClose(page, third);
  expectClose('1001 on SIGTERM (graceful shutdown)', c3, { code: 1001, wasClean: true, error: false });
  expectLog('1001 on SIGTERM', await serverClose(srv, 't=held3'), { sent: 1001, wasClean: true });
  const ex = await waitExit(srv, 5000);
  check(ex && ex.code === 0, 'serve exits 0 after a graceful shutdown', ex);
}

async function proxy(page, serve) {
  // Port 1 on loopback: nothing listens there, the connect is refused at once.
  const px = await startTool(['proxy', '--listen', '0', '--to', 'ws://127.0.0.1:1/', '--verbose'], /ws:\/\/127\.0\.0\.1:(\d+)/);
  const got = await page.evaluate(browserCase, { url: `ws://127.0.0.1:${px.port}/`, steps: [], timeoutMs: 8000 });
  expectClose('1014 through the proxy (upstream unreachable)', got, { code: 1014, wasClean: true, error: false });
  px.child.kill('SIGTERM');
  await waitExit(px, 3000);

  const px2 = await startTool(['proxy', '--listen', '0', '--to', `ws://127.0.0.1:${serve.port}`, '--verbose'],
    /ws:\/\/127\.0\.0\.1:(\d+)/);
  const pass = await page.evaluate(browserCase,
    { url: `ws://127.0.0.1:${px2.port}/close?code=4321&reason=through&t=px`, steps: [], timeoutMs: 8000 });
  expectClose('4321 passes through the proxy unchanged', pass, { code: 4321, reason: 'through', wasClean: true, error: false });
  px2.child.kill('SIGTERM');
  await waitExit(px2, 3000);
}

main().catch((e) => {
  console.log(`not ok ${count + 1} - ${e.stack || e}`);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  process.exit(1);
});
