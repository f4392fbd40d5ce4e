// Country shapes for the offline scan map: Natural Earth 1:110m (npm world-atlas, TopoJSON) decoded with
// topojson-client, in an equirectangular projection (x = lng + 180, y = 90 - lat) so a point is placed and tested
// against a country with the same arithmetic. This module and its data are only loaded with import() when a map
// is shown. Antarctica is left out (no scans come from there and it wastes a third of the height).
import { feature } from 'topojson-client';
import topology from 'world-atlas/countries-110m.json';

export const view = { x: 0, y: 6, width: 360, height: 144 }; // 84°N to 60°S
export const project = (lat, lng) => [lng + 180, 90 - lat];

let shapes;
// countries answers [{id, name, d, rings, box}] once per page: d is the SVG path, rings the projected rings with
// longitudes made continuous across the antimeridian (Russia, Fiji), drawn again 360 units over when they spill.
export function countries() {
  if (shapes) return shapes;
  shapes = [];
  for (const f of feature(topology, topology.objects.countries).features) {
    if (!f.geometry || f.properties.name === 'Antarctica') continue;
    const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    const rings = [];
    for (const poly of polys) for (const ring of poly) rings.push(unwrap(ring));
    let d = '';
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const r of rings) {
      let minX = Infinity, maxX = -Infinity;
      for (const [x, y] of r) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x);
        box[0] = Math.min(box[0], x); box[1] = Math.min(box[1], y); box[2] = Math.max(box[2], x); box[3] = Math.max(box[3], y);
      }
      d += path(r, 0);
      if (maxX > 360) d += path(r, -360);
      if (minX < 0) d += path(r, 360);
    }
    shapes.push({ id: f.id, name: f.properties.name, d, rings, box });
  }
  return shapes;
}

function unwrap(ring) {
  const out = [];
  let prev;
  for (const [lng, lat] of ring) {
    let l = lng;
    if (prev !== undefined) { while (l - prev > 180) l -= 360; while (prev - l > 180) l += 360; }
    prev = l;
    out.push(project(lat, l));
  }
  return out;
}

function path(r, dx) {
  return 'M' + r.map(([x, y]) => `${(x + dx).toFixed(2)},${y.toFixed(2)}`).join('L') + 'Z';
}

// countryAt answers the country whose shape holds the point (even-odd rule over all its rings), or null.
export function countryAt(lat, lng) {
  const [px, py] = project(lat, lng);
  for (const c of countries()) {
    for (const x of [px, px + 360, px - 360]) {
      if (x < c.box[0] || x > c.box[2] || py < c.box[1] || py > c.box[3]) continue;
      let inside = false;
      for (const r of c.rings) {
        for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
          const [xi, yi] = r[i], [xj, yj] = r[j];
          if ((yi > py) !== (yj > py) && x < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
        }
      }
      if (inside) return c;
    }
  }
  return null;
}
