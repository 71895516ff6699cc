// Shapes shared by observe → plan → execute. Plain data only, so the planner stays pure and the
// tests can build fixtures by hand.
import type { NftCounters } from "../../lib/nft/model";
import type { DesiredState, DhcpLease } from "../../lib/wire";

export { hostVethName } from "../../lib/nft/names";

/** Every kernel object Bridgehead creates in a node namespace carries an ifalias with this prefix;
 * it is the only proof of ownership we trust, so only links carrying it are ever deleted. */
export const OWNER_ALIAS_PREFIX = "bridgehead:";
export const networkAlias = (vnetId: number) => `${OWNER_ALIAS_PREFIX}vnet:${vnetId}`;
/** Alias of a network's second device (VXLAN or 802.1Q) beside its bridge. */
export const deviceAlias = (vnetId: number, kind: "vxlan" | "vlan") => `${networkAlias(vnetId)}:${kind}`;
export const NIC_ALIAS_PREFIX = `${OWNER_ALIAS_PREFIX}nic:`;
export const nicAlias = (nicId: number) => `${NIC_ALIAS_PREFIX}${nicId}`;
const hex2 = (n: number) => (n & 255).toString(16).padStart(2, "0");
/** The bridge's fixed MAC: locally administered, "bh" (62:68), then the VNET id's low 24 bits.
 * Without a fixed MAC a bridge takes its lowest port's MAC, so the guests' gateway MAC would change
 * whenever a port comes or goes (and their ARP caches would point at nothing for seconds). */
export const bridgeMac = (vnetId: number) =>
  `02:62:68:${hex2(vnetId >>> 16)}:${hex2(vnetId >>> 8)}:${hex2(vnetId)}`;
/** Fixed MAC of a NIC's host-side veth ("bv" + the NIC id's low 24 bits) and of a network's VXLAN
 * device ("bx" + the VNET id). Set in the very `link add` that creates the device, unlike the alias
 * (which needs a second command): a device left without alias by an agent killed in between still
 * carries proof that we created it, so the next reconcile adopts it instead of refusing it. */
export const hostVethMac = (nicId: number) =>
  `02:62:76:${hex2(nicId >>> 16)}:${hex2(nicId >>> 8)}:${hex2(nicId)}`;
export const vxlanMac = (vnetId: number) =>
  `02:62:78:${hex2(vnetId >>> 16)}:${hex2(vnetId >>> 8)}:${hex2(vnetId)}`;
/** MAC prefixes only Bridgehead gives to the devices it creates (bridge, host veth, VXLAN). */
export const OWNED_MAC_PREFIXES = ["02:62:68:", "02:62:76:", "02:62:78:"];
/** One namespace per guest instance; all NICs of that instance share it. */
export const guestNsName = (guestPrefix: string, instanceId: number) => `${guestPrefix}-i${instanceId}`;

/** One link as `ip -j -d addr show` describes it, reduced to what the planner compares. */
export interface ObservedLink {
  name: string;
  ifindex: number;
  /** linkinfo.info_kind: bridge, veth, vxlan, ...; undefined for lo and plain devices. */
  kind?: string;
  alias?: string;
  master?: string;
  mtu: number;
  /** Lower-case MAC. */
  mac?: string;
  /** The administrative UP flag (not operstate: an empty bridge is UP but LOWERLAYERDOWN). */
  up: boolean;
  /** ifindex of the veth peer (in the peer's namespace). */
  linkIndex?: number;
  /** IPv4 addresses as normalised CIDR (10.0.0.1/24). */
  ipv4: string[];
  /** IPv6 addresses (global and link-local) as canonical CIDR (2001:db8::1/64), without the
   * kernel's SLAAC ones and those that failed duplicate address detection. Absent: not read. */
  ipv6?: string[];
  /** IPv6 addresses that failed duplicate address detection (unusable until re-added). */
  ipv6Failed?: string[];
  /** VXLAN parameters (kind vxlan). */
  vxlan?: { id: number; local?: string; group?: string; port?: number; dev?: string; learning?: boolean };
  /** 802.1Q parameters (kind vlan): VLAN id and parent device. */
  vlan?: { id: number; dev?: string };
}

/** One route of the node namespace's main table (`ip -j route show`). */
export interface ObservedNodeRoute {
  /** "default", "10.0.0.5" (a host route prints without /32) or "10.0.0.0/24". */
  dst: string;
  dev?: string;
  gateway?: string;
}

/** One forwarding entry of a VXLAN device (`bridge -j fdb show`). */
export interface ObservedFdb {
  dev: string;
  mac: string;
  /** Remote VTEP of the entry. */
  dst?: string;
}

export interface ObservedRoute {
  gateway?: string;
  dev?: string;
}

/** A guest namespace with our prefix. */
export interface ObservedGuest {
  links: ObservedLink[];
  /** IPv4 default routes of the main table. */
  defaultRoutes: ObservedRoute[];
}

/** The kernel's state as far as one dataplane cares. */
export interface Observed {
  /** Namespace standing in for the node; undefined = the namespace the agent runs in. */
  nodeNetns?: string;
  nodeNetnsExists: boolean;
  /** Links of the node namespace (empty when it does not exist yet). */
  links: ObservedLink[];
  /** Every named namespace (/run/netns), ours or not. */
  namespaces: string[];
  /** Guest namespaces with our prefix, by name. */
  guests: Record<string, ObservedGuest>;
  /** Routes of the node namespace's main table. */
  routes: ObservedNodeRoute[];
  /** FDB entries of the node's VXLAN devices. */
  fdb: ObservedFdb[];
  /** Sysctls of the node namespace the planner manages (ip_forward, proxy_arp of host veths). */
  sysctls: Record<string, string>;
}

/** Which desired object an operation serves; failures are reported against it. */
export type ObjectRef =
  | { kind: "node" }
  | { kind: "network"; vnetId: number }
  | { kind: "port"; nicId: number }
  /** A guest namespace being created: all ports living in it depend on it. */
  | { kind: "guest"; ns: string }
  /** Removal of something no longer desired (a link or namespace name). */
  | { kind: "stale"; name: string };

/** Where an operation runs. */
export type Target = { kind: "netns" } | { kind: "node" } | { kind: "guest"; ns: string };

/** The program an operation is a line of: `ip -batch`, `bridge -batch` or `sysctl -w`. */
export type Tool = "ip" | "bridge" | "sysctl";

/** One kernel operation (an `ip` line unless `tool` says otherwise). */
export interface Op {
  target: Target;
  /** The line fed to `ip -batch -` (no leading "ip", no "-n"); for bridge, to `bridge -batch -`;
   * for sysctl, one `key=value`. */
  line: string;
  tool?: Tool;
  /** The exact equivalent command line, for the plan preview. */
  text: string;
  object: ObjectRef;
  /** A batch line (same target) that undoes this step; only creations have one. */
  undo?: string;
  /** A deletion: "already gone" counts as done, not as a failure. */
  deletion?: boolean;
}

/** A guest namespace's batch. */
export interface GuestBatch {
  ns: string;
  ops: Op[];
}

/** The ordered operations that make the kernel match the desired state, by phase. */
export interface Plan {
  nodeNetns?: string;
  /** 1a. `ip netns del` of guest namespaces no longer desired (their veths go with them). */
  deleteNamespaces: Op[];
  /** Host veths that vanish with those namespaces (asynchronously: the executor waits for them). */
  goneWithNamespaces: string[];
  /** 1b. `ip netns add` (node namespace if missing, new guests). 1a and 1b are one `ip -batch`. */
  createNamespaces: Op[];
  /** 2. Removal of links squatting a desired guest interface name (before the veth lands). */
  guestsBefore: GuestBatch[];
  /** 3. One `ip -batch` in the node namespace: stale ports, stale bridges, networks, ports. */
  node: Op[];
  /** 3b. One `sysctl -w` in the node namespace (forwarding, proxy ARP of routed ports). */
  sysctls: Op[];
  /** 3c. One `bridge -batch` in the node namespace (static FDB entries of VXLAN devices). */
  fdb: Op[];
  /** 4. One `ip -n GUEST -batch` per guest namespace that needs changes. */
  guests: GuestBatch[];
  /** Desired objects refused before any kernel change (unsupported driver, name clash...). */
  rejectedNetworks: { vnetId: number; error: string }[];
  rejectedPorts: { nicId: number; error: string }[];
  /** Networks the plan realises (or leaves as they are). */
  networks: number[];
  /** Ports the plan realises (or leaves as they are), with their network and guest namespace. */
  ports: { nicId: number; vnetId: number; ns: string }[];
}

/** Every operation of a plan, in execution order (the plan preview). */
export function planOps(plan: Plan): Op[] {
  return [
    ...plan.deleteNamespaces,
    ...plan.createNamespaces,
    ...plan.guestsBefore.flatMap((g) => g.ops),
    ...plan.node,
    ...plan.sysctls,
    ...plan.fdb,
    ...plan.guests.flatMap((g) => g.ops),
  ];
}

export interface ObjectStatus {
  ok: boolean;
  error?: string;
}

/** What one reconcile did, shaped like the AgentReport's fields: the dataplane returns it, the
 * reconcile loop hands it to the agent's report. */
export interface ReconcileResult {
  operations: number;
  /** The command lines executed, in order. */
  ops: string[];
  networks: { vnetId: number; ok: boolean; error?: string }[];
  ports: { nicId: number; ok: boolean; error?: string }[];
  ok: boolean;
  error?: string;
  durationMs: number;
  /** Security-group rule counters read during this reconcile, by counter name (`sg<g>_r<rule>`). */
  counters?: NftCounters;
  /** Where the time went (ms): observe, plan, the executor's phases, nft, tc. */
  phases?: Record<string, number>;
  /** The leases the node's DHCP servers handed out; absent: it serves none. */
  dhcpLeases?: DhcpLease[];
}

/** What a policy step (nftables, QoS) did, folded into the ip executor's result by index.ts. */
export interface PolicyResult {
  /** Command lines run, in order (the plan preview's vocabulary). */
  ops: string[];
  /** Node-level failures (an nftables load refused: the previous tables stay in force). */
  errors: string[];
  /** NICs whose QoS failed (rolled back), with the reason. */
  ports: Map<number, string>;
  /** The security-group rule counters as last read from the kernel during this reconcile (the
   * same `nft -j list table` read that checks for drift: no extra process). */
  counters?: NftCounters;
  /** Wall time of each step (nft, tc), ms. */
  phases?: Record<string, number>;
}

/** A node's dataplane as the reconciler drives it (created by index.ts; ports/ wraps it). */
export interface Dataplane {
  /** The kernel's current state as this dataplane sees it. */
  observe(): Promise<Observed>;
  /** What reconcile would do now (the plan preview); changes nothing. */
  plan(desired: DesiredState): Promise<Plan>;
  /** The exact command lines reconcile would run now, in order; changes nothing. */
  preview(desired: DesiredState): Promise<string[]>;
  /** Makes the kernel match `desired`; a second call with the same state performs 0 operations.
   * With `full: false` (a push), guest namespaces whose ports did not change since a reconcile
   * that found them in sync are not read again; `full` (the default, and the periodic drift
   * check) reads everything. */
  reconcile(desired: DesiredState, opts?: { full?: boolean }): Promise<ReconcileResult>;
  /** The nftables/QoS command lines reconcile would run after the plan (createPolicy); changes nothing. */
  policyPreview(desired: DesiredState): Promise<string[]>;
  /** Removes every link and guest namespace this dataplane owns (`lab down`, tests); with
   * removeNodeNetns, the node namespace too. */
  teardown(opts?: { removeNodeNetns?: boolean }): Promise<ReconcileResult>;
}
