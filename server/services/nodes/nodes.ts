// Nodes and the agent channel's credentials: enroll (one-time join token), join (token →
// per-node credential, stored only as a hash), revoke, reports from the agent.
import crypto from "node:crypto";
import { and, eq, gt, isNotNull } from "drizzle-orm";
import type { z } from "zod";
import { immediate } from "../../../db";
import { clusters, instances, nodes } from "../../../db/schema";
import type { nodeCreateInput } from "../../../lib/schemas";
import { hashSecret } from "../../../lib/secret";
import {
  type AgentReport,
  CREDENTIAL_PREFIX,
  JOIN_TOKEN_PREFIX,
  type JoinResponse,
  parseJoinToken,
} from "../../../lib/wire";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { conflict, forbidden, invalid, notFound } from "../../errors";
import { mutate } from "../revision";
import { recordCounters } from "../security-groups/sg-counters";
import { recordApply } from "./apply-history";
import { vnetsOnNode, vxlanNodesOf } from "./desired";
import { agentWire, wireMismatch } from "./wire-compat";

const secret = (prefix: string) => `${prefix}${crypto.randomBytes(32).toString("base64url")}`;

/** A join token: its secret (stored hashed) and, when the agent channel has TLS, the fingerprint
 * of the certificate the agent must see after a dot (`bhj_<secret>.<fingerprint>`). */
function newJoinToken(app: App) {
  const bare = secret(JOIN_TOKEN_PREFIX);
  const pin = app.tls.current;
  const expiresAt = new Date(Date.now() + app.env.BRIDGEHEAD_JOIN_TOKEN_TTL_MIN * 60_000);
  return { token: pin ? `${bare}.${pin}` : bare, hash: hashSecret(bare), expiresAt };
}

/** Enrolls a node: creates it and returns its one-time join token (shown once, stored hashed). */
export function createNode(app: App, actor: Actor, input: z.output<typeof nodeCreateInput>) {
  return mutate(app, (tx) => {
    if (tx.select({ id: nodes.id }).from(nodes).where(eq(nodes.name, input.name)).get())
      throw conflict(`A node named ${input.name} already exists; pick another name`, "name");
    if (!tx.select().from(clusters).where(eq(clusters.id, input.clusterId)).get())
      throw invalid(`Cluster ${input.clusterId} does not exist`, "clusterId");
    const jt = newJoinToken(app);
    const node = tx
      .insert(nodes)
      .values({
        name: input.name,
        clusterId: input.clusterId,
        joinTokenHash: jt.hash,
        joinTokenExpiresAt: jt.expiresAt,
      })
      .returning()
      .get();
    audit(tx, actor, { action: "node.create", objectType: "node", objectId: node.id, objectName: node.name });
    return { id: node.id, name: node.name, joinToken: jt.token, expiresAt: jt.expiresAt };
  });
}

/** Issues a fresh join token (lost token, expired token, or re-enrolling a revoked node). */
export function newNodeToken(app: App, actor: Actor, id: number) {
  return mutate(app, (tx) => {
    const node = tx.select().from(nodes).where(eq(nodes.id, id)).get();
    if (!node) throw notFound(`Node ${id}`);
    const jt = newJoinToken(app);
    tx.update(nodes)
      .set({ joinTokenHash: jt.hash, joinTokenExpiresAt: jt.expiresAt })
      .where(eq(nodes.id, id))
      .run();
    audit(tx, actor, { action: "node.token", objectType: "node", objectId: id, objectName: node.name });
    return { id, name: node.name, joinToken: jt.token, expiresAt: jt.expiresAt };
  });
}

/** Revokes a node's credential and cuts its live connection. */
export function revokeNode(app: App, actor: Actor, id: number) {
  const out = mutate(app, (tx, touch) => {
    const node = tx.select().from(nodes).where(eq(nodes.id, id)).get();
    if (!node) throw notFound(`Node ${id}`);
    if (!node.credentialHash) throw conflict(`Node ${node.name} has no active credential to revoke`);
    tx.update(nodes).set({ credentialHash: null, revokedAt: new Date() }).where(eq(nodes.id, id)).run();
    // A revoked node is nobody's VXLAN peer any more.
    touch(vxlanNodesOf(tx, vnetsOnNode(tx, id)).filter((n) => n !== id));
    audit(tx, actor, { action: "node.revoke", objectType: "node", objectId: id, objectName: node.name });
    return { id, name: node.name };
  });
  app.agents.disconnect(id);
  return out;
}

/** Deletes a node; refused while instances run on it. */
export function removeNode(app: App, actor: Actor, id: number) {
  const out = mutate(app, (tx) => {
    const node = tx.select().from(nodes).where(eq(nodes.id, id)).get();
    if (!node) throw notFound(`Node ${id}`);
    const on = tx.select({ name: instances.name }).from(instances).where(eq(instances.nodeId, id)).all();
    if (on.length)
      throw conflict(
        `Node ${node.name} still hosts ${on.map((i) => i.name).join(", ")}; delete those instances first`,
      );
    tx.delete(nodes).where(eq(nodes.id, id)).run();
    audit(tx, actor, { action: "node.remove", objectType: "node", objectId: id, objectName: node.name });
    return { id, name: node.name };
  });
  app.agents.disconnect(id);
  return out;
}

/** Exchanges a one-time join token for a per-node credential. Wrong or used tokens are refused. */
export function joinNode(
  app: App,
  actor: Actor,
  input: {
    token: string;
    hostname?: string;
    agentVersion?: string;
    vtep?: string;
    uplink?: string;
    wireVersion?: number;
  },
): JoinResponse {
  const mismatch = wireMismatch(agentWire(input.wireVersion));
  if (mismatch) throw invalid(mismatch, "wireVersion");
  // An agent that does not know the pinned form (wire 1) sends the token as shown.
  const token = parseJoinToken(input.token).secret;
  return mutate(app, (tx, touch) => {
    const node = tx
      .select()
      .from(nodes)
      .where(
        and(
          eq(nodes.joinTokenHash, hashSecret(token)),
          isNotNull(nodes.joinTokenExpiresAt),
          gt(nodes.joinTokenExpiresAt, new Date()),
        ),
      )
      .get();
    if (!node)
      throw forbidden("Join token unknown, used or expired; ask an admin for a new one on the Nodes page");
    const credential = secret(CREDENTIAL_PREFIX);
    tx.update(nodes)
      .set({
        credentialHash: hashSecret(credential),
        joinTokenHash: null,
        joinTokenExpiresAt: null,
        enrolledAt: new Date(),
        revokedAt: null,
        hostname: input.hostname ?? null,
        agentVersion: input.agentVersion ?? null,
        vtepAddress: input.vtep ?? null,
        uplink: input.uplink ?? null,
      })
      .where(eq(nodes.id, node.id))
      .run();
    // The node's underlay is part of its own desired state and of its VXLAN peers'.
    touch([node.id, ...vxlanNodesOf(tx, vnetsOnNode(tx, node.id))]);
    audit(
      tx,
      { ...actor, name: `node:${node.name}` },
      { action: "agent.join", objectType: "node", objectId: node.id, objectName: node.name },
    );
    return { nodeId: node.id, nodeName: node.name, credential };
  });
}

/** Records an agent's report (also its heartbeat). Audited when the applied revision or health changes. */
export function recordReport(app: App, actor: Actor, node: { id: number; name: string }, r: AgentReport) {
  if (r.nodeId !== node.id) {
    audit(app.db, actor, {
      action: "agent.report",
      objectType: "node",
      objectId: r.nodeId,
      outcome: "refused",
      detail: `credential of node ${node.name} used for node ${r.nodeId}`,
    });
    throw forbidden(`This credential belongs to node ${node.name}, not node ${r.nodeId}`);
  }
  updateUnderlay(app, actor, node, r);
  immediate(app.db, (tx) => {
    const prev = tx.select().from(nodes).where(eq(nodes.id, node.id)).get()!;
    const changed = prev.appliedRevision !== r.revision || (prev.lastError === null) !== r.ok;
    tx.update(nodes)
      .set({
        appliedRevision: r.ok ? Math.min(r.revision, prev.desiredRevision) : prev.appliedRevision,
        lastSeenAt: new Date(),
        lastError: r.ok ? null : (r.error ?? "unknown error"),
        agentVersion: r.agentVersion ?? prev.agentVersion,
        hostname: r.hostname ?? prev.hostname,
        report: {
          revision: r.revision,
          at: new Date().toISOString(),
          ok: r.ok,
          error: r.error,
          operations: r.operations,
          durationMs: r.durationMs,
          networks: r.networks,
          ports: r.ports,
          // The commands of the last reconcile that did something (a heartbeat keeps them).
          ...(r.ops?.length ? { ops: r.ops } : prev.report?.ops ? { ops: prev.report.ops } : {}),
          // Its phase timings likewise: they belong to those commands.
          ...(r.ops?.length
            ? r.phases
              ? { phases: r.phases }
              : {}
            : prev.report?.phases
              ? { phases: prev.report.phases }
              : {}),
          // Repairs are kept until the next report that has some: a heartbeat must not hide them.
          ...(r.repairs?.length
            ? { repairs: r.repairs, repairedAt: new Date().toISOString() }
            : prev.report?.repairs
              ? { repairs: prev.report.repairs, repairedAt: prev.report.repairedAt }
              : {}),
          wireVersion: agentWire(r.wireVersion),
          ...(r.insecure ? { insecure: true } : {}),
          ...(r.pins ? { pins: r.pins } : {}),
          ...(r.dhcpLeases ? { dhcpLeases: r.dhcpLeases } : {}),
          // Sent only when a measurement changed: a report without them keeps the last ones.
          ...(r.underlayMtu
            ? { underlayMtu: r.underlayMtu, underlayMtuAt: new Date().toISOString() }
            : prev.report?.underlayMtu
              ? { underlayMtu: prev.report.underlayMtu, underlayMtuAt: prev.report.underlayMtuAt }
              : {}),
        },
      })
      .where(eq(nodes.id, node.id))
      .run();
    recordApply(tx, node.id, prev.report, r);
    const restarted = r.counters?.length ? recordCounters(tx, node.id, r.counters) : 0;
    // Not an error: the totals keep what was counted before (see sg-counters.ts).
    if (restarted > 0)
      audit(tx, actor, {
        action: "agent.counters",
        objectType: "node",
        objectId: node.id,
        objectName: node.name,
        detail: `the kernel's counters of ${restarted} security-group rule(s) restarted from zero (node rebooted or its table was reloaded from outside Bridgehead); totals keep what was counted before`,
      });
    if (r.repairs?.length)
      audit(tx, actor, {
        action: "agent.repair",
        objectType: "node",
        objectId: node.id,
        objectName: node.name,
        detail: `repaired drift: ${r.repairs.join("; ")}`.slice(0, 2000),
      });
    if (changed)
      audit(tx, actor, {
        action: "agent.report",
        objectType: "node",
        objectId: node.id,
        objectName: node.name,
        outcome: r.ok ? "ok" : "error",
        detail: r.ok ? `applied revision ${r.revision} (${r.operations} operations)` : r.error,
      });
  });
  app.bus.emit("nodes:changed");
  return { ok: true as const };
}

/** Stores the underlay an agent reports (--vtep, --underlay-dev) when it changed, and bumps the
 * node and its VXLAN peers, whose desired states name it. */
function updateUnderlay(app: App, actor: Actor, node: { id: number; name: string }, r: AgentReport) {
  const prev = app.db
    .select({ vtep: nodes.vtepAddress, uplink: nodes.uplink })
    .from(nodes)
    .where(eq(nodes.id, node.id))
    .get();
  if (!prev || (prev.vtep === (r.vtep ?? null) && prev.uplink === (r.uplink ?? null))) return;
  mutate(app, (tx, touch) => {
    tx.update(nodes)
      .set({ vtepAddress: r.vtep ?? null, uplink: r.uplink ?? null })
      .where(eq(nodes.id, node.id))
      .run();
    touch([node.id, ...vxlanNodesOf(tx, vnetsOnNode(tx, node.id))]);
    audit(tx, actor, {
      action: "node.underlay",
      objectType: "node",
      objectId: node.id,
      objectName: node.name,
      detail: `VTEP ${r.vtep ?? "none"}, uplink ${r.uplink ?? "none"}`,
    });
  });
}
