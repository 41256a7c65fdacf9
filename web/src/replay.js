// Replay of stored history: the API's /api/extent gives the time span, /api/replay the track
// points of a window (loaded in chunks around the replay time); positions between two stored
// points are interpolated linearly in time.
const TRAIL_S = 120; // trail drawn behind each track
const GAP_S = 15; // a track is shown this long after its last point
const BEFORE_S = 600; // window loaded before the replay time
const AFTER_S = 1200; // and after it

function bisectRight(arr, x) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export class Replay {
  constructor({ api, onChange, project }) {
    this.api = api;
    this.project = project; // (lat, lon) -> world pixel {x, y} at zoom 0 (cached per point)
    this.onChange = onChange;
    this.start = null;
    this.end = null;
    this.time = null;
    this.playing = false;
    this.speed = 10;
    this.from = null; // loaded window
    this.to = null;
    this.series = new Map(); // id -> {t, lat, lon, alt, spd, crs} arrays
    this.tracks = {}; // id -> {cls, name, identities, sources, label}
    this._pending = null;
  }

  async open() {
    const ext = await this.api('/api/extent');
    if (ext.start == null) return;
    this.start = ext.start;
    this.end = ext.end;
    if (this.time == null || this.time < this.start || this.time > this.end) this.time = this.start;
    this.onChange(); // the slider gets its range before the history arrives
    await this.ensure(this.time);
    this.onChange();
  }

  covered(t) {
    return this.from != null && t - TRAIL_S >= this.from - 1e-6 && t <= this.to && (t + 300 <= this.to || this.to >= this.end);
  }

  async ensure(t) {
    if (this.covered(t)) return;
    if (this._pending) { await this._pending; if (this.covered(t)) return; }
    const from = Math.max(this.start, t - BEFORE_S);
    const to = Math.min(this.end, t + AFTER_S);
    this._pending = this.api(`/api/replay?start=${from}&end=${to}`).then((r) => {
      const series = new Map();
      for (const [id, pts] of Object.entries(r.points)) {
        const world = pts.map((p) => this.project(p[1], p[2]));
        series.set(id, {
          t: pts.map((p) => p[0]), lat: pts.map((p) => p[1]), lon: pts.map((p) => p[2]),
          alt: pts.map((p) => p[3]), spd: pts.map((p) => p[4]), crs: pts.map((p) => p[5]),
          wx: world.map((w) => w.x), wy: world.map((w) => w.y),
        });
      }
      this.series = series;
      this.tracks = r.tracks;
      this.from = from;
      this.to = to;
    }).finally(() => { this._pending = null; });
    await this._pending;
  }

  seek(t) {
    if (this.start == null) return;
    this.time = Math.min(this.end, Math.max(this.start, t));
    this.onChange();
    this.ensure(this.time).then(() => this.onChange()).catch((e) => console.warn('replay:', e.message));
  }

  play() {
    if (this.start == null) return;
    if (this.time >= this.end) this.time = this.start;
    this.playing = true;
    let last = performance.now();
    const tick = (now) => {
      if (!this.playing) return;
      this.time = Math.min(this.end, this.time + ((now - last) / 1000) * this.speed);
      last = now;
      if (this.time >= this.end) this.playing = false;
      if (!this.covered(this.time) && !this._pending) {
        this.ensure(this.time).catch((e) => console.warn('replay:', e.message));
      }
      this.onChange();
      if (this.playing) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    this.onChange();
  }

  pause() {
    this.playing = false;
    this.onChange();
  }

  meta(id) {
    return this.tracks[id] || null;
  }

  // The point of track ``id`` at the replay time (interpolated), or null when not shown.
  pointOf(id, t = this.time) {
    const s = this.series.get(id);
    if (!s || t == null) return null;
    const i = bisectRight(s.t, t) - 1;
    if (i < 0 || t - s.t[i] > GAP_S) return null;
    let lat = s.lat[i];
    let lon = s.lon[i];
    let alt = s.alt[i];
    if (i + 1 < s.t.length && s.t[i + 1] - s.t[i] <= GAP_S && t > s.t[i]) {
      const f = (t - s.t[i]) / (s.t[i + 1] - s.t[i]);
      lat += (s.lat[i + 1] - lat) * f;
      lon += (s.lon[i + 1] - lon) * f;
      if (alt != null && s.alt[i + 1] != null) alt += (s.alt[i + 1] - alt) * f;
    }
    return { t, i, lat, lon, alt, speed: s.spd[i], course: s.crs[i] };
  }

  displayed(classes) {
    const out = [];
    if (this.time == null) return out;
    for (const [id, s] of this.series) {
      const m = this.tracks[id] || { cls: 'unknown', name: id };
      if (classes && !classes.has(m.cls)) continue;
      const p = this.pointOf(id);
      if (!p) continue;
      const j = bisectRight(s.t, this.time - TRAIL_S);
      const trail = [];
      for (let k = j; k <= p.i; k += 1) trail.push([s.t[k], s.lat[k], s.lon[k], s.wx[k], s.wy[k]]);
      trail.push([p.t, p.lat, p.lon]);
      out.push({ id, lat: p.lat, lon: p.lon, alt: p.alt, speed: p.speed, course: p.course, cls: m.cls,
        name: m.name, trail });
    }
    return out;
  }
}
