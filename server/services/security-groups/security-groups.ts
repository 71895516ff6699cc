// Security groups: CRUD of groups and their rule lists, attachment to VNETs and single NICs, the
// rollout status of every NIC a group affects and `commit` (re-push). The compiled policy of a NIC
// is sg-policy.ts; the per-NIC preview and explain tools are sg-tools.ts.
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import { snapshot, type Tx } from "../../../db";
import {
  instances,
  nicSecurityGroups,
  nics,
  nodes,
  securityGroups,
  sgRules,
  user as users,
  vnetSecurityGroups,
  vnets,
} from "../../../db/schema";
import type { Subject } from "../../../lib/permissions";
import { lintRules, ruleKey, type SgRule } from "../../../lib/sg";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { conflict, invalid, notFound } from "../../errors";
import { assertUnlocked } from "../ownership";
import { mutate } from "../revision";
import {
  DEFAULT_SG,
  egressLostWithoutDefault,
  networkAddrs,
  nicsWithoutEgress,
  nodesUsingGroups,
  rulesOf,
  stampGroups,
} from "./sg-policy";

type Owner = Subject & { primaryGroupId: number };
export type SgInput = { name: string; description: string; rules: SgRule[] };

/** Refuses a rule list with an exact duplicate, at the later rule's field. */
function checkRules(rules: SgRule[]) {
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const key = ruleKey(r);
    const first = seen.get(key);
    if (first !== undefined)
      throw invalid(
        `Rule ${i + 1} repeats rule ${first + 1} exactly; remove one of them`,
        `rules.${i}.protocol`,
      );
    seen.set(key, i);
  });
}

/** Stores a group's rule list. A rule that was already there (the same rule, however spelled)
 * keeps its id, and with it its counter on the nodes (named after the id): editing one rule must
 * not zero the others' hits. New rules are inserted, rules no longer listed deleted. */
function writeRules(tx: Tx, sgId: number, rules: SgRule[]) {
  const stored = rulesOf(tx, [sgId]);
  const byKey = new Map(stored.map((r) => [ruleKey(r), r.id]));
  const fields = (r: SgRule, position: number) => ({
    sgId,
    position,
    protocol: r.protocol,
    direction: r.direction,
    ip: r.ip ?? null,
    size: r.ip ? (r.size ?? 1) : null,
    range: r.range ?? null,
    icmpType: r.icmpType ?? null,
    networkId: r.networkId ?? null,
  });
  const kept = new Set<number>();
  const added: ReturnType<typeof fields>[] = [];
  for (const [position, r] of rules.entries()) {
    const id = byKey.get(ruleKey(r));
    if (id === undefined) {
      added.push(fields(r, position));
      continue;
    }
    kept.add(id);
    tx.update(sgRules).set(fields(r, position)).where(eq(sgRules.id, id)).run();
  }
  const gone = stored.filter((r) => !kept.has(r.id)).map((r) => r.id);
  if (gone.length) tx.delete(sgRules).where(inArray(sgRules.id, gone)).run();
  if (added.length) tx.insert(sgRules).values(added).run();
}

/** NICs a group applies to (through a VNET or directly), with their node. */
function affectedNics(tx: Tx, sgId: number) {
  const viaVnet = tx
    .select({ nicId: nics.id })
    .from(nics)
    .innerJoin(vnetSecurityGroups, eq(vnetSecurityGroups.vnetId, nics.vnetId))
    .where(eq(vnetSecurityGroups.sgId, sgId))
    .all();
  const own = tx
    .select({ nicId: nicSecurityGroups.nicId })
    .from(nicSecurityGroups)
    .where(eq(nicSecurityGroups.sgId, sgId))
    .all();
  const ids = [...new Set([...viaVnet, ...own].map((r) => r.nicId))];
  if (ids.length === 0) return [];
  return tx
    .select({
      nicId: nics.id,
      idx: nics.idx,
      vnetId: nics.vnetId,
      vnetName: vnets.name,
      instanceId: instances.id,
      instanceName: instances.name,
      nodeId: nodes.id,
      nodeName: nodes.name,
      appliedRevision: nodes.appliedRevision,
      report: nodes.report,
    })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(nodes, eq(nodes.id, instances.nodeId))
    .innerJoin(vnets, eq(vnets.id, nics.vnetId))
    .where(inArray(nics.id, ids))
    .orderBy(asc(nics.id))
    .all();
}

/** Stamps the group with the revision its change lands at and wakes the nodes it affects. */
function rollOut(tx: Tx, sgId: number, touch: (ids: Iterable<number>) => void) {
  const nodeIds = nodesUsingGroups(tx, [sgId]);
  touch(nodeIds);
  stampGroups(tx, [sgId], nodeIds.length > 0);
}

/** The group as its caller may see it (USE), or NOT_FOUND. */
export function visible(tx: Tx, who: Subject, id: number, level: "use" | "manage" | "admin" = "use") {
  const sg = tx
    .select()
    .from(securityGroups)
    .where(and(eq(securityGroups.id, id), permitted(securityGroups, who, level)))
    .get();
  if (!sg) {
    // MANAGE asked of a group the caller may only USE: say so rather than pretend it is absent.
    if (level !== "use" && visibleOnly(tx, who, id))
      throw invalid(`You may use security group ${id} but not change it; ask its owner or an admin`);
    throw notFound(`Security group ${id}`);
  }
  return sg;
}
const visibleOnly = (tx: Tx, who: Subject, id: number) =>
  tx
    .select({ id: securityGroups.id })
    .from(securityGroups)
    .where(and(eq(securityGroups.id, id), permitted(securityGroups, who, "use")))
    .get();

/** Groups the caller may see, with rule and VNET counts and the owner's user name. */
export function listSgs(app: App, who: Subject) {
  const rows = app.db
    .select({
      id: securityGroups.id,
      name: securityGroups.name,
      description: securityGroups.description,
      ownerId: securityGroups.ownerId,
      ownerName: users.username,
      perms: securityGroups.perms,
      revision: securityGroups.revision,
      updatedAt: securityGroups.updatedAt,
      rules: sql<number>`(SELECT count(*) FROM sg_rules r WHERE r.sg_id = ${securityGroups.id})`,
      // Counted among the VNETs the caller may see (the default group is on every tenant's VNETs).
      vnets: sql<number>`(SELECT count(*) FROM vnet_security_groups v JOIN vnets ON vnets.id = v.vnet_id
        WHERE v.sg_id = ${securityGroups.id} AND ${permitted(vnets, who, "use")})`,
    })
    .from(securityGroups)
    .leftJoin(users, eq(users.id, securityGroups.ownerId))
    .where(permitted(securityGroups, who, "use"))
    .orderBy(asc(securityGroups.id))
    .all();
  return rows;
}

/** The groups attached to one VNET (USE on the VNET), and whether the default group is among them. */
export function vnetSgs(app: App, who: Subject, vnetId: number) {
  return snapshot(app.db, (tx) => {
    const vnet = tx
      .select({ id: vnets.id, name: vnets.name })
      .from(vnets)
      .where(and(eq(vnets.id, vnetId), permitted(vnets, who, "use")))
      .get();
    if (!vnet) throw notFound(`VNET ${vnetId}`);
    const groups = tx
      .select({
        id: securityGroups.id,
        name: securityGroups.name,
        description: securityGroups.description,
        revision: securityGroups.revision,
        rules: sql<number>`(SELECT count(*) FROM sg_rules r WHERE r.sg_id = ${securityGroups.id})`,
      })
      .from(vnetSecurityGroups)
      .innerJoin(securityGroups, eq(securityGroups.id, vnetSecurityGroups.sgId))
      .where(eq(vnetSecurityGroups.vnetId, vnet.id))
      .orderBy(asc(securityGroups.id))
      .all();
    const defaultAttached = groups.some((g) => g.id === DEFAULT_SG);
    return {
      vnet,
      groups,
      defaultAttached,
      // NICs that detaching the default group would leave with no outbound rule (all egress dropped).
      egressLostOnDetach: defaultAttached ? egressLostWithoutDefault(tx, vnet.id) : 0,
    };
  });
}

/** Status of one NIC against the group's last change. */
function nicStatus(n: ReturnType<typeof affectedNics>[number], revision: number) {
  const port = n.report?.ports.find((p) => p.nicId === n.nicId);
  if (port && !port.ok && (n.report?.revision ?? 0) >= revision)
    return { status: "error" as const, error: port.error ?? "the node reported an error" };
  if (n.appliedRevision >= revision && (!port || port.ok)) return { status: "up to date" as const };
  return { status: "outdated" as const };
}

/** A group with its rules, lint findings, and the VNETs and NICs it affects that the caller may see
 * (with each NIC's live rollout status). */
export function getSg(app: App, who: Subject, id: number) {
  return snapshot(app.db, (tx) => {
    const sg = visible(tx, who, id);
    const rules = rulesOf(tx, [id]);
    const nets = networkAddrs(tx, [
      ...new Set(rules.map((r) => r.networkId).filter((x): x is number => x !== undefined)),
    ]);
    const attached = tx
      .select({ id: vnets.id, name: vnets.name })
      .from(vnetSecurityGroups)
      .innerJoin(vnets, eq(vnets.id, vnetSecurityGroups.vnetId))
      // Only VNETs the caller may see: the default group is on every tenant's VNETs.
      .where(and(eq(vnetSecurityGroups.sgId, id), permitted(vnets, who, "use")))
      .orderBy(asc(vnets.name))
      .all()
      .map((v) => ({
        ...v,
        // Whether the caller may attach and detach groups there (MANAGE on the VNET).
        canManage: !!tx
          .select({ id: vnets.id })
          .from(vnets)
          .where(and(eq(vnets.id, v.id), permitted(vnets, who, "manage")))
          .get(),
        // While the default group is attached too, this group changes nothing on that VNET.
        defaultAttached:
          id !== DEFAULT_SG &&
          !!tx
            .select({ v: vnetSecurityGroups.vnetId })
            .from(vnetSecurityGroups)
            .where(and(eq(vnetSecurityGroups.vnetId, v.id), eq(vnetSecurityGroups.sgId, DEFAULT_SG)))
            .get(),
      }))
      .map((v) => ({
        ...v,
        // NICs there that detaching the default group would leave with no outbound rule.
        egressLostOnDetach: v.defaultAttached ? egressLostWithoutDefault(tx, v.id) : 0,
      }));
    const affected = affectedNics(tx, id);
    const seen = new Set(
      tx
        .select({ id: vnets.id })
        .from(vnets)
        .where(
          and(
            inArray(vnets.id, [...new Set(affected.map((n) => n.vnetId)), -1]),
            permitted(vnets, who, "use"),
          ),
        )
        .all()
        .map((v) => v.id),
    );
    const nicsOf = affected
      .filter((n) => seen.has(n.vnetId))
      .map((n) => ({
        nicId: n.nicId,
        name: `${n.instanceName} eth${n.idx}`,
        vnetName: n.vnetName,
        nodeName: n.nodeName,
        ...nicStatus(n, sg.revision),
      }));
    return {
      ...sg,
      rules,
      vnets: attached,
      nics: nicsOf,
      lint: lintRules(rules, nets),
      // A group without OUTBOUND rules drops all egress of the NICs it alone filters; said as a
      // group-level finding so the editor shows it before anyone detaches the default group.
      egress:
        rules.some((r) => r.direction === "OUTBOUND") || id === DEFAULT_SG
          ? null
          : {
              message:
                nicsOf.length > 0
                  ? `No outbound rule: all egress from ${nicsOf.length} NIC${nicsOf.length === 1 ? "" : "s"} will be dropped wherever no other group allows it (no DNS, no updates)`
                  : "No outbound rule: NICs filtered only by this group can send nothing (no DNS, no updates)",
            },
    };
  });
}

/** Creates a group owned by the caller. */
export function createSg(app: App, actor: Actor, owner: Owner, input: SgInput) {
  checkRules(input.rules);
  return mutate(app, (tx) => {
    if (
      tx
        .select({ id: securityGroups.id })
        .from(securityGroups)
        .where(eq(securityGroups.name, input.name))
        .get()
    )
      throw conflict(`A security group named ${input.name} already exists; pick another name`, "name");
    checkNetworks(tx, owner, input.rules);
    const sg = tx
      .insert(securityGroups)
      .values({
        name: input.name,
        description: input.description,
        ownerId: owner.id,
        groupId: owner.primaryGroupId,
        perms: 0o600,
      })
      .returning()
      .get();
    writeRules(tx, sg.id, input.rules);
    audit(tx, actor, {
      action: "sg.create",
      objectType: "sg",
      objectId: sg.id,
      objectName: sg.name,
      detail: `${input.rules.length} rule(s)`,
    });
    return sg;
  });
}

/** NETWORK_ID must name a VNET the caller may USE. */
function checkNetworks(tx: Tx, who: Subject, rules: SgRule[]) {
  rules.forEach((r, i) => {
    if (r.networkId === undefined) return;
    const ok = tx
      .select({ id: vnets.id })
      .from(vnets)
      .where(and(eq(vnets.id, r.networkId), permitted(vnets, who, "use")))
      .get();
    if (!ok) throw invalid(`VNET ${r.networkId} not found`, `rules.${i}.networkId`);
  });
}

/** Replaces name, description and the whole rule list in one transaction; rolls out to every NIC. */
export function updateSg(app: App, actor: Actor, who: Subject, input: SgInput & { id: number }) {
  checkRules(input.rules);
  return mutate(app, (tx, touch) => {
    const sg = visible(tx, who, input.id, "manage");
    assertUnlocked("sg", sg, "manage");
    const clash = tx
      .select({ id: securityGroups.id })
      .from(securityGroups)
      .where(eq(securityGroups.name, input.name))
      .get();
    if (clash && clash.id !== sg.id)
      throw conflict(`A security group named ${input.name} already exists; pick another name`, "name");
    checkNetworks(tx, who, input.rules);
    tx.update(securityGroups)
      .set({ name: input.name, description: input.description })
      .where(eq(securityGroups.id, sg.id))
      .run();
    writeRules(tx, sg.id, input.rules);
    rollOut(tx, sg.id, touch);
    audit(tx, actor, {
      action: "sg.update",
      objectType: "sg",
      objectId: sg.id,
      objectName: input.name,
      detail: `${input.rules.length} rule(s)`,
    });
    return { id: sg.id };
  });
}

/** Deletes a group no VNET or NIC uses. */
export function removeSg(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx) => {
    const sg = visible(tx, who, id, "manage");
    assertUnlocked("sg", sg, "manage");
    if (sg.id === DEFAULT_SG) throw conflict("The default security group is built in and cannot be deleted");
    const users = tx
      .select({ name: vnets.name })
      .from(vnetSecurityGroups)
      .innerJoin(vnets, eq(vnets.id, vnetSecurityGroups.vnetId))
      .where(eq(vnetSecurityGroups.sgId, id))
      .all();
    const nicUsers = tx
      .select({ n: count() })
      .from(nicSecurityGroups)
      .where(eq(nicSecurityGroups.sgId, id))
      .get()!.n;
    if (users.length || nicUsers)
      throw conflict(
        `Security group ${sg.name} is attached to ${[
          ...(users.length ? [`VNET ${users.map((u) => u.name).join(", ")}`] : []),
          ...(nicUsers ? [`${nicUsers} NIC(s)`] : []),
        ].join(" and ")}; detach it first`,
      );
    tx.delete(securityGroups).where(eq(securityGroups.id, id)).run();
    audit(tx, actor, { action: "sg.remove", objectType: "sg", objectId: id, objectName: sg.name });
    return { id };
  });
}

/** Attaches (or detaches) a group to a VNET: MANAGE on the VNET, USE on the group. */
export function setVnetSg(
  app: App,
  actor: Actor,
  who: Subject,
  input: { vnetId: number; sgId: number; attached: boolean },
) {
  return mutate(app, (tx, touch) => {
    const vnet = tx
      .select({ id: vnets.id, name: vnets.name })
      .from(vnets)
      .where(and(eq(vnets.id, input.vnetId), permitted(vnets, who, "manage")))
      .get();
    if (!vnet) throw notFound(`VNET ${input.vnetId}`);
    const sg = visible(tx, who, input.sgId);
    const link = and(eq(vnetSecurityGroups.vnetId, vnet.id), eq(vnetSecurityGroups.sgId, sg.id));
    const has = !!tx.select().from(vnetSecurityGroups).where(link).get();
    if (has === input.attached) return { changed: false, warnings: [] as string[] };
    if (input.attached) tx.insert(vnetSecurityGroups).values({ vnetId: vnet.id, sgId: sg.id }).run();
    else tx.delete(vnetSecurityGroups).where(link).run();
    const nodeIds = tx
      .select({ nodeId: instances.nodeId })
      .from(nics)
      .innerJoin(instances, eq(instances.id, nics.instanceId))
      .where(eq(nics.vnetId, vnet.id))
      .all()
      .map((r) => r.nodeId);
    touch(nodeIds);
    // The policy of the VNET's NICs changed for every group now on it (detaching the default group
    // makes the others take effect), and for the group itself: their NICs are outdated until applied.
    const onVnet = tx
      .select({ sgId: vnetSecurityGroups.sgId })
      .from(vnetSecurityGroups)
      .where(eq(vnetSecurityGroups.vnetId, vnet.id))
      .all()
      .map((r) => r.sgId);
    stampGroups(tx, [...new Set([sg.id, ...onVnet])], nodeIds.length > 0);
    // Said in the answer and the audit entry: a detach that leaves NICs sending nothing was a
    // silent foot-gun (no DNS, no updates) when the remaining groups have inbound rules only.
    const dropped = input.attached ? 0 : nicsWithoutEgress(tx, vnet.id, onVnet);
    audit(tx, actor, {
      action: input.attached ? "sg.attach" : "sg.detach",
      objectType: "vnet",
      objectId: vnet.id,
      objectName: vnet.name,
      detail: `security group ${sg.name} (${sg.id})${dropped ? `; ${dropped} NIC${dropped === 1 ? "" : "s"} left with no outbound rule` : ""}`,
    });
    return {
      changed: true,
      warnings: dropped
        ? [
            `No outbound rule: all egress from ${dropped} NIC${dropped === 1 ? "" : "s"} on VNET ${vnet.name} is dropped`,
          ]
        : [],
    };
  });
}

/** Attaches (or detaches) a group to one NIC: MANAGE on the NIC's VNET, USE on the group. */
export function setNicSg(
  app: App,
  actor: Actor,
  who: Subject,
  input: { nicId: number; sgId: number; attached: boolean },
) {
  return mutate(app, (tx, touch) => {
    const nic = tx
      .select({ id: nics.id, nodeId: instances.nodeId, instanceName: instances.name, idx: nics.idx })
      .from(nics)
      .innerJoin(instances, eq(instances.id, nics.instanceId))
      .innerJoin(vnets, eq(vnets.id, nics.vnetId))
      .where(and(eq(nics.id, input.nicId), permitted(vnets, who, "manage")))
      .get();
    if (!nic) throw notFound(`NIC ${input.nicId}`);
    const sg = visible(tx, who, input.sgId);
    const link = and(eq(nicSecurityGroups.nicId, nic.id), eq(nicSecurityGroups.sgId, sg.id));
    const has = !!tx.select().from(nicSecurityGroups).where(link).get();
    if (has === input.attached) return { changed: false, warnings: [] as string[] };
    if (input.attached) tx.insert(nicSecurityGroups).values({ nicId: nic.id, sgId: sg.id }).run();
    else tx.delete(nicSecurityGroups).where(link).run();
    touch([nic.nodeId]);
    stampGroups(tx, [sg.id], true);
    audit(tx, actor, {
      action: input.attached ? "sg.attach" : "sg.detach",
      objectType: "nic",
      objectId: nic.id,
      objectName: `${nic.instanceName} eth${nic.idx}`,
      detail: `security group ${sg.name} (${sg.id})`,
    });
    return { changed: true, warnings: [] as string[] };
  });
}

/** Re-pushes the group to the nodes of its outdated and errored NICs. */
export function commitSg(app: App, actor: Actor, who: Subject, id: number) {
  return mutate(app, (tx, touch) => {
    const sg = visible(tx, who, id, "manage");
    const pending = affectedNics(tx, id).filter((n) => nicStatus(n, sg.revision).status !== "up to date");
    const nodeIds = [...new Set(pending.map((n) => n.nodeId))];
    touch(nodeIds);
    audit(tx, actor, {
      action: "sg.commit",
      objectType: "sg",
      objectId: id,
      objectName: sg.name,
      detail: `${pending.length} NIC(s) on ${nodeIds.length} node(s) re-pushed`,
    });
    return { nics: pending.length, nodes: nodeIds.length };
  });
}
