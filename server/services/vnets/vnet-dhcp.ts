// A VNET's DHCP & DNS service as its tab shows and edits it: whether the nodes serve it, the domain,
// lease time and upstream resolvers, and the host entries every node's dnsmasq is given (one per
// leased NIC: MAC → address → name). A change bumps the nodes with NICs on the VNET; each agent
// rewrites its dnsmasq's files (SIGHUP) or restarts it when the command line changed.
import { and, eq, inArray, or } from "drizzle-orm";
import type { Db, Tx } from "../../../db";
import { addressRanges, instances, leases, nics, nodes, vnets } from "../../../db/schema";
import { resolveContext } from "../../../lib/context";
import { DEFAULT_LEASE_SECONDS, defaultDnsDomain, dhcpOn, guestFqdn } from "../../../lib/dns";
import { can, type Subject } from "../../../lib/permissions";
import type { VnetDhcpInput } from "../../../lib/schemas";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { permitted } from "../../authz";
import { invalid, notFound } from "../../errors";
import { assertUnlocked } from "../ownership";
import { mutate } from "../revision";
import { manageableVnet } from "./ranges";

type Vnet = typeof vnets.$inferSelect;

/** The VNET and the reservations carved out of it: their NICs are served by its DHCP server. */
function servedVnetIds(tx: Tx | Db, id: number): number[] {
  return [
    id,
    ...tx
      .select({ id: vnets.id })
      .from(vnets)
      .where(eq(vnets.parentVnetId, id))
      .all()
      .map((r) => r.id),
  ];
}

/** Why the nodes cannot serve DHCP on this VNET even when it is on, or null when they can (the
 * same conditions as the desired state's `network.dhcp`: a gateway address on the bridge and a
 * subnet to hand addresses from). */
function notServedReason(v: Vnet, rangeContexts: Vnet["context"][]): string | null {
  if (v.driver === "routed")
    return "Routed VNETs have no bridge to serve on: guests are configured by their context";
  if (!v.applyBridgeAddress)
    return "The gateway address is not put on the bridge (Configuration): there is nothing to answer from";
  const ctx = resolveContext(v.context, rangeContexts[0], null);
  if (!ctx.gateway)
    return "The VNET has no gateway (Context): set one so guests get a router and a DNS server";
  if (!ctx.subnet) return "The VNET has no IPv4 subnet (Context) to hand out addresses from";
  return null;
}

/** The DHCP & DNS settings of a VNET (USE), effective values and host entries. */
export function getVnetDhcp(app: App, who: Subject, id: number) {
  const v = app.db
    .select()
    .from(vnets)
    .where(and(eq(vnets.id, id), permitted(vnets, who, "use")))
    .get();
  if (!v) throw notFound(`VNET ${id}`);
  // A reservation is realised as its parent's network: the parent's server serves its NICs.
  const parent = v.parentVnetId
    ? app.db.select().from(vnets).where(eq(vnets.id, v.parentVnetId)).get()
    : undefined;
  const eff = parent ?? v;
  const rangeContexts = app.db
    .select({ context: addressRanges.context })
    .from(addressRanges)
    .where(eq(addressRanges.vnetId, eff.id))
    .orderBy(addressRanges.id)
    .all()
    .map((r) => r.context ?? {});
  const domain = eff.dnsDomain ?? defaultDnsDomain(eff.name);
  const now = Date.now();
  const enabled = dhcpOn(eff);
  const rows = app.db
    .select({
      nicId: nics.id,
      idx: nics.idx,
      instanceId: instances.id,
      instance: instances.name,
      node: nodes.name,
      mac: leases.mac,
      ip: leases.ip,
      ip6: leases.ip6,
      vnetId: nics.vnetId,
      report: nodes.report,
    })
    .from(nics)
    .innerJoin(instances, eq(instances.id, nics.instanceId))
    .innerJoin(nodes, eq(nodes.id, instances.nodeId))
    .leftJoin(leases, eq(leases.nicId, nics.id))
    .where(inArray(nics.vnetId, parent ? [v.id] : servedVnetIds(app.db, v.id)))
    .orderBy(instances.name, nics.idx)
    .all();
  return {
    id: v.id,
    canManage: can(who, v, "manage") && !parent,
    /** The VNET whose server this one's guests use (a reservation's parent), else null. */
    servedBy: parent ? { id: parent.id, name: parent.name } : null,
    setting:
      eff.dhcpEnabled === null ? ("auto" as const) : eff.dhcpEnabled ? ("on" as const) : ("off" as const),
    enabled,
    networkType: eff.networkType,
    notServed: enabled ? notServedReason(eff, rangeContexts) : null,
    domain,
    domainSet: eff.dnsDomain !== null,
    defaultDomain: defaultDnsDomain(eff.name),
    leaseSeconds: eff.dhcpLeaseSeconds ?? DEFAULT_LEASE_SECONDS,
    leaseSet: eff.dhcpLeaseSeconds !== null,
    upstreams: eff.dnsUpstreams,
    /** The host entries the nodes' dnsmasq answer: only NICs with a leased IPv4 get an address. */
    hosts: rows.map((r) => {
      // The guest took its lease when its node's server has it, for this MAC and address.
      const held = r.report?.dhcpLeases?.find((l) => l.vnetId === eff.id && l.mac === r.mac && l.ip === r.ip);
      const taken =
        held && (held.expires === 0 || held.expires * 1000 > now)
          ? { until: held.expires ? new Date(held.expires * 1000).toISOString() : null }
          : null;
      return {
        nicId: r.nicId,
        instanceId: r.instanceId,
        instance: r.instance,
        nic: `eth${r.idx}`,
        node: r.node,
        mac: r.mac,
        ip: r.ip,
        ip6: r.ip6,
        name: guestFqdn(r.instance, domain),
        /** The node reported this lease in use (until: when it runs out, null: never); null: not
         * taken (yet), or the node serves no DHCP or has not reported since. */
        taken,
      };
    }),
  };
}

const showSecs = (s: number | null) => (s === null ? `default (${DEFAULT_LEASE_SECONDS} s)` : `${s} s`);

/** Changes a VNET's DHCP & DNS service (MANAGE, unlocked); audited with what changed. */
export function setVnetDhcp(app: App, actor: Actor, who: Subject, input: VnetDhcpInput) {
  return mutate(app, (tx, touch) => {
    const v = manageableVnet(tx, who, input.id);
    assertUnlocked("vnet", v, "manage");
    if (v.parentVnetId) {
      const parent = tx.select({ name: vnets.name }).from(vnets).where(eq(vnets.id, v.parentVnetId)).get();
      throw invalid(
        `VNET ${v.name} is a reservation of ${parent?.name ?? "another VNET"}: its guests use that VNET's DHCP & DNS; change it there`,
        "enabled",
      );
    }
    const next: Partial<Vnet> = {};
    const changed: string[] = [];
    if (input.enabled !== undefined && input.enabled !== v.dhcpEnabled) {
      next.dhcpEnabled = input.enabled;
      const word = (e: boolean | null) => (e === null ? "by network type" : e ? "on" : "off");
      changed.push(`DHCP: ${word(v.dhcpEnabled)} → ${word(input.enabled)}`);
    }
    if (input.domain !== undefined && input.domain !== v.dnsDomain) {
      next.dnsDomain = input.domain;
      changed.push(`domain: ${v.dnsDomain ?? "default"} → ${input.domain ?? "default"}`);
    }
    if (input.leaseTime !== undefined && input.leaseTime !== v.dhcpLeaseSeconds) {
      next.dhcpLeaseSeconds = input.leaseTime;
      changed.push(`lease time: ${showSecs(v.dhcpLeaseSeconds)} → ${showSecs(input.leaseTime)}`);
    }
    if (input.upstreams !== undefined && input.upstreams.join() !== v.dnsUpstreams.join()) {
      next.dnsUpstreams = input.upstreams;
      const show = (a: string[]) => (a.length ? a.join(", ") : "the nodes' resolvers");
      changed.push(`upstreams: ${show(v.dnsUpstreams)} → ${show(input.upstreams)}`);
    }
    if (changed.length) {
      tx.update(vnets).set(next).where(eq(vnets.id, v.id)).run();
      const served = servedVnetIds(tx, v.id);
      touch(
        tx
          .selectDistinct({ nodeId: instances.nodeId })
          .from(nics)
          .innerJoin(instances, eq(instances.id, nics.instanceId))
          .where(or(...served.map((id) => eq(nics.vnetId, id))))
          .all()
          .map((r) => r.nodeId),
      );
    }
    audit(tx, actor, {
      action: "vnet.dhcp",
      objectType: "vnet",
      objectId: v.id,
      objectName: v.name,
      detail: changed.join("; ") || "no change",
    });
    return { id: v.id, changed };
  });
}
