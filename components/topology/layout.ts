// The topology view's layout, pure: VNETs in a row on top, the nodes hosting them in a grid below,
// each ordered by the mean position of what it connects to (one barycenter pass of a layered
// layout, which keeps most VNET → node lines short). O(VNETs + nodes + NICs): a general layered
// layout (ELK) took 35 s for 50 nodes × 20 VNETs, a graph this shape does not need it. Instances are
// drawn inside their node's box: one row each while a box holds few, one row per VNET with a count
// beyond that (GROUP_ABOVE), so 1,000 instances stay a readable picture.

export const GROUP_ABOVE = 8;
export const VNET_W = 200;
export const VNET_H = 56;
export const HOST_W = 250;
const ROW_H = 24;
const HOST_HEAD = 44;
const GAP = 28;
const TIER_GAP = 140;

export interface LayoutInput {
  vnets: { id: number; nodeIds: number[] }[];
  /** Node id → how many rows its box shows. */
  hosts: { id: number; rows: number }[];
  /** Boxes per row of the node grid. */
  perRow: number;
}

export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function hostHeight(rows: number): number {
  return HOST_HEAD + Math.max(1, rows) * ROW_H + 8;
}

export function layout(input: LayoutInput): { vnets: Map<number, Placed>; hosts: Map<number, Placed> } {
  const hostsOf = new Map(input.vnets.map((v) => [v.id, v.nodeIds]));
  const vnetsOf = new Map<number, number[]>();
  for (const v of input.vnets) for (const n of v.nodeIds) vnetsOf.set(n, [...(vnetsOf.get(n) ?? []), v.id]);
  // Nodes first in their given order (by name); VNETs by the mean index of their nodes; then nodes
  // again by the mean index of their VNETs (nodes with none keep their place at the end).
  const hostIndex = new Map(input.hosts.map((h, i) => [h.id, i]));
  const mean = (xs: number[], at: Map<number, number>, fallback: number) =>
    xs.length ? xs.reduce((s, x) => s + (at.get(x) ?? fallback), 0) / xs.length : fallback;
  const vnetOrder = [...input.vnets]
    .map((v, i) => ({ id: v.id, key: mean(hostsOf.get(v.id) ?? [], hostIndex, input.hosts.length + i) }))
    .sort((a, b) => a.key - b.key)
    .map((v) => v.id);
  const vnetIndex = new Map(vnetOrder.map((id, i) => [id, i]));
  const hostOrder = [...input.hosts]
    .map((h, i) => ({ ...h, key: mean(vnetsOf.get(h.id) ?? [], vnetIndex, vnetOrder.length + i) }))
    .sort((a, b) => a.key - b.key);

  const perRow = Math.max(1, input.perRow);
  const gridW = Math.min(perRow, Math.max(1, hostOrder.length)) * (HOST_W + GAP) - GAP;
  const vnetRowW = vnetOrder.length * (VNET_W + GAP) - GAP;
  const width = Math.max(gridW, vnetRowW, VNET_W);
  const vnets = new Map<number, Placed>();
  const vx0 = (width - vnetRowW) / 2;
  vnetOrder.forEach((id, i) => {
    vnets.set(id, { x: vx0 + i * (VNET_W + GAP), y: 0, width: VNET_W, height: VNET_H });
  });
  const hosts = new Map<number, Placed>();
  const hx0 = (width - gridW) / 2;
  let y = VNET_H + TIER_GAP;
  for (let r = 0; r * perRow < hostOrder.length; r++) {
    const row = hostOrder.slice(r * perRow, (r + 1) * perRow);
    const h = Math.max(...row.map((b) => hostHeight(b.rows)));
    row.forEach((b, i) => {
      hosts.set(b.id, { x: hx0 + i * (HOST_W + GAP), y, width: HOST_W, height: hostHeight(b.rows) });
    });
    y += h + GAP;
  }
  return { vnets, hosts };
}
