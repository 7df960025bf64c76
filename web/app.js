// wsclean CloseEvent playground. Plain JavaScript, no framework, no build step.
//
// Everything the page says about a close code (its name and meaning) comes from the C registry
// through GET /codes.json?lang=xx, served by `wsclean serve`; nothing of it is repeated here.
// Only the page's own labels are translated below.
'use strict';

const LANGS = ['en', 'es', 'pt', 'fr'];

// Server scenarios (see `wsclean serve --help`). `code` is what the browser should report.
const SCENARIOS = [
  { id: 'echo', path: '/' },
  { id: 'close', path: '/close', params: true },
  { id: 'empty', path: '/empty', code: 1005 },
  { id: 'drop', path: '/drop', code: 1006 },
  { id: 'noclose', path: '/noclose' },
  { id: 'fail', path: '/fail', code: 1011 },
  { id: 'shutdown', path: '/shutdown', code: 1001 },
  { id: 'restart', path: '/restart', code: 1012 },
  { id: 'overload', path: '/overload', code: 1013 },
  { id: 'policy', path: '/policy', code: 1008 },
  { id: 'protocol', path: '/protocol-error', code: 1002 },
  { id: 'badutf8', path: '/badutf8', code: 1007 },
  { id: 'toobig', path: '/toobig', code: 1009 },
  { id: 'textonly', path: '/text-only', code: 1003 },
];

const UI = {
  en: {
    title: 'CloseEvent playground',
    subtitle: 'Open a WebSocket, end it any way you like, and read the CloseEvent your browser reports.',
    language: 'Language', connect_h: '1. Connect', scenario: 'Scenario',
    server_code: 'Code the server sends', server_reason: 'Reason', connect: 'Connect',
    send_h: '2. Send', text: 'Text', send_text: 'Send text', hex: 'Bytes (hex)', send_bin: 'Send binary',
    close_h: '3. Close from the browser', code: 'Code', reason: 'Reason', close: 'close()',
    close_help: 'Leave the code empty to call close() without a code. Browsers allow only 1000 and 3000–4999, and a reason of at most 123 UTF-8 bytes: try 1001 or a long reason to see the exception.',
    result_h: 'Last CloseEvent', ready_state: 'readyState', name: 'name', meaning: 'meaning',
    error_fired: 'error event fired', timeline_h: 'Timeline', clear: 'Clear',
    footer: 'Served by wsclean. Names and meanings come from the wsclean close-code registry (/codes.json).',
    unavailable: 'not on this server',
    yes: 'yes', no: 'no', bytes: 'bytes', not_open: 'Not connected: press Connect first.',
    bad_hex: 'Not hexadecimal: write bytes like "de ad be ef".', connecting: 'connecting to',
    sent: 'sent', received: 'received', binary: 'binary', no_registry: 'registry unavailable',
    sc: {
      echo: 'Echo (/): every message comes back. Close it yourself below.',
      close: 'The server closes right after the opening handshake with the code and reason you choose (/close?code=&reason=).',
      empty: 'The server sends a close frame with no body: the browser reports 1005.',
      drop: 'The server drops TCP without a close frame: 1006, wasClean false.',
      noclose: 'The server never answers your close frame: the browser waits for its own close timeout.',
      fail: 'The server\'s handler fails: it closes with 1011.',
      shutdown: 'The server goes away as in a graceful shutdown: 1001.',
      restart: 'The server restarts: 1012, come back soon.',
      overload: 'The server is overloaded: 1013, try again later.',
      policy: 'The server refuses this client by policy (its origin): 1008.',
      protocol: 'The server closes with 1002, as after a protocol error.',
      badutf8: 'The server closes with 1007, as after text that was not UTF-8.',
      toobig: 'Messages over 125 bytes are too big here: send a long text to get 1009.',
      textonly: 'This endpoint accepts text only: send binary to get 1003.',
    },
  },
  es: {
    title: 'Banco de pruebas de CloseEvent',
    subtitle: 'Abre un WebSocket, termínalo como quieras y lee el CloseEvent que informa tu navegador.',
    language: 'Idioma', connect_h: '1. Conectar', scenario: 'Escenario',
    server_code: 'Código que envía el servidor', server_reason: 'Motivo', connect: 'Conectar',
    send_h: '2. Enviar', text: 'Texto', send_text: 'Enviar texto', hex: 'Bytes (hex)', send_bin: 'Enviar binario',
    close_h: '3. Cerrar desde el navegador', code: 'Código', reason: 'Motivo', close: 'close()',
    close_help: 'Deja el código vacío para llamar a close() sin código. Los navegadores solo aceptan 1000 y 3000–4999, y un motivo de 123 bytes UTF-8 como máximo: prueba 1001 o un motivo largo para ver la excepción.',
    result_h: 'Último CloseEvent', ready_state: 'readyState', name: 'nombre', meaning: 'significado',
    error_fired: 'se disparó el evento error', timeline_h: 'Cronología', clear: 'Borrar',
    footer: 'Servido por wsclean. Los nombres y significados vienen del registro de códigos de cierre de wsclean (/codes.json).',
    unavailable: 'no disponible en este servidor',
    yes: 'sí', no: 'no', bytes: 'bytes', not_open: 'Sin conexión: pulsa Conectar primero.',
    bad_hex: 'No es hexadecimal: escribe bytes como "de ad be ef".', connecting: 'conectando a',
    sent: 'enviado', received: 'recibido', binary: 'binario', no_registry: 'registro no disponible',
    sc: {
      echo: 'Eco (/): cada mensaje vuelve. Ciérralo tú más abajo.',
      close: 'El servidor cierra justo tras el handshake con el código y el motivo que elijas (/close?code=&reason=).',
      empty: 'El servidor envía una trama de cierre sin cuerpo: el navegador informa 1005.',
      drop: 'El servidor corta TCP sin trama de cierre: 1006, wasClean false.',
      noclose: 'El servidor nunca responde a tu trama de cierre: el navegador espera su propio plazo.',
      fail: 'El manejador del servidor falla: cierra con 1011.',
      shutdown: 'El servidor se va, como en un apagado ordenado: 1001.',
      restart: 'El servidor se reinicia: 1012, vuelve pronto.',
      overload: 'El servidor está sobrecargado: 1013, inténtalo más tarde.',
      policy: 'El servidor rechaza a este cliente por política (su origen): 1008.',
      protocol: 'El servidor cierra con 1002, como tras un error de protocolo.',
      badutf8: 'El servidor cierra con 1007, como tras un texto que no era UTF-8.',
      toobig: 'Aquí los mensajes de más de 125 bytes son demasiado grandes: envía un texto largo para obtener 1009.',
      textonly: 'Este punto solo acepta texto: envía binario para obtener 1003.',
    },
  },
  pt: {
    title: 'Laboratório de CloseEvent',
    subtitle: 'Abra um WebSocket, encerre-o como quiser e leia o CloseEvent que o seu navegador informa.',
    language: 'Idioma', connect_h: '1. Conectar', scenario: 'Cenário',
    server_code: 'Código que o servidor envia', server_reason: 'Motivo', connect: 'Conectar',
    send_h: '2. Enviar', text: 'Texto', send_text: 'Enviar texto', hex: 'Bytes (hex)', send_bin: 'Enviar binário',
    close_h: '3. Fechar pelo navegador', code: 'Código', reason: 'Motivo', close: 'close()',
    close_help: 'Deixe o código vazio para chamar close() sem código. Os navegadores só aceitam 1000 e 3000–4999, e um motivo de no máximo 123 bytes UTF-8: tente 1001 ou um motivo longo para ver a exceção.',
    result_h: 'Último CloseEvent', ready_state: 'readyState', name: 'nome', meaning: 'significado',
    error_fired: 'evento error disparado', timeline_h: 'Linha do tempo', clear: 'Limpar',
    footer: 'Servido pelo wsclean. Nomes e significados vêm do registro de códigos de fechamento do wsclean (/codes.json).',
    unavailable: 'indisponível neste servidor',
    yes: 'sim', no: 'não', bytes: 'bytes', not_open: 'Sem conexão: clique em Conectar primeiro.',
    bad_hex: 'Não é hexadecimal: escreva bytes como "de ad be ef".', connecting: 'conectando a',
    sent: 'enviado', received: 'recebido', binary: 'binário', no_registry: 'registro indisponível',
    sc: {
      echo: 'Eco (/): cada mensagem volta. Feche você mesmo abaixo.',
      close: 'O servidor fecha logo após o handshake com o código e o motivo que você escolher (/close?code=&reason=).',
      empty: 'O servidor envia um quadro de fechamento sem corpo: o navegador informa 1005.',
      drop: 'O servidor derruba o TCP sem quadro de fechamento: 1006, wasClean false.',
      noclose: 'O servidor nunca responde ao seu quadro de fechamento: o navegador espera o próprio prazo.',
      fail: 'O tratador do servidor falha: fecha com 1011.',
      shutdown: 'O servidor vai embora, como num desligamento ordenado: 1001.',
      restart: 'O servidor reinicia: 1012, volte logo.',
      overload: 'O servidor está sobrecarregado: 1013, tente mais tarde.',
      policy: 'O servidor recusa este cliente por política (a origem): 1008.',
      protocol: 'O servidor fecha com 1002, como após um erro de protocolo.',
      badutf8: 'O servidor fecha com 1007, como após um texto que não era UTF-8.',
      toobig: 'Aqui mensagens com mais de 125 bytes são grandes demais: envie um texto longo para obter 1009.',
      textonly: 'Este endpoint só aceita texto: envie binário para obter 1003.',
    },
  },
  fr: {
    title: 'Banc d\'essai CloseEvent',
    subtitle: 'Ouvrez un WebSocket, terminez-le comme vous voulez et lisez le CloseEvent que rapporte votre navigateur.',
    language: 'Langue', connect_h: '1. Se connecter', scenario: 'Scénario',
    server_code: 'Code envoyé par le serveur', server_reason: 'Raison', connect: 'Se connecter',
    send_h: '2. Envoyer', text: 'Texte', send_text: 'Envoyer le texte', hex: 'Octets (hex)', send_bin: 'Envoyer en binaire',
    close_h: '3. Fermer depuis le navigateur', code: 'Code', reason: 'Raison', close: 'close()',
    close_help: 'Laissez le code vide pour appeler close() sans code. Les navigateurs n\'acceptent que 1000 et 3000–4999, et une raison d\'au plus 123 octets UTF-8 : essayez 1001 ou une longue raison pour voir l\'exception.',
    result_h: 'Dernier CloseEvent', ready_state: 'readyState', name: 'nom', meaning: 'signification',
    error_fired: 'événement error déclenché', timeline_h: 'Chronologie', clear: 'Effacer',
    footer: 'Servi par wsclean. Les noms et significations viennent du registre des codes de fermeture de wsclean (/codes.json).',
    unavailable: 'absent de ce serveur',
    yes: 'oui', no: 'non', bytes: 'octets', not_open: 'Pas de connexion : cliquez d\'abord sur Se connecter.',
    bad_hex: 'Pas de l\'hexadécimal : écrivez des octets comme « de ad be ef ».', connecting: 'connexion à',
    sent: 'envoyé', received: 'reçu', binary: 'binaire', no_registry: 'registre indisponible',
    sc: {
      echo: 'Écho (/) : chaque message revient. Fermez vous-même plus bas.',
      close: 'Le serveur ferme juste après la poignée de main avec le code et la raison choisis (/close?code=&reason=).',
      empty: 'Le serveur envoie une trame de fermeture sans corps : le navigateur rapporte 1005.',
      drop: 'Le serveur coupe TCP sans trame de fermeture : 1006, wasClean false.',
      noclose: 'Le serveur ne répond jamais à votre trame de fermeture : le navigateur attend son propre délai.',
      fail: 'Le gestionnaire du serveur échoue : il ferme avec 1011.',
      shutdown: 'Le serveur s\'en va, comme lors d\'un arrêt propre : 1001.',
      restart: 'Le serveur redémarre : 1012, revenez bientôt.',
      overload: 'Le serveur est surchargé : 1013, réessayez plus tard.',
      policy: 'Le serveur refuse ce client par politique (son origine) : 1008.',
      protocol: 'Le serveur ferme avec 1002, comme après une erreur de protocole.',
      badutf8: 'Le serveur ferme avec 1007, comme après un texte qui n\'était pas de l\'UTF-8.',
      toobig: 'Ici, les messages de plus de 125 octets sont trop gros : envoyez un long texte pour obtenir 1009.',
      textonly: 'Ce point d\'accès n\'accepte que du texte : envoyez du binaire pour obtenir 1003.',
    },
  },
};

const SCENARIO_LABEL = {
  echo: 'echo  /', close: 'close  /close?code=&reason=', empty: '1005  /empty', drop: '1006  /drop',
  noclose: 'noclose  /noclose', fail: '1011  /fail', shutdown: '1001  /shutdown',
  restart: '1012  /restart', overload: '1013  /overload', policy: '1008  /policy',
  protocol: '1002  /protocol-error', badutf8: '1007  /badutf8', toobig: '1009  /toobig',
  textonly: '1003  /text-only',
};

const READY = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const $ = (id) => document.getElementById(id);

const state = {
  lang: 'en',
  available: null, // scenario paths the server offers (GET /scenarios.json); null: unknown
  registry: null, // rows from /codes.json
  ws: null,
  seq: 0,
  t0: performance.now(),
};

function t(key) {
  const table = UI[state.lang] || UI.en;
  return key in table ? table[key] : UI.en[key];
}

function pickLanguage() {
  const fromQuery = new URLSearchParams(location.search).get('lang');
  if (fromQuery && LANGS.includes(fromQuery)) return fromQuery;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const short = String(l).slice(0, 2).toLowerCase();
    if (LANGS.includes(short)) return short;
  }
  return 'en';
}

// ---- the registry, from the C table ------------------------------------------------------------

async function loadRegistry(lang) {
  try {
    const res = await fetch(`/codes.json?lang=${encodeURIComponent(lang)}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    state.registry = Array.isArray(body) ? body : body.rows || body.codes || [];
  } catch (e) {
    state.registry = null;
    addEvent('exception', `/codes.json: ${e.message}`);
  }
}

// The row for a code: an exact assigned code first, else the range it falls in.
function lookup(code) {
  if (!state.registry || typeof code !== 'number') return null;
  let best = null;
  for (const row of state.registry) {
    const lo = row.range_lo ?? row.code;
    const hi = row.range_hi ?? row.code;
    if (row.code === code && (row.assigned || lo === hi)) return row;
    if (code >= lo && code <= hi && (!best || hi - lo < (best.range_hi ?? best.code) - (best.range_lo ?? best.code))) best = row;
  }
  return best;
}

function codeName(code) {
  const row = lookup(code);
  return row ? row.name : '';
}

function codeMeaning(code) {
  const row = lookup(code);
  if (!row) return state.registry ? '' : t('no_registry');
  return row.description || row.meaning || row.describe || '';
}

// ---- rendering ---------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  $('lang').value = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const sel = $('scenario');
  const current = sel.value || 'echo';
  sel.textContent = '';
  for (const s of SCENARIOS) {
    const o = document.createElement('option');
    o.value = s.id;
    o.textContent = SCENARIO_LABEL[s.id];
    // A scenario this server does not offer stays listed, greyed out, so the page tells the truth.
    if (s.path !== '/' && state.available && !state.available.includes(s.path)) {
      o.disabled = true;
      o.textContent += ` (${t('unavailable')})`;
    }
    sel.append(o);
  }
  sel.value = current;
  scenarioChanged();
  updateReasonBytes();
  rerenderResult();
}

function scenarioChanged() {
  const s = SCENARIOS.find((x) => x.id === $('scenario').value) || SCENARIOS[0];
  $('scenario-help').textContent = t('sc')[s.id] || UI.en.sc[s.id];
  $('close-params').hidden = !s.params;
  $('url').value = scenarioUrl(s);
}

function scenarioUrl(s) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const host = location.host || '127.0.0.1:9001';
  let url = `${scheme}//${host}${s.path}`;
  if (s.params) {
    const q = new URLSearchParams();
    q.set('code', $('sc-code').value);
    if ($('sc-reason').value !== '') q.set('reason', $('sc-reason').value);
    url += `?${q.toString()}`;
  }
  return url;
}

function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}

function updateReasonBytes() {
  const n = utf8Length($('close-reason').value);
  const el = $('reason-bytes');
  el.textContent = `${n}/123 ${t('bytes')}`;
  el.classList.toggle('no', n > 123);
}

function setReadyState() {
  $('ready-state').value = state.ws ? READY[state.ws.readyState] : '—';
  $('ready-state').textContent = $('ready-state').value;
}

function yesNo(el, v) {
  el.textContent = v ? t('yes') : t('no');
  el.className = v ? 'yes' : 'no';
  el.dataset.value = String(v);
}

let lastClose = null;
function showClose(ev, errorFired) {
  lastClose = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean, errorFired };
  rerenderResult();
}

function rerenderResult() {
  if (!lastClose) return;
  $('r-code').textContent = String(lastClose.code);
  $('r-name').textContent = codeName(lastClose.code) || '—';
  $('r-meaning').textContent = codeMeaning(lastClose.code) || '—';
  $('r-reason').textContent = lastClose.reason === '' ? '""' : JSON.stringify(lastClose.reason);
  yesNo($('r-clean'), lastClose.wasClean);
  yesNo($('r-error'), lastClose.errorFired);
}

function addEvent(kind, detail, conn) {
  const li = document.createElement('li');
  li.className = `k-${kind}`;
  const ms = Math.round(performance.now() - state.t0);
  const tcell = document.createElement('span');
  tcell.className = 't';
  tcell.textContent = `${(ms / 1000).toFixed(3)} s`;
  const kcell = document.createElement('span');
  kcell.className = 'kind';
  kcell.textContent = conn ? `#${conn} ${kind}` : kind;
  const dcell = document.createElement('span');
  dcell.className = 'detail';
  dcell.textContent = detail;
  li.append(tcell, kcell, dcell);
  li.dataset.kind = kind;
  $('timeline').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function preview(data) {
  if (typeof data === 'string') return JSON.stringify(data.length > 200 ? `${data.slice(0, 200)}…` : data);
  const bytes = new Uint8Array(data);
  const hex = Array.from(bytes.slice(0, 64), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${t('binary')} ${bytes.length} B: ${hex}${bytes.length > 64 ? ' …' : ''}`;
}

// ---- actions -----------------------------------------------------------------------------------

function connect(url) {
  const n = ++state.seq;
  addEvent('connect', `${t('connecting')} ${url}`, n);
  let ws;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    addEvent('exception', `${e.name}: ${e.message}`, n);
    return;
  }
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  let errorFired = false;
  ws.addEventListener('open', () => {
    addEvent('open', `protocol "${ws.protocol}" extensions "${ws.extensions}"`, n);
    setReadyState();
  });
  ws.addEventListener('message', (ev) => addEvent('message', `${t('received')} ${preview(ev.data)}`, n));
  ws.addEventListener('error', () => {
    errorFired = true;
    addEvent('error', 'error', n);
    setReadyState();
  });
  ws.addEventListener('close', (ev) => {
    const name = codeName(ev.code);
    addEvent('close',
      `code ${ev.code}${name ? ` ${name}` : ''} · reason ${JSON.stringify(ev.reason)} · wasClean ${ev.wasClean} · error ${errorFired}`, n);
    if (state.ws === ws) showClose(ev, errorFired);
    setReadyState();
  });
  setReadyState();
}

function requireOpen() {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
    $('exception').textContent = t('not_open');
    return false;
  }
  return true;
}

function parseHex(s) {
  const clean = s.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) return null;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

function doClose() {
  $('exception').textContent = '';
  if (!state.ws) {
    $('exception').textContent = t('not_open');
    return;
  }
  const codeText = $('close-code').value.trim();
  const reason = $('close-reason').value;
  const args = [];
  if (codeText !== '') args.push(Number(codeText));
  else if (reason !== '') args.push(undefined);
  if (reason !== '') args.push(reason);
  const shown = args.map((a) => (a === undefined ? 'undefined' : JSON.stringify(a))).join(', ');
  try {
    state.ws.close(...args);
    addEvent('closing', `close(${shown})`, state.seq);
  } catch (e) {
    // The browser's own exception: InvalidAccessError for a bad code, SyntaxError for a long reason.
    $('exception').textContent = `${e.name}: ${e.message}`;
    addEvent('exception', `close(${shown}) → ${e.name}: ${e.message}`, state.seq);
  }
  setReadyState();
}

async function loadScenarios() {
  try {
    const res = await fetch('/scenarios.json', { cache: 'no-store' });
    if (res.ok) state.available = (await res.json()).scenarios || [];
  } catch (e) {
    state.available = null; // another server: offer everything
  }
}

function init() {
  state.lang = pickLanguage();
  applyLanguage();
  loadRegistry(state.lang).then(rerenderResult);
  loadScenarios().then(applyLanguage);

  $('lang').addEventListener('change', async () => {
    state.lang = $('lang').value;
    applyLanguage();
    await loadRegistry(state.lang);
    rerenderResult();
  });
  $('scenario').addEventListener('change', scenarioChanged);
  $('sc-code').addEventListener('input', scenarioChanged);
  $('sc-reason').addEventListener('input', scenarioChanged);
  $('close-reason').addEventListener('input', updateReasonBytes);
  $('connect-form').addEventListener('submit', (e) => {
    e.preventDefault();
    $('exception').textContent = '';
    connect($('url').value.trim());
  });
  $('text-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!requireOpen()) return;
    const s = $('text').value;
    state.ws.send(s);
    addEvent('send', `${t('sent')} ${preview(s)}`, state.seq);
  });
  $('bin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!requireOpen()) return;
    const bytes = parseHex($('hex').value);
    if (!bytes) {
      $('exception').textContent = t('bad_hex');
      return;
    }
    state.ws.send(bytes);
    addEvent('send', `${t('sent')} ${preview(bytes.buffer)}`, state.seq);
  });
  $('close-form').addEventListener('submit', (e) => {
    e.preventDefault();
    doClose();
  });
  $('btn-clear').addEventListener('click', () => {
    $('timeline').textContent = '';
  });
}

document.addEventListener('DOMContentLoaded', init);
