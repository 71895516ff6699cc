// Automatic network selection: a NIC that asks for "any VNET" gets one when its instance is placed
// on a node, among the VNETs available in that node's cluster that the instance's owner may USE
// (and that are not locked against use), filtered by the NIC's requirements and ordered by its
// rank. Runs inside the placing transaction, so the free-lease counts are the ones allocation sees.
import { and, count, eq, exists, sql } from "drizzle-orm";
import type { Tx } from "../../../db";
import { addressRanges, clusters, leases, vnetClusters, vnets } from "../../../db/schema";
import { lockBlocks, type Subject } from "../../../lib/permissions";
import type { Selection } from "../../../lib/tenancy";
import { permitted } from "../../authz";
import { conflict } from "../../errors";

type Vnet = typeof vnets.$inferSelect;
export type Candidate = { vnet: Vnet; free: number };

/** Every VNET `who` may use in `clusterId` with its free-address count, before requirements. */
export function usableInCluster(tx: Tx, who: Subject, clusterId: number): Candidate[] {
  const sizes = tx
    .select({ vnetId: addressRanges.vnetId, size: sql<number>`sum(${addressRanges.size})`.as("size") })
    .from(addressRanges)
    .groupBy(addressRanges.vnetId)
    .as("sizes");
  const used = tx
    .select({ vnetId: leases.vnetId, used: count().as("used") })
    .from(leases)
    .groupBy(leases.vnetId)
    .as("used");
  return tx
    .select({
      vnet: vnets,
      free: sql<number>`coalesce(${sizes.size}, 0) - coalesce(${used.used}, 0)`,
    })
    .from(vnets)
    .leftJoin(sizes, eq(sizes.vnetId, vnets.id))
    .leftJoin(used, eq(used.vnetId, vnets.id))
    .where(
      and(
        permitted(vnets, who, "use"),
        exists(
          tx
            .select({ one: sql`1` })
            .from(vnetClusters)
            .where(and(eq(vnetClusters.vnetId, vnets.id), eq(vnetClusters.clusterId, clusterId))),
        ),
      ),
    )
    .all()
    .filter((c) => !lockBlocks(c.vnet.lockLevel, "use"));
}

/** Applies requirements and rank (pure over the candidates): the best first. */
export function rankCandidates(cands: Candidate[], who: Subject, req: Selection): Candidate[] {
  const ok = cands.filter(
    (c) =>
      c.free >= req.minFree &&
      req.labels.every((l) => c.vnet.labels.includes(l)) &&
      (req.templateId === undefined || c.vnet.templateId === req.templateId) &&
      (!req.ownedOnly || c.vnet.ownerId === who.id),
  );
  const by: Record<Selection["rank"], (a: Candidate, b: Candidate) => number> = {
    most_free: (a, b) => b.free - a.free,
    least_free: (a, b) => a.free - b.free,
    newest: (a, b) => b.vnet.id - a.vnet.id,
    oldest: (a, b) => a.vnet.id - b.vnet.id,
  };
  return ok.sort((a, b) => by[req.rank](a, b) || a.vnet.id - b.vnet.id);
}

/** Describes requirements for messages: "label prod, 2 free addresses". */
export function describeSelection(req: Selection): string {
  const parts = [
    ...req.labels.map((l) => `label ${l}`),
    req.templateId !== undefined ? `template #${req.templateId}` : null,
    `${req.minFree} free address${req.minFree === 1 ? "" : "es"}`,
    req.ownedOnly ? "owned by you" : null,
  ].filter(Boolean);
  return parts.join(", ");
}

/** The VNET a NIC asking for any VNET gets on `node`; CONFLICT naming the cluster when none fits. */
export function selectVnet(
  tx: Tx,
  who: Subject,
  node: { name: string; clusterId: number },
  req: Selection,
  field?: string,
): Vnet {
  const cands = usableInCluster(tx, who, node.clusterId);
  const best = rankCandidates(cands, who, req)[0];
  if (best) return best.vnet;
  const cluster = tx
    .select({ n: clusters.name })
    .from(clusters)
    .where(eq(clusters.id, node.clusterId))
    .get()?.n;
  throw conflict(
    `No VNET matches (${describeSelection(req)}) on node ${node.name} (cluster ${cluster ?? node.clusterId}): ` +
      (cands.length
        ? `${cands.length} VNET${cands.length === 1 ? " is" : "s are"} usable there but none meets every requirement`
        : "no VNET you may use is available in that cluster"),
    field,
  );
}
