// Whether the underlay carries a VXLAN VNET's frames, from what the nodes measured (each agent
// DF-pings the VTEPs of its VXLAN peers and reports the path MTU): a guest frame of the guest MTU
// plus the 50 bytes of encapsulation must pass between every pair of nodes hosting the VNET, or
// large packets between those guests are silently dropped.
import { and, eq, inArray } from "drizzle-orm";
import { nodes, vnets } from "../../../db/schema";
import { guestMtu, VXLAN_OVERHEAD } from "../../../lib/context";
import type { Subject } from "../../../lib/permissions";
import type { App } from "../../app";
import { permitted } from "../../authz";
import { notFound } from "../../errors";
import { vxlanNodesOf } from "../nodes/desired";

export interface UnderlayPair {
  fromNodeId: number;
  from: string;
  toNodeId: number;
  to: string;
  /** The path MTU `from` measured to `to`'s VTEP; null: no answer at all; undefined: not yet. */
  mtu: number | null | undefined;
  fits: boolean;
}

/** The VNET's underlay as its nodes measured it: every ordered pair of hosting nodes, the pairs
 * whose path is too small, and the MTU that fits them all. */
export function vnetUnderlay(app: App, who: Subject, id: number) {
  const v = app.db
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, id), permitted(vnets, who, "use")))
    .get();
  if (!v) throw notFound(`VNET ${id}`);
  const guest = guestMtu(v);
  const needed = guest + VXLAN_OVERHEAD;
  if (v.driver !== "vxlan") return { vxlan: false, guestMtu: guest, needed, pairs: [], fitsAll: null };
  const hostIds = vxlanNodesOf(app.db, [v.id]);
  const hosts =
    hostIds.length === 0
      ? []
      : app.db
          .select({ id: nodes.id, name: nodes.name, vtep: nodes.vtepAddress, report: nodes.report })
          .from(nodes)
          .where(inArray(nodes.id, hostIds))
          .orderBy(nodes.name)
          .all();
  const pairs: UnderlayPair[] = [];
  for (const a of hosts) {
    const measured = new Map((a.report?.underlayMtu ?? []).map((m) => [m.peer, m.mtu]));
    for (const b of hosts) {
      if (a.id === b.id || !b.vtep) continue;
      const mtu = measured.get(b.vtep);
      pairs.push({
        fromNodeId: a.id,
        from: a.name,
        toNodeId: b.id,
        to: b.name,
        mtu,
        fits: mtu === undefined || (mtu !== null && mtu >= needed),
      });
    }
  }
  const known = pairs.map((p) => p.mtu).filter((m): m is number => typeof m === "number");
  /** The largest underlay MTU every measured pair carries (the VNET's MTU that fits). */
  const fitsAll = known.length ? Math.min(...known) : null;
  return { vxlan: true, guestMtu: guest, needed, pairs, fitsAll };
}
