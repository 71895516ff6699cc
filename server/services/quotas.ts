// Optional quotas per user and per group on VNETs owned and leases taken (addresses used by the
// owner's NICs plus addresses reserved into the owner's reservation VNETs). Usage is counted
// live inside the caller's transaction, so two concurrent requests cannot both slip under a limit
// (writers serialize on BEGIN IMMEDIATE). Cloud admins are not limited.
import { and, count, eq, isNotNull, sql } from "drizzle-orm";
import { type Db, immediate, type Tx } from "../../db";
import { addressRanges, groups, instances, leases, nics, quotas, user, vnets } from "../../db/schema";
import type { App } from "../app";
import { type Actor, audit } from "../audit";
import { conflict, invalid } from "../errors";
import type { Owner } from "./ownership";

type Subject = { type: "user" | "group"; id: string };
export type Usage = { vnets: number; leases: number };

/** What `s` uses now. */
export function usageOf(tx: Tx | Db, s: Subject): Usage {
  const byVnet = s.type === "user" ? eq(vnets.ownerId, s.id) : eq(vnets.groupId, Number(s.id));
  const byInst = s.type === "user" ? eq(instances.ownerId, s.id) : eq(instances.groupId, Number(s.id));
  const v = tx.select({ n: count() }).from(vnets).where(byVnet).get()?.n ?? 0;
  const nicLeases =
    tx
      .select({ n: count() })
      .from(leases)
      .innerJoin(nics, eq(nics.id, leases.nicId))
      .innerJoin(instances, eq(instances.id, nics.instanceId))
      .where(byInst)
      .get()?.n ?? 0;
  const reserved =
    tx
      .select({ n: sql<number>`coalesce(sum(${addressRanges.size}), 0)` })
      .from(addressRanges)
      .innerJoin(vnets, eq(vnets.id, addressRanges.vnetId))
      .where(and(byVnet, isNotNull(vnets.parentVnetId)))
      .get()?.n ?? 0;
  return { vnets: v, leases: nicLeases + reserved };
}

function limitOf(tx: Tx, s: Subject) {
  return tx
    .select()
    .from(quotas)
    .where(and(eq(quotas.subjectType, s.type), eq(quotas.subjectId, s.id)))
    .get();
}

/** Refuses (CONFLICT, naming the quota) when adding `add` would exceed the owner's or their
 * primary group's quota. */
export function checkQuota(tx: Tx, owner: Owner & { username?: string }, add: Partial<Usage>) {
  if (owner.role === "admin") return;
  const subjects: (Subject & { label: string })[] = [
    { type: "user", id: owner.id, label: `user ${owner.username ?? owner.id}` },
    {
      type: "group",
      id: String(owner.primaryGroupId),
      label: `group ${tx.select({ n: groups.name }).from(groups).where(eq(groups.id, owner.primaryGroupId)).get()?.n ?? owner.primaryGroupId}`,
    },
  ];
  for (const s of subjects) {
    const q = limitOf(tx, s);
    if (!q) continue;
    const used = usageOf(tx, s);
    if (add.vnets && q.maxVnets !== null && used.vnets + add.vnets > q.maxVnets)
      throw conflict(
        `VNET quota exceeded: ${s.label} may own at most ${q.maxVnets} VNET${q.maxVnets === 1 ? "" : "s"} (${used.vnets} in use); delete one or ask an administrator to raise the quota`,
      );
    if (add.leases && q.maxLeases !== null && used.leases + add.leases > q.maxLeases)
      throw conflict(
        `Lease quota exceeded: ${s.label} may hold at most ${q.maxLeases} addresses (${used.leases} in use, ${add.leases} more asked); free some or ask an administrator to raise the quota`,
      );
  }
}

/** The quota and usage of a user or group (null limits: unlimited). */
export function quotaOf(app: App, s: Subject) {
  const q = app.db
    .select()
    .from(quotas)
    .where(and(eq(quotas.subjectType, s.type), eq(quotas.subjectId, s.id)))
    .get();
  return { maxVnets: q?.maxVnets ?? null, maxLeases: q?.maxLeases ?? null, usage: usageOf(app.db, s) };
}

/** Sets (or clears, with both limits null) the quota of a user or group. */
export function setQuota(
  app: App,
  actor: Actor,
  input: {
    subjectType: "user" | "group";
    subjectId: string;
    maxVnets: number | null;
    maxLeases: number | null;
  },
) {
  return immediate(app.db, (tx) => {
    const exists =
      input.subjectType === "user"
        ? tx.select({ id: user.id }).from(user).where(eq(user.id, input.subjectId)).get()
        : tx
            .select({ id: groups.id })
            .from(groups)
            .where(eq(groups.id, Number(input.subjectId)))
            .get();
    if (!exists) throw invalid(`No ${input.subjectType} ${input.subjectId}`, "subjectId");
    tx.delete(quotas)
      .where(and(eq(quotas.subjectType, input.subjectType), eq(quotas.subjectId, input.subjectId)))
      .run();
    if (input.maxVnets !== null || input.maxLeases !== null) tx.insert(quotas).values(input).run();
    const fmt = (n: number | null) => (n === null ? "unlimited" : String(n));
    audit(tx, actor, {
      action: "quota.set",
      objectType: input.subjectType,
      objectId: input.subjectId,
      detail: `VNETs ${fmt(input.maxVnets)}, leases ${fmt(input.maxLeases)}`,
    });
    return { ...input };
  });
}
