// Lookout web map: the common operating picture (live via WebSocket, replay via the REST API).
// Works offline: the basemap is the sector GeoJSON served by the API; no tile server, no CDN.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { TrackLayer, symbolFor } from './tracks.js';
import { Replay } from './replay.js';
import { Legend } from './legend.js';
import './style.css';

const $ = (id) => document.getElementById(id);
const CLASSES = ['uas', 'fixed_wing', 'rotorcraft', 'surveillance_aircraft', 'ground_vehicle', 'person',
  'vessel', 'agent', 'unknown'];
const TRAIL_S = 120; // seconds of trail kept and drawn

const state = {
  mode: 'live',
  live: new Map(), // id -> track JSON
  trails: new Map(), // id -> [[t, lat, lon], ...]
  liveTime: null,
  alerts: new Map(), // id -> alert JSON
  selected: null,
  classes: new Set(CLASSES),
  ws: null,
  wsOpen: false, // the live stream is open and has sent its snapshot
  liveFeed: null, // whether the server has a live feed (from /api/health)
  basemapLoaded: false,
  messages: 0,
};

// Every REST call goes through api(): a network failure means the server is unreachable
// (offline), a 401 that the session expired or was revoked; any answer means it is reachable.
async function api(path, opts) {
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    setLink('offline');
    throw new Error(`server unreachable (${path})`);
  }
  if (r.status === 401) setLink('expired');
  else setLink('ok');
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new Error(`${r.status} ${typeof body === 'object' ? body.detail : body}`);
  return body;
}

// -- connection state: a banner instead of a silent, stale map --------------------------------
const LINK_CHECK_MS = 5000; // how often the server is asked whether it is there and we are signed in
const RETRY_MAX_MS = 5000; // longest wait between two WebSocket reconnection attempts
const link = { state: 'ok' }; // ok, offline (server unreachable) or expired (401)

function setLink(s) {
  if (link.state === s) return;
  const was = link.state;
  link.state = s;
  document.body.dataset.link = s;
  const b = $('banner');
  b.className = `link-${s}`;
  if (s === 'ok') {
    b.hidden = true;
    b.replaceChildren();
  } else if (s === 'offline') {
    b.hidden = false;
    b.innerHTML = '<b>Offline</b> &mdash; reconnecting&hellip; <span class="b-detail">the map shows the last '
      + 'picture received; it updates again when the server answers</span>';
  } else {
    b.hidden = false;
    b.innerHTML = '<b>Session expired</b> &mdash; <a href="/login">sign in again</a> <span class="b-detail">'
      + 'the map shows the last picture received</span>';
  }
  setConn();
  if (s === 'ok' && was !== 'ok') recover();
}

// Back from offline or signed in again: reload what may have changed, reconnect the live feed now.
function recover() {
  if (!state.basemapLoaded) loadBasemap().catch((e) => console.warn('basemap:', e.message));
  loadZones().catch((e) => console.warn('zones:', e.message));
  loadSensors().catch((e) => console.warn('sensors:', e.message));
  loadAlerts();
  if (!state.wsOpen && state.liveFeed !== false) reconnectNow();
}

async function checkLink() {
  try {
    const h = await api('/api/health');
    state.liveFeed = h.live;
  } catch (e) { /* api() has set the link state */ }
}

function fmtTime(t) {
  if (t == null) return '--:--:--';
  return new Date(t * 1000).toISOString().slice(11, 19) + 'Z';
}
function fmtDateTime(t) {
  return t == null ? '--' : new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}
function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function trackName(t) {
  const ids = t.identities || {};
  return ids.callsign || ids.icao24 || ids.remote_id || ids.mmsi || ids.agent || t.id;
}

// -- map and basemap ---------------------------------------------------------------------------
const map = L.map('map', { zoomAnimation: false, preferCanvas: true, zoomSnap: 0.5, attributionControl: true });
map.attributionControl.setPrefix(false);
map.attributionControl.addAttribution('Border: Natural Earth (public domain)');
map.setView([31.33, -110.95], 11);
L.control.scale({ metric: true, imperial: false }).addTo(map);

const overlays = {
  zones: L.layerGroup().addTo(map),
  sensors: L.layerGroup().addTo(map),
  alerts: L.layerGroup().addTo(map),
  operator: L.layerGroup().addTo(map),
  agents: L.layerGroup().addTo(map),
};
L.control.layers(null, {
  'Zones': overlays.zones, 'Sensor coverage': overlays.sensors, 'Alerts': overlays.alerts,
  'Own agents': overlays.agents,
}, { collapsed: true }).addTo(map);

const BASE_STYLE = {
  sector: { color: '#52606d', weight: 2, fill: true, fillColor: '#f3efe6', fillOpacity: 0.6, dashArray: '6 4' },
  border: { color: '#b42318', weight: 3 },
  road: { color: '#9a8c73', weight: 2 },
};

async function loadBasemap() {
  const gj = await api('/api/basemap');
  let bounds = null;
  L.geoJSON(gj, {
    style: (f) => BASE_STYLE[f.properties.kind] || { color: '#555', weight: 1 },
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {
      radius: f.properties.kind === 'town' ? 6 : 4, color: '#333', weight: 1,
      fillColor: f.properties.kind === 'town' ? '#e4c07a' : '#6b7280', fillOpacity: 1,
    }),
    onEachFeature: (f, layer) => {
      const p = f.properties;
      if (p.kind === 'sector') {
        bounds = layer.getBounds();
        $('sector-name').textContent = p.name || '';
      }
      if (p.name && p.kind !== 'sector') {
        layer.bindTooltip(p.name, { permanent: p.kind === 'town', direction: 'right', className: `lbl lbl-${p.kind}` });
      }
    },
  }).addTo(map);
  if (bounds) map.fitBounds(bounds, { padding: [10, 10] });
  state.basemapLoaded = true;
}

const ZONE_COLORS = { border_buffer: '#d97706', protected_site: '#2563eb', no_drone: '#dc2626', sector: '#52606d',
  border: '#b42318', custom: '#7c3aed' };
async function loadZones() {
  const fc = await api('/api/zones');
  overlays.zones.clearLayers();
  L.geoJSON(fc, {
    style: (f) => ({ color: ZONE_COLORS[f.properties.kind] || '#7c3aed', weight: 2, fillOpacity: 0.08 }),
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 5, color: ZONE_COLORS[f.properties.kind] || '#7c3aed' }),
    onEachFeature: (f, layer) => layer.bindTooltip(`${esc(f.properties.name)} (${esc(f.properties.kind)})`),
  }).addTo(overlays.zones);
}

async function loadSensors() {
  const rows = await api('/api/sensors');
  overlays.sensors.clearLayers();
  for (const s of rows) {
    if (s.lat == null || s.lon == null) continue;
    if (s.range_m) {
      L.circle([s.lat, s.lon], { radius: s.range_m, color: '#0f766e', weight: 1, dashArray: '4 4', fillOpacity: 0.03,
        interactive: false }).addTo(overlays.sensors);
    }
    const stat = [`<b>${esc(s.id)}</b> (${esc(s.kind || '?')})`];
    if (s.range_m) stat.push(`range ${(s.range_m / 1000).toFixed(1)} km`);
    if (s.observations != null) stat.push(`${s.observations} observations`);
    if (s.last_seen != null) stat.push(`last seen ${fmtDateTime(s.last_seen)}`);
    if (s.silent) stat.push('<b>SILENT</b>');
    L.circleMarker([s.lat, s.lon], { radius: 4, color: '#0f766e', fillColor: '#14b8a6', fillOpacity: 1 })
      .bindTooltip(stat.join('<br>')).addTo(overlays.sensors);
  }
}

// -- own agents (blue-force position reports) --------------------------------------------------
const AGENT_WINDOW_S = 600; // an agent is shown at its latest report within this window
async function loadAgents() {
  const t = state.mode === 'live' ? state.liveTime : replay.time;
  if (t == null) return;
  const rows = await api(`/api/observations?source=blue_force&start=${t - AGENT_WINDOW_S}&end=${t}&limit=5000`);
  const latest = new Map();
  for (const o of rows) if (o.position) latest.set(o.ident || o.sensor, o); // rows are in time order
  const s = symbolFor('agent');
  const icon = L.icon({ iconUrl: s.toDataURL(), iconSize: [s.w, s.h], iconAnchor: [s.ax, s.ay], className: 'agent-icon' });
  overlays.agents.clearLayers();
  for (const o of latest.values()) {
    L.marker([o.position.lat, o.position.lon], { icon, keyboard: false })
      .bindTooltip(`${esc(o.callsign || o.ident || o.sensor)} (own agent)<br>reported ${fmtTime(o.time)}`)
      .addTo(overlays.agents);
  }
}

// -- tracks layer ------------------------------------------------------------------------------
const trackLayer = new TrackLayer({ onSelect: (id) => select(id) });
trackLayer.addTo(map);

function liveDisplayed() {
  const out = [];
  for (const t of state.live.values()) {
    if (!state.classes.has(t.cls)) continue;
    out.push({ id: t.id, lat: t.position.lat, lon: t.position.lon, alt: t.position.alt_m, speed: t.speed_mps,
      course: t.course_deg, cls: t.cls, name: trackName(t), trail: state.trails.get(t.id) || [] });
  }
  return out;
}

// In replay the detail pane follows the replay time, at most 4 times a second (and once more
// after the last change).
let detailAt = 0;
let detailTimer = null;
function followDetail() {
  if (state.mode !== 'replay' || !state.selected || state.detailTrack?.id !== state.selected) return;
  const wait = 250 - (performance.now() - detailAt);
  if (wait > 0) {
    if (!detailTimer) detailTimer = setTimeout(() => { detailTimer = null; followDetail(); }, wait);
    return;
  }
  detailAt = performance.now();
  const p = replay.pointOf(state.selected);
  if (p) renderDetail(state.detailTrack, p);
}

function redraw() {
  followDetail();
  const shown = state.mode === 'live' ? liveDisplayed() : replay.displayed(state.classes);
  trackLayer.setTracks(shown, state.selected);
  $('count').textContent = `${shown.length} tracks`;
  $('clock').textContent = fmtTime(state.mode === 'live' ? state.liveTime : replay.time);
  drawOperator(shown);
}

let redrawPending = false;
function scheduleRedraw() {
  if (redrawPending) return;
  redrawPending = true;
  requestAnimationFrame(() => { redrawPending = false; redraw(); });
}

// -- live stream -------------------------------------------------------------------------------
function trailPush(id, t, lat, lon) {
  let tr = state.trails.get(id);
  if (!tr) state.trails.set(id, (tr = []));
  if (tr.length && tr[tr.length - 1][0] >= t) return;
  tr.push([t, lat, lon]);
  while (tr.length && tr[0][0] < t - TRAIL_S) tr.shift();
}

// The live stream's compact track (short keys, see docs/api.md) -> the API's track JSON.
function fromWire(w) {
  return {
    id: w.id, time: w.t, position: { lat: w.lat, lon: w.lon, alt_m: w.alt },
    velocity: w.ve == null ? null : { east: w.ve, north: w.vn, up: w.vu },
    speed_mps: w.spd, course_deg: w.crs, climb_mps: w.vu, sigma_h_m: w.sig, status: w.st, cls: w.cls,
    identities: w.ids, sources: w.src, sensors: w.sen, label: w.lbl, first_time: w.t0, updates: w.n,
    operator: w.op ? { lat: w.op[0], lon: w.op[1], alt_m: w.op[2] } : null, attrs: w.attrs || {},
  };
}

function applyTracks(tracks) {
  for (const w of tracks) {
    const t = fromWire(w);
    state.live.set(t.id, t);
    trailPush(t.id, t.time, t.position.lat, t.position.lon);
  }
}

// Seed the trails of the live tracks with their recent stored history (once, on the first snapshot).
let seeded = false;
async function seedTrails(t) {
  const r = await api(`/api/replay?start=${t - TRAIL_S}&end=${t}`);
  for (const [id, pts] of Object.entries(r.points)) {
    if (!state.live.has(id)) continue;
    const old = state.trails.get(id) || [];
    const first = old.length ? old[0][0] : Infinity;
    state.trails.set(id, pts.filter((p) => p[0] < first).map((p) => [p[0], p[1], p[2]]).concat(old));
  }
  scheduleRedraw();
}

function onMessage(ev) {
  const msg = JSON.parse(ev.data);
  state.messages += 1;
  if (msg.type === 'snapshot') {
    // the server accepts a WebSocket before checking its credentials: only the snapshot says
    // the stream is really open
    state.wsOpen = true; retry = 500;
    setLink('ok');
    setConn();
    state.live.clear();
    applyTracks(msg.tracks);
    for (const id of [...state.trails.keys()]) if (!state.live.has(id)) state.trails.delete(id);
  } else if (msg.type === 'update') {
    applyTracks(msg.tracks);
    for (const id of msg.deleted) { state.live.delete(id); state.trails.delete(id); }
    for (const a of msg.alerts) upsertAlert(a);
    if (msg.alerts.length) renderAlerts();
  } else if (msg.type === 'error') {
    console.warn('live stream:', msg.detail);
    return;
  }
  if (msg.time != null) state.liveTime = Math.max(state.liveTime ?? 0, msg.time);
  if (!seeded && msg.type === 'snapshot' && msg.time != null) {
    seeded = true;
    seedTrails(msg.time).catch((e) => console.warn('trails:', e.message));
    loadAgents().catch((e) => console.warn('agents:', e.message));
  }
  if (state.mode === 'live') scheduleRedraw();
  if (state.selected && state.mode === 'live' && state.live.has(state.selected)) renderDetail(state.live.get(state.selected));
}

let retry = 500;
let retryTimer = null;
function connect() {
  retryTimer = null;
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/ws`);
  state.ws = ws;
  ws.onopen = () => {
    if (state.classes.size !== CLASSES.length) sendFilter(ws); // the server's default is every class
  };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.wsOpen = false;
    state.ws = null;
    setConn();
    // why did it close: the server gone (offline), the session over (401), or no live feed?
    checkLink().finally(() => {
      if (state.liveFeed === false || state.ws || retryTimer) return;
      retryTimer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, RETRY_MAX_MS);
    });
  };
  ws.onerror = () => {}; // onclose follows and reconnects
}
function reconnectNow() {
  if (state.ws) return; // connecting or open
  clearTimeout(retryTimer);
  retry = 500;
  connect();
}
function setConn() {
  const c = $('conn');
  const on = state.wsOpen && link.state === 'ok';
  c.textContent = on ? 'connected' : link.state === 'expired' ? 'signed out' : 'offline';
  c.classList.toggle('off', !on);
}
function sendFilter(ws = state.ws) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const cls = state.classes.size === CLASSES.length ? null : [...state.classes];
  ws.send(JSON.stringify({ type: 'subscribe', bbox: null, cls }));
}

// -- class filter ------------------------------------------------------------------------------
function buildClassFilter() {
  const box = $('class-filter');
  for (const c of CLASSES) {
    const lab = document.createElement('label');
    const img = document.createElement('img');
    img.src = symbolFor(c).toDataURL();
    img.height = 16;
    const cb = document.createElement('input');
    cb.type = 'checkbox'; cb.checked = true; cb.value = c;
    cb.addEventListener('change', () => {
      if (cb.checked) state.classes.add(c); else state.classes.delete(c);
      sendFilter();
      scheduleRedraw();
    });
    lab.append(cb, img, ' ' + c.replace('_', ' '));
    box.append(lab);
  }
}

// -- alerts ------------------------------------------------------------------------------------
function upsertAlert(a) {
  const old = state.alerts.get(a.id);
  if (!old || (a.updated ?? 0) >= (old.updated ?? 0) || a.state !== old.state) state.alerts.set(a.id, a);
}

async function loadAlerts() {
  try {
    const rows = await api('/api/alerts?limit=300');
    for (const a of rows) upsertAlert(a);
    renderAlerts();
  } catch (e) { console.warn('alerts:', e.message); }
}

// The panel: open alerts (new or acknowledged) by severity, newest first within a severity;
// resolved ones after them, in the same order. The map: a marker per open alert with a position (or a
// live track), in its severity's colour; acknowledged ones faded, resolved ones gone.
const SEVERITY_RANK = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
const ACK_OPACITY = 0.35;

function alertOrder(a, b) {
  return ((a.state === 'resolved') - (b.state === 'resolved'))
    || ((SEVERITY_RANK[b.severity] ?? -1) - (SEVERITY_RANK[a.severity] ?? -1))
    || ((b.start ?? 0) - (a.start ?? 0));
}

function alertPlace(a) {
  if (a.position) return [a.position.lat, a.position.lon];
  const t = a.track_ids?.length ? state.live.get(a.track_ids[0]) : null;
  return t ? [t.position.lat, t.position.lon] : null;
}

function alertMarker(a) {
  const ll = alertPlace(a);
  if (!ll || a.state === 'resolved') return null;
  const icon = L.divIcon({ className: `alert-marker sev-${a.severity} st-${a.state}`, html: '<span></span>',
    iconSize: [26, 26], iconAnchor: [13, 13] });
  const m = L.marker(ll, { icon, keyboard: false, opacity: a.state === 'acknowledged' ? ACK_OPACITY : 1,
    zIndexOffset: 1000 + 100 * (SEVERITY_RANK[a.severity] ?? 0), title: '' });
  m.bindTooltip(`<b>${esc(a.severity)}</b> ${esc(a.rule)} (${esc(a.state)})<br>${esc(a.message)}`);
  m.on('add', () => { m.getElement().dataset.alert = a.id; });
  m.on('click', () => focusAlert(a));
  return m;
}

function renderAlerts() {
  const list = [...state.alerts.values()].sort(alertOrder);
  const ul = $('alerts');
  ul.replaceChildren();
  overlays.alerts.clearLayers();
  let open = 0;
  for (const a of list) {
    if (a.state === 'new') open += 1;
    const li = document.createElement('li');
    li.className = `alert sev-${a.severity} st-${a.state}`;
    li.classList.toggle('focused', a.id === state.focusedAlert);
    li.dataset.id = a.id;
    li.title = a.track_ids?.length ? 'Show the track on the map' : (a.position ? 'Show on the map' : '');
    li.innerHTML = `<div class="a-head"><span class="sev">${esc(a.severity)}</span> <b>${esc(a.rule)}</b>
      <span class="a-state">${esc(a.state)}</span></div>
      <div class="a-msg">${esc(a.message)}</div>
      <div class="a-time">${fmtDateTime(a.start)}${a.acknowledged_by ? ` &middot; ack ${esc(a.acknowledged_by)}` : ''}${a.resolved_by ? ` &middot; resolved ${esc(a.resolved_by)}` : ''}</div>`;
    const btns = document.createElement('div');
    btns.className = 'a-btns';
    if (a.state === 'new') btns.append(actionButton(a, 'acknowledge', 'Acknowledge'));
    if (a.state !== 'resolved') btns.append(actionButton(a, 'resolve', 'Resolve'));
    li.append(btns);
    li.addEventListener('click', (ev) => {
      if (ev.target.tagName === 'BUTTON') return;
      focusAlert(a);
    });
    ul.append(li);
    const m = alertMarker(a);
    if (m) m.addTo(overlays.alerts);
  }
  $('alert-count').textContent = open ? `${open} new` : '';
}

// Clicking an alert: centre the map on its track where the map shows it now (else on the
// alert's position, else on the track's last stored position), zoom in, select the track.
const FOCUS_ZOOM = 13;
async function focusAlert(a) {
  state.focusedAlert = a.id;
  for (const li of $('alerts').children) li.classList.toggle('focused', li.dataset.id === a.id);
  const id = a.track_ids?.length ? a.track_ids[0] : null;
  let ll = null;
  if (id) {
    const shown = trackLayer.tracks.find((t) => t.id === id);
    if (shown) ll = [shown.lat, shown.lon];
  }
  if (!ll && a.position) ll = [a.position.lat, a.position.lon];
  if (!ll && id) {
    try {
      const t = await api(`/api/tracks/${encodeURIComponent(id)}`);
      ll = [t.position.lat, t.position.lon];
    } catch (e) { console.warn(`track ${id}:`, e.message); }
  }
  if (ll) map.setView(ll, Math.max(map.getZoom(), FOCUS_ZOOM), { animate: false });
  if (id) select(id);
}

// "On map" in the alert panel shows / hides the alert markers (as the layer control does).
function setAlertMarkers(on) {
  if (on) overlays.alerts.addTo(map); else overlays.alerts.remove();
  $('alert-markers').checked = on;
}
$('alert-markers').addEventListener('change', (e) => setAlertMarkers(e.target.checked));
map.on('overlayadd overlayremove', (e) => {
  if (e.layer === overlays.alerts) $('alert-markers').checked = e.type === 'overlayadd';
});

function actionButton(a, action, text) {
  const b = document.createElement('button');
  b.textContent = text;
  b.className = `btn-${action}`;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const updated = await api(`/api/alerts/${encodeURIComponent(a.id)}/${action}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: 'web-operator' }),
      });
      state.alerts.set(updated.id, updated);
    } catch (e) {
      console.warn(`${action} ${a.id}:`, e.message);
      await loadAlerts();
    }
    renderAlerts();
  });
  return b;
}

// -- track detail ------------------------------------------------------------------------------
async function select(id) {
  state.selected = id;
  scheduleRedraw();
  if (!id) { $('detail').hidden = true; return; }
  if (state.mode === 'live' && state.live.has(id)) { renderDetail(state.live.get(id)); scheduleRedraw(); return; }
  try {
    const t = await api(`/api/tracks/${encodeURIComponent(id)}`);
    if (state.selected === id) renderDetail(t, state.mode === 'replay' ? replay.pointOf(id) : null);
  } catch (e) {
    const meta = replay.meta(id);
    if (meta) renderDetail({ id, ...meta }, replay.pointOf(id));
  }
  scheduleRedraw();
}

function row(k, v) { return v == null || v === '' ? '' : `<tr><th>${esc(k)}</th><td>${v}</td></tr>`; }

function renderDetail(t, at = null) {
  const p = at ? { lat: at.lat, lon: at.lon, alt_m: at.alt } : t.position;
  const speed = at ? at.speed : t.speed_mps;
  const course = at ? at.course : t.course_deg;
  $('detail').hidden = false;
  $('detail-title').textContent = trackName(t);
  const ids = Object.entries(t.identities || {}).map(([k, v]) => `${esc(k)}: <code>${esc(v)}</code>`).join('<br>');
  const op = t.operator ? `${t.operator.lat.toFixed(5)}, ${t.operator.lon.toFixed(5)}` : null;
  $('detail-body').innerHTML = `<table>
    ${row('track', `<code>${esc(t.id)}</code>`)}
    ${row('class', esc(t.cls))}
    ${row('status', esc(t.status))}
    ${row('identities', ids)}
    ${row('sources', esc((t.sources || []).join(', ')))}
    ${row('sensors', esc((t.sensors || []).join(', ')))}
    ${row('position', p ? `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}` : null)}
    ${row('altitude', p && p.alt_m != null ? `${Math.round(p.alt_m)} m HAE` : null)}
    ${row('speed', speed != null ? `${speed.toFixed(1)} m/s` : null)}
    ${row('course', course != null ? `${Math.round(course)}&deg;` : null)}
    ${row('uncertainty', t.sigma_h_m ? `${t.sigma_h_m.toFixed(0)} m (1&sigma;)` : null)}
    ${row('Remote ID operator', op)}
    ${row('first seen', t.first_time ? fmtDateTime(t.first_time) : null)}
    ${row('last update', at ? fmtDateTime(at.t) : fmtDateTime(t.time))}
    ${row('label', esc(t.label))}
  </table>`;
  $('detail').dataset.track = t.id;
  state.detailTrack = t;
  state.operator = t.operator ? { id: t.id, ...t.operator } : null;
}

function drawOperator(shown) {
  overlays.operator.clearLayers();
  const op = state.operator;
  if (!op || op.id !== state.selected) return;
  const tr = shown.find((s) => s.id === op.id);
  L.circleMarker([op.lat, op.lon], { radius: 6, color: '#7c2d12', fillColor: '#fb923c', fillOpacity: 1 })
    .bindTooltip('Remote ID operator', { permanent: true, direction: 'bottom', className: 'lbl' })
    .addTo(overlays.operator);
  if (tr) L.polyline([[op.lat, op.lon], [tr.lat, tr.lon]], { color: '#7c2d12', weight: 1.5, dashArray: '5 5' }).addTo(overlays.operator);
}

$('detail-close').addEventListener('click', () => select(null));

// -- replay ------------------------------------------------------------------------------------
const replay = new Replay({ api, onChange: () => { syncReplayUi(); scheduleRedraw(); },
  project: (lat, lon) => map.project([lat, lon], 0) });

function syncReplayUi() {
  const s = $('slider');
  if (replay.start != null) {
    s.min = String(Math.floor(replay.start)); s.max = String(Math.ceil(replay.end));
    if (replay.time != null) s.value = String(Math.round(replay.time));
  }
  $('replay-time').textContent = fmtDateTime(replay.time);
  $('btn-play').innerHTML = replay.playing ? '&#10074;&#10074;' : '&#9654;';
}

async function setMode(mode) {
  state.mode = mode;
  const m = $('mode');
  m.dataset.mode = mode;
  m.textContent = mode === 'live' ? 'LIVE' : 'REPLAY';
  $('btn-mode').textContent = mode === 'live' ? 'Replay' : 'Live';
  for (const id of ['btn-play', 'speed', 'slider']) $(id).disabled = mode === 'live';
  if (mode === 'replay') {
    await replay.open();
  } else {
    replay.pause();
  }
  syncReplayUi();
  scheduleRedraw();
  loadAgents().catch((e) => console.warn('agents:', e.message));
}

$('btn-mode').addEventListener('click', () => setMode(state.mode === 'live' ? 'replay' : 'live'));
$('btn-play').addEventListener('click', () => (replay.playing ? replay.pause() : replay.play()));
$('speed').addEventListener('change', (e) => { replay.speed = Number(e.target.value); });
$('slider').addEventListener('input', (e) => replay.seek(Number(e.target.value)));

// -- start -------------------------------------------------------------------------------------
window.lookout = {
  state, link, map, replay, trackLayer, setMode, select,
  displayed: () => trackLayer.tracks.map((t) => ({ id: t.id, lat: t.lat, lon: t.lon, cls: t.cls, name: t.name })),
  seek: (t) => replay.seek(t),
};

// A server without a live feed (``lookout serve`` over a store): open on the stored history's end.
async function startMode() {
  const h = await api('/api/health');
  if (h.live_time != null) return;
  const ext = await api('/api/extent');
  if (ext.end == null) return;
  replay.time = ext.end;
  await setMode('replay');
}

buildClassFilter();
new Legend({ classes: CLASSES, severities: Object.keys(SEVERITY_RANK), zoneColors: ZONE_COLORS }).addTo(map);
Promise.all([loadBasemap(), loadZones(), loadSensors(), loadAlerts()])
  .catch((e) => console.warn('loading:', e.message))
  .finally(() => {
    connect();
    scheduleRedraw();
    startMode().catch((e) => console.warn('mode:', e.message));
  });
setInterval(loadAlerts, 15000);
setInterval(checkLink, LINK_CHECK_MS);
setInterval(() => loadAgents().catch(() => {}), 5000);
setInterval(() => { if (state.mode === 'live') loadSensors().catch(() => {}); }, 30000);
