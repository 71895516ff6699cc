// Network drivers: each turns one desired network into node-namespace `ip` lines. A short interface
// with paired verbs (setup/clear) and a registry map, after Incus' network drivers; an unknown or
// not-yet-implemented driver is a typed error that the planner reports for that network alone.
import type { Driver } from "../../lib/domain";
import type { DesiredNetwork } from "../../lib/wire";
import { bridgeMac, networkAlias, type ObservedLink, type Op } from "./types";

/** Builds one node-namespace op for the object being planned. */
export type OpFactory = (line: string, extra?: { undo?: string; deletion?: boolean }) => Op;

export interface SetupResult {
  ops: Op[];
  /** The network's bridge is (re)created by these ops: every port must be enslaved again. */
  bridgeCreated: boolean;
}

export interface NetworkDriver {
  readonly name: Driver;
  /** Ops that create or repair the network's objects; none when `existing` already matches. */
  setup(net: DesiredNetwork, existing: ObservedLink | undefined, op: OpFactory): SetupResult;
  /** Ops that remove one kernel object this driver created for a network. */
  clear(link: ObservedLink, op: OpFactory): Op[];
}

/** A network whose driver this agent cannot realise. */
export class DriverError extends Error {
  constructor(
    readonly driver: string,
    message: string,
  ) {
    super(message);
    this.name = "DriverError";
  }
}

/** Normalises an IPv4 CIDR for comparison with what the kernel prints (trimmed, "/024" → "/24"). */
export function normCidr(cidr: string): string {
  const [addr = "", len = ""] = cidr.trim().split("/");
  return `${addr.split(".").map(Number).join(".")}/${Number(len)}`;
}

/** Lines that turn `have` (IPv4 CIDRs on `dev`) into `want`: deletions first, so an address whose
 * prefix length changed is replaced rather than refused as a duplicate. */
export function addressLines(dev: string, have: string[], want: string[]): string[] {
  const h = new Set(have.map(normCidr));
  const w = new Set(want.map(normCidr));
  return [
    ...[...h].filter((a) => !w.has(a)).map((a) => `addr del ${a} dev ${dev}`),
    ...[...w].filter((a) => !h.has(a)).map((a) => `addr add ${a} dev ${dev}`),
  ];
}

/** Plain Linux bridge; the guests' gateway address goes on the bridge when the VNET asks for it. */
export const bridgeDriver: NetworkDriver = {
  name: "bridge",
  setup(net, existing, op) {
    const ops: Op[] = [];
    let link = existing;
    // Ours (the planner checked the alias) but not a bridge: it cannot be changed in place.
    if (link && link.kind !== "bridge") {
      ops.push(op(`link del ${net.bridge}`, { deletion: true }));
      link = undefined;
    }
    // Created with a placeholder MTU (68, the bridge minimum; valid MTUs are ≥ 576) that the next
    // line changes: only an MTU *changed* by `link set` marks the bridge's MTU as set by the user.
    // Otherwise the kernel makes the bridge follow its smallest port's MTU, and a port with a
    // smaller MTU than its network would make every reconcile fix the bridge again.
    if (!link) ops.push(op(`link add ${net.bridge} mtu 68 type bridge`, { undo: `link del ${net.bridge}` }));
    const set: string[] = [];
    const alias = networkAlias(net.vnetId);
    if (link?.alias !== alias) set.push(`alias ${alias}`);
    if (link?.mac !== bridgeMac(net.vnetId)) set.push(`address ${bridgeMac(net.vnetId)}`);
    if (link?.mtu !== net.mtu) set.push(`mtu ${net.mtu}`);
    if (!link?.up) set.push("up");
    if (set.length > 0) ops.push(op(`link set ${net.bridge} ${set.join(" ")}`));
    // No bridgeAddress means no address: the bridge is ours, so a stale gateway address goes too.
    const want = net.bridgeAddress ? [net.bridgeAddress] : [];
    for (const line of addressLines(net.bridge, link?.ipv4 ?? [], want)) ops.push(op(line));
    return { ops, bridgeCreated: !link };
  },
  clear(link, op) {
    return [op(`link del ${link.name}`, { deletion: true })];
  },
};

/** Drivers this agent implements. vlan needs 8021q (absent on the lab kernel), vxlan needs the
 * node's VTEP address (not in the wire contract yet), routed is not written yet. */
export const DRIVER_REGISTRY: Partial<Record<string, NetworkDriver>> = { bridge: bridgeDriver };

/** The driver for `name`, or a DriverError naming it. */
export function getDriver(name: string): NetworkDriver {
  const d = DRIVER_REGISTRY[name];
  if (!d) throw new DriverError(name, `driver ${name} is not supported by this agent yet`);
  return d;
}
