// The map legend: what the symbols, colours and lines on the map mean. A Leaflet control in the
// bottom-left corner, folded by a <details> element (open at start).
import L from 'leaflet';
import { symbolFor } from './tracks.js';

const CLASS_NAMES = {
  uas: 'Drone', fixed_wing: 'Aircraft', rotorcraft: 'Helicopter', surveillance_aircraft: 'Surveillance aircraft',
  ground_vehicle: 'Vehicle', person: 'Person / group on foot', vessel: 'Boat', agent: 'Own agent (blue force)',
  unknown: 'Unknown',
};
const ZONE_NAMES = { border_buffer: 'Border buffer', protected_site: 'Protected site', no_drone: 'No-drone zone',
  custom: 'Other zone' };

function row(swatch, text, cls) {
  const r = document.createElement('div');
  r.className = `lg-row ${cls || ''}`;
  const t = document.createElement('span');
  t.textContent = text;
  r.append(swatch, t);
  return r;
}

function section(title, rows) {
  const s = document.createElement('div');
  s.className = 'lg-section';
  const h = document.createElement('div');
  h.className = 'lg-title';
  h.textContent = title;
  s.append(h, ...rows);
  return s;
}

function swatch(cls, style) {
  const e = document.createElement('span');
  e.className = `lg-sw ${cls}`;
  Object.assign(e.style, style || {});
  return e;
}

export const Legend = L.Control.extend({
  options: { position: 'bottomleft' },

  initialize({ classes, severities, zoneColors }) {
    this.classes = classes;
    this.severities = severities;
    this.zoneColors = zoneColors;
  },

  onAdd() {
    const box = L.DomUtil.create('details', 'legend leaflet-bar');
    box.id = 'legend';
    box.open = true;
    const sum = document.createElement('summary');
    sum.textContent = 'Legend';
    box.append(sum);
    const tracks = this.classes.map((c) => {
      const img = document.createElement('img');
      img.src = symbolFor(c).toDataURL();
      img.className = 'lg-sym';
      img.alt = c;
      return row(img, CLASS_NAMES[c] || c, `lg-cls-${c}`);
    });
    tracks.push(row(swatch('lg-trail'), 'Trail (last 2 min) and heading (next 30 s)', 'lg-trail-row lg-wide'));
    const alerts = this.severities.map((s) => {
      const m = swatch(`alert-marker sev-${s} st-new`);
      m.append(document.createElement('span'));
      return row(m, s[0].toUpperCase() + s.slice(1), `lg-sev-${s}`);
    });
    const ack = swatch('alert-marker sev-high st-acknowledged', { opacity: 0.35 });
    ack.append(document.createElement('span'));
    alerts.push(row(ack, 'Acknowledged: faded; resolved: off the map', 'lg-ack lg-wide'));
    const zones = Object.entries(ZONE_NAMES).map(([k, name]) => row(swatch('lg-zone', {
      borderColor: this.zoneColors[k], background: `${this.zoneColors[k]}22` }), name, `lg-zone-${k}`));
    const coverage = [
      row(swatch('lg-coverage'), 'Sensor coverage', 'lg-coverage-row'),
      row(swatch('lg-site'), 'Sensor site', 'lg-site-row'),
      row(swatch('lg-line', { borderTopColor: '#b42318' }), 'International border', 'lg-border-row'),
      row(swatch('lg-line lg-dashed', { borderTopColor: '#52606d' }), 'Sector boundary', 'lg-sector-row'),
    ];
    box.append(section('Tracks', tracks), section('Alerts', alerts), section('Zones', zones),
      section('Sensors and basemap', coverage));
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  },
});
