// The track layer: every track drawn on one canvas (MIL-STD-2525 / APP-6 symbols from milsymbol,
// heading vectors, trails, labels). One canvas instead of a DOM marker per track keeps the map
// interactive with a thousand tracks.
import L from 'leaflet';
import ms from 'milsymbol';

// Symbol identification codes (2525C letter SIDCs): affiliation U (unknown) for everything we
// track, F (friend) for own agents.
export const SIDC = {
  uas: 'SUAPMFQ--------', // air, military, fixed wing, drone (UAV)
  fixed_wing: 'SUAPCF---------', // air, civil fixed wing
  rotorcraft: 'SUAPCH---------', // air, civil rotary wing
  surveillance_aircraft: 'SUAPMFR--------', // air, military fixed wing, reconnaissance
  ground_vehicle: 'SUGPEV---------', // ground equipment, vehicle
  person: 'SUGPUCI--------', // ground unit (dismounted)
  vessel: 'SUSPCP---------', // sea surface
  agent: 'SFGPUCI--------', // friendly ground unit
  unknown: 'SUPP-----------', // unknown dimension
};

const cache = new Map();
export function symbolFor(cls, size = 18) {
  const key = `${cls}/${size}`;
  let c = cache.get(key);
  if (!c) {
    const sym = new ms.Symbol(SIDC[cls] || SIDC.unknown, { size });
    const canvas = sym.asCanvas(window.devicePixelRatio || 1);
    const a = sym.getAnchor();
    const s = sym.getSize();
    c = { canvas, ax: a.x, ay: a.y, w: s.width, h: s.height, toDataURL: () => canvas.toDataURL() };
    cache.set(key, c);
  }
  return c;
}

const LEAD_S = 30; // heading vector: where the track will be in this many seconds
const M_PER_DEG = 111320; // display-only offset for the heading vector tip

export const TrackLayer = L.Layer.extend({
  initialize(opts) {
    this.opts = opts || {};
    this.tracks = [];
    this.selected = null;
    this.stats = { draws: 0, drawMs: 0, lastMs: 0 };
  },

  onAdd(map) {
    this._map = map;
    const c = (this._canvas = document.createElement('canvas'));
    c.className = 'track-canvas';
    map.getContainer().appendChild(c);
    this._resize();
    map.on('move zoom viewreset', this._schedule, this);
    map.on('resize', this._resize, this);
    map.on('click', this._click, this);
  },

  onRemove(map) {
    map.off('move zoom viewreset', this._schedule, this);
    map.off('resize', this._resize, this);
    map.off('click', this._click, this);
    this._canvas.remove();
  },

  setTracks(tracks, selected) {
    this.tracks = tracks;
    this.selected = selected;
    this._redraw();
  },

  // Map movements redraw once per frame (before the frame is painted, so symbols stay on the map).
  _schedule() {
    if (this._pending) return;
    this._pending = true;
    requestAnimationFrame(() => { this._pending = false; this._redraw(); });
  },

  _resize() {
    const size = this._map.getSize();
    const dpr = window.devicePixelRatio || 1;
    this._canvas.width = size.x * dpr;
    this._canvas.height = size.y * dpr;
    this._canvas.style.width = `${size.x}px`;
    this._canvas.style.height = `${size.y}px`;
    this._redraw();
  },

  _click(e) {
    let best = null;
    let bestD = 14 * 14;
    const p = e.containerPoint;
    for (const t of this._screen || []) {
      const d = (t.x - p.x) ** 2 + (t.y - p.y) ** 2;
      if (d < bestD) { bestD = d; best = t.id; }
    }
    if (best && this.opts.onSelect) this.opts.onSelect(best);
  },

  _redraw() {
    if (!this._map) return;
    const t0 = performance.now();
    const map = this._map;
    const ctx = this._canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const size = map.getSize();
    ctx.clearRect(0, 0, size.x, size.y);
    const many = this.tracks.length > 250;
    const zoom = map.getZoom();
    const labels = !many || zoom >= 13;
    const screen = [];
    // Screen position = world pixel at zoom 0 (cached per point, Leaflet's own projection)
    // scaled to the zoom, plus the view's offset (one projection per frame).
    const k = 2 ** zoom;
    const c = map.getCenter();
    const cp = map.latLngToContainerPoint(c);
    const cw = map.project(c, zoom);
    const ox = cp.x - cw.x;
    const oy = cp.y - cw.y;

    // trails first (under the symbols)
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = 'rgba(30, 64, 175, 0.45)';
    ctx.beginPath();
    for (const t of this.tracks) {
      const tr = t.trail;
      if (!tr || tr.length < 2) continue;
      for (let i = 0; i < tr.length; i += 1) {
        const p = tr[i];
        if (p[3] === undefined) { const w = map.project([p[1], p[2]], 0); p[3] = w.x; p[4] = w.y; }
        const x = p[3] * k + ox;
        const y = p[4] * k + oy;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }
    }
    ctx.stroke();

    // heading vectors
    ctx.strokeStyle = '#111827';
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    for (const t of this.tracks) {
      const w = map.project([t.lat, t.lon], 0);
      const q = { x: w.x * k + ox, y: w.y * k + oy };
      screen.push({ id: t.id, x: q.x, y: q.y });
      if (!t.speed || t.course == null) continue;
      const d = t.speed * LEAD_S;
      const rad = (t.course * Math.PI) / 180;
      const lat2 = t.lat + (d * Math.cos(rad)) / M_PER_DEG;
      const lon2 = t.lon + (d * Math.sin(rad)) / (M_PER_DEG * Math.cos((t.lat * Math.PI) / 180));
      const w2 = map.project([lat2, lon2], 0);
      const q2 = { x: w2.x * k + ox, y: w2.y * k + oy };
      ctx.moveTo(q.x, q.y);
      ctx.lineTo(q2.x, q2.y);
    }
    ctx.stroke();

    // symbols and labels
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    for (let i = 0; i < this.tracks.length; i += 1) {
      const t = this.tracks[i];
      const q = screen[i];
      if (q.x < -40 || q.y < -40 || q.x > size.x + 40 || q.y > size.y + 40) continue;
      const s = symbolFor(t.cls);
      ctx.drawImage(s.canvas, q.x - s.ax, q.y - s.ay, s.w, s.h);
      if (t.id === this.selected) {
        ctx.strokeStyle = '#f59e0b';
        ctx.lineWidth = 3;
        ctx.beginPath();
        ctx.arc(q.x, q.y, 17, 0, 2 * Math.PI);
        ctx.stroke();
      }
      if (labels || t.id === this.selected) {
        const line2 = [t.speed != null ? `${t.speed.toFixed(0)} m/s` : null,
          t.alt != null ? `${Math.round(t.alt)} m` : null].filter(Boolean).join(' ');
        const x = q.x + s.w - s.ax + 2;
        const y = q.y - 10;
        ctx.lineWidth = 3;
        ctx.strokeStyle = 'rgba(255,255,255,0.85)';
        ctx.fillStyle = '#111827';
        ctx.strokeText(t.name, x, y);
        ctx.fillText(t.name, x, y);
        if (line2) { ctx.strokeText(line2, x, y + 12); ctx.fillText(line2, x, y + 12); }
      }
    }
    this._screen = screen;
    const ms_ = performance.now() - t0;
    this.stats.draws += 1;
    this.stats.drawMs += ms_;
    this.stats.lastMs = ms_;
  },
});
