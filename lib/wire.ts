// The wire contract between the server and the node agent: one zod schema, imported by both.
// The server compiles a node's *whole* desired state (level-triggered, never deltas); the agent
// makes the kernel match it and reports back. Strict objects: an unknown key is a contract error.
import { z } from "zod";
import {
  DRIVERS,
  ifName,
  ipv4,
  ipv4Cidr,
  mac,
  mtu,
  NETWORK_TYPES,
  PORT_KINDS,
  qosSchema,
  SG_DIRECTIONS,
  SG_PROTOCOLS,
  vlanId,
  vni,
} from "./domain";
import { isIp6 } from "./ipam";
import { hostVethName } from "./nft/names";

/** An IPv6 address without prefix length, e.g. 2001:db8::2. */
const ipv6 = z.string().refine(isIp6, "Not a valid IPv6 address (e.g. 2001:db8::2)");
/** An IPv6 address with prefix length, e.g. 2001:db8::1/64. */
const ipv6Cidr = z.string().refine((s) => {
  const [a, len, extra] = s.split("/");
  return extra === undefined && !!a && isIp6(a) && /^\d{1,3}$/.test(len ?? "") && Number(len) <= 128;
}, "Not an IPv6 address with prefix length (e.g. 2001:db8::1/64)");

/** The wire version this code speaks. The server also speaks MIN_WIRE_VERSION.. (it compiles the
 * older shape for older agents, see server/services/nodes/wire-compat.ts), so a fleet is upgraded node
 * by node. 2 added the server certificate pins to the desired state; 3 the networks' DHCP and DNS
 * service (`network.dhcp`); 4 the names of the network's guests on other nodes (`dhcp.names`); 5 IPv6
 * on the node: the bridge's IPv6 addresses, router advertisements and DHCPv6 (`bridgeAddresses6`,
 * `dhcp.ipv6`, the ports' `static6`); 6 the underlay path MTUs in reports (`underlayMtu`). */
export const WIRE_VERSION = 6;
export const MIN_WIRE_VERSION = 1;
export type WireVersion = 1 | 2 | 3 | 4 | 5 | 6;

/** A DNS label as lib/dns.ts makes them. */
const dnsLabelSchema = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);

/** SHA-256 fingerprint of a DER certificate, base64url without padding (43 characters): what a
 * join token carries after its secret and what an agent pins. */
export const certFingerprint = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, "A certificate fingerprint is 43 base64url characters (SHA-256)");

/** The gateway every guest of a routed network uses (onlink; the node answers for it). */
export const ROUTED_GATEWAY = "169.254.0.1";
/** UDP port of VXLAN (IANA). */
export const VXLAN_PORT = 4789;

/** One virtual network as a node must realise it. */
export const desiredNetworkSchema = z
  .object({
    vnetId: z.number().int().positive(),
    name: z.string(),
    driver: z.enum(DRIVERS),
    networkType: z.enum(NETWORK_TYPES),
    bridge: ifName,
    mtu,
    /** Address put on the bridge (the guests' gateway), e.g. 10.0.0.1/24; absent: none. */
    bridgeAddress: ipv4Cidr.optional(),
    /** (wire 5) IPv6 addresses put on the bridge, one per IPv6 prefix of the network (the VNET's
     * IPv6 gateway in its own prefix): what the node's router advertisements and DHCPv6 answer
     * from. Absent: none. */
    bridgeAddresses6: z.array(ipv6Cidr).max(16).optional(),
    phydev: ifName.optional(),
    vlanId: vlanId.optional(),
    vni: vni.optional(),
    /** VXLAN: other nodes' VTEP addresses hosting this VNET (static FDB head-end replication). */
    vxlanPeers: z.array(ipv4).optional(),
    /** VXLAN: multicast group for BUM traffic instead of head-end replication (optional). */
    vxlanGroup: ipv4.optional(),
    /** IPv4 subnet of the network (for NAT and routes), e.g. 10.0.0.0/24. */
    subnet: ipv4Cidr.optional(),
    /** Anti-spoofing on this network's ports (own MAC and leased addresses only); absent: on. */
    antiSpoofing: z.boolean().optional(),
    /** Security groups applied to every port of this network; absent, empty or
     * containing the default group 0: no filtering. */
    securityGroupIds: z.array(z.number().int().nonnegative()).optional(),
    /** VNETs peered with this one (their subnets for reference): the node routes between this
     * network and those only; absent or empty: isolated from every other VNET on the node. */
    peers: z
      .array(z.object({ vnetId: z.number().int().positive(), subnet: ipv4Cidr.optional() }).strict())
      .optional(),
    /** DHCP and DNS served by the node on this network (one dnsmasq per VNET); absent: none. */
    dhcp: z
      .object({
        enabled: z.boolean(),
        /** Guests are named `<instance>.<domain>`. */
        domain: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/),
        leaseSeconds: z.number().int().min(120).max(31_536_000).optional(),
        /** Upstream resolvers; absent or empty: the node's own. */
        upstreams: z.array(ipv4).optional(),
        /** (wire 4) The network's guests on other nodes: their names resolve here too (A, AAAA,
         * PTR), while only this node's own ports get leases from this node's server. */
        names: z
          .array(z.object({ name: dnsLabelSchema, ip: ipv4.optional(), ip6: ipv6.optional() }).strict())
          .max(65_536)
          .optional(),
        /** (wire 5) IPv6 served on the bridge: router advertisements (prefix, MTU, DNS) for the
         * SLAAC /64 prefixes, and DHCPv6 (addresses from the ports' `static6` only, with router
         * advertisements that send guests to it) for the static prefixes. Each prefix has one of
         * the bridge's IPv6 addresses. Absent: no IPv6 service. */
        ipv6: z
          .object({ slaac: z.array(ipv6Cidr).max(16), static: z.array(ipv6Cidr).max(16) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type DesiredNetwork = z.infer<typeof desiredNetworkSchema>;

/** The tap device a hypervisor port of NIC `nicId` must be created under (QEMU `ifname=`, libvirt
 * `<target dev=…/>`): stable per NIC, at most 15 characters. It starts with the host-veth prefix
 * `bhv` on purpose: every fail-closed nftables rule already drops unknown `bhv*` ports, so a tap
 * the loaded tables do not know sends nothing; the `t` keeps it apart from `bhv<nicId>`. */
export const tapDeviceName = (nicId: number) => `bhvt${nicId}`;
/** Every tap device name starts with this (nft globs, the agent's link watcher). */
export const TAP_PREFIX = "bhvt";

/** One guest NIC: a container-style port (a namespace per instance, a veth into the bridge), or
 * with `kind: "tap"` a hypervisor port (a tap device named `dev` that QEMU/libvirt creates and the
 * agent plugs into the network when it appears). */
export const desiredPortSchema = z
  .object({
    nicId: z.number().int().positive(),
    /** Absent: guest. */
    kind: z.enum(PORT_KINDS).optional(),
    /** The tap's device name (tapDeviceName) when kind is tap. */
    dev: ifName.optional(),
    instanceId: z.number().int().positive(),
    instanceName: z.string(),
    vnetId: z.number().int().positive(),
    /** Interface name inside the guest: eth0, eth1, ... */
    guestIf: ifName,
    mac,
    /** Addresses with prefix length, e.g. 10.0.0.2/24. */
    addresses: z.array(ipv4Cidr),
    /** Leased IPv6 addresses (global, ULA), without prefix; the link-local one is derived from
     * the MAC by the agent. Absent: none. */
    addresses6: z.array(ipv6).optional(),
    /** (wire 5) Those of addresses6 that are static (not SLAAC), with their prefix length: the
     * DHCPv6 server leases them, and the agent configures them in a lab guest. Absent: none. */
    static6: z.array(ipv6Cidr).optional(),
    gateway: ipv4.optional(),
    /** Whether this NIC owns the guest's default route. */
    defaultRoute: z.boolean(),
    mtu,
    qos: qosSchema.optional(),
    /** Security groups in force on this port (its VNET's and its own); absent: the network's
     * securityGroupIds. Containing the default group 0: no filtering beyond anti-spoofing. */
    securityGroupIds: z.array(z.number().int().nonnegative()).optional(),
  })
  .strict()
  .refine((p) => p.kind !== "tap" || p.dev !== undefined, "A tap port names its device (dev)");
export type DesiredPort = z.infer<typeof desiredPortSchema>;

/** The node device of a port: the tap for hypervisor ports, the host veth bhv<nicId> otherwise.
 * nftables sets and tc are keyed by it. */
export const portDevice = (p: Pick<DesiredPort, "nicId" | "kind" | "dev">) =>
  p.kind === "tap" && p.dev ? p.dev : hostVethName(p.nicId);
export const isTapPort = (p: Pick<DesiredPort, "kind">) => p.kind === "tap";

/** One security-group rule as the agent applies it: an allow rule. */
export const desiredSgRuleSchema = z
  .object({
    /** Stable id: names the rule's counter. */
    ruleId: z.number().int().positive(),
    protocol: z.enum(SG_PROTOCOLS),
    direction: z.enum(SG_DIRECTIONS),
    /** IP + SIZE, or the address ranges of NETWORK_ID resolved by the server: first address
     * (IPv4 or IPv6) and count. Absent: any address. */
    spans: z.array(z.object({ first: z.string(), size: z.number().int().positive() }).strict()).optional(),
    /** RANGE, e.g. "22,53,80:90" (TCP and UDP only). */
    ports: z
      .string()
      .regex(/^\d+(:\d+)?(,\d+(:\d+)?)*$/, "Ports look like 22,53,80:90")
      .optional(),
    icmpType: z.number().int().min(0).max(255).optional(),
  })
  .strict();
export type DesiredSgRule = z.infer<typeof desiredSgRuleSchema>;

export const desiredSecurityGroupSchema = z
  .object({ sgId: z.number().int().nonnegative(), rules: z.array(desiredSgRuleSchema) })
  .strict();
export type DesiredSecurityGroup = z.infer<typeof desiredSecurityGroupSchema>;

/** A node's whole desired state at one revision. */
export const desiredStateSchema = z
  .object({
    wireVersion: z.union([
      z.literal(1),
      z.literal(2),
      z.literal(3),
      z.literal(4),
      z.literal(5),
      z.literal(6),
    ]),
    nodeId: z.number().int().positive(),
    nodeName: z.string(),
    revision: z.number().int().nonnegative(),
    /** The node's underlay IPv4 address: local VXLAN tunnel endpoint (VTEP). */
    vtep: ipv4.optional(),
    /** The node's uplink device: VXLAN underlay, NAT egress of internal networks. */
    uplink: ifName.optional(),
    networks: z.array(desiredNetworkSchema),
    ports: z.array(desiredPortSchema),
    /** Every security group the networks above refer to, each rule listed once. */
    securityGroups: z.array(desiredSecurityGroupSchema).optional(),
    /** (wire 2) The server certificate fingerprints the agent accepts from now on, current first;
     * two while an admin rotates the certificate. Absent: keep the pin it has. */
    serverPins: z.array(certFingerprint).min(1).max(4).optional(),
  })
  .strict();
export type DesiredState = z.infer<typeof desiredStateSchema>;

/** Counters one report may carry (a group of 500 rules on 100 groups' worth of nodes fits). */
export const MAX_REPORTED_COUNTERS = 50_000;

/** One rule's counter on one node. */
export const sgCounterSchema = z
  .object({
    ruleId: z.number().int().positive(),
    packets: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  })
  .strict();
export type SgCounter = z.infer<typeof sgCounterSchema>;

/** The name of a rule's nftables counter (lib/nft/sg.ts) and back. */
export const sgCounterName = (sgId: number, ruleId: number) => `sg${sgId}_r${ruleId}`;
const COUNTER_NAME = /^sg\d+_r(\d+)$/;

/** Kernel counters by name → per-rule counters (names that are not rule counters are skipped). */
export function ruleCounters(byName: Record<string, { packets: number; bytes: number }>): SgCounter[] {
  const out = new Map<number, SgCounter>();
  for (const [name, v] of Object.entries(byName)) {
    const m = COUNTER_NAME.exec(name);
    if (!m) continue;
    const ruleId = Number(m[1]);
    const c = out.get(ruleId) ?? { ruleId, packets: 0, bytes: 0 };
    c.packets += v.packets;
    c.bytes += v.bytes;
    out.set(ruleId, c);
  }
  return [...out.values()].sort((a, b) => a.ruleId - b.ruleId);
}

/** The phases of a reconcile, in order, as the agent times them: reading the kernel, planning, the
 * ip executor's steps (agent/dataplane/links/execute.ts), then nftables and tc. The server labels
 * its per-phase histogram with these only (anything else an agent sends counts as "other"). */
export const APPLY_PHASES = [
  "observe",
  "plan",
  "namespaces",
  "guard",
  "guests_before",
  "node",
  "sysctl",
  "fdb",
  "guests",
  "rollback",
  "nft",
  "tc",
] as const;

/** One lease a node's dnsmasq handed out (its lease file's line). */
export const dhcpLeaseSchema = z
  .object({
    vnetId: z.number().int().positive(),
    mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
    ip: ipv4,
    /** Unix seconds when it runs out; 0: never. */
    expires: z.number().int().nonnegative(),
  })
  .strict();
export type DhcpLease = z.infer<typeof dhcpLeaseSchema>;
/** The underlay path MTU to one VXLAN peer (its VTEP), as DF pings measured it; null: the peer
 * answered no ping at all. */
export const underlayMtuSchema = z
  .object({ peer: ipv4, mtu: z.number().int().min(68).max(65_535).nullable() })
  .strict();
export type UnderlayMtu = z.infer<typeof underlayMtuSchema>;
export const MAX_REPORTED_PEERS = 8192;

/** At most this many leases ride one report (the rest are left out, newest expiry first kept). */
export const MAX_REPORTED_LEASES = 4096;

/** What the agent tells the server after each reconcile (and as its heartbeat). */
export const agentReportSchema = z
  .object({
    nodeId: z.number().int().positive(),
    revision: z.number().int().nonnegative(),
    ok: z.boolean(),
    error: z.string().max(4000).optional(),
    operations: z.number().int().nonnegative(),
    durationMs: z.number().nonnegative(),
    networks: z.array(z.object({ vnetId: z.number().int(), ok: z.boolean(), error: z.string().optional() })),
    ports: z.array(z.object({ nicId: z.number().int(), ok: z.boolean(), error: z.string().optional() })),
    agentVersion: z.string().max(64).optional(),
    hostname: z.string().max(255).optional(),
    /** The node's underlay as the agent is configured (--vtep, --underlay-dev). */
    vtep: ipv4.optional(),
    uplink: ifName.optional(),
    /** Drift found and repaired by this reconcile (one line per repaired object), when it was
     * not caused by a new revision: a bridge, veth, route or FDB entry changed by hand. */
    repairs: z.array(z.string().max(500)).max(200).optional(),
    /** The exact commands this reconcile ran (the "what it did" of the plan preview), capped. */
    ops: z.array(z.string().max(1000)).max(500).optional(),
    /** Where this reconcile's time went, ms per phase (APPLY_PHASES); sent when it did something. */
    phases: z
      .record(z.string().regex(/^[a-z_]{1,24}$/), z.number().nonnegative())
      .refine((p) => Object.keys(p).length <= 24, "at most 24 phases")
      .optional(),
    /** Security-group rule counters as this node's kernel counts them (since the rule was first
     * loaded here; the agent carries them over its own table reloads). Sent at most every few
     * seconds; absent: unchanged since the last report that had them. */
    counters: z.array(sgCounterSchema).max(MAX_REPORTED_COUNTERS).optional(),
    /** (wire 2) The wire version the agent speaks. Absent: 1. */
    wireVersion: z.number().int().min(0).max(1000).optional(),
    /** (wire 2) The agent talks plain HTTP (--insecure): anyone on the path can read its
     * credential and push it any state. Shown on the Nodes page. */
    insecure: z.boolean().optional(),
    /** (wire 2) The certificate fingerprints the agent holds now (proves a re-pin arrived). */
    pins: z.array(certFingerprint).max(4).optional(),
    /** (wire 4) The leases this node's DHCP servers handed out, as their lease files say after the
     * last reconcile: a guest that took its address. Absent: the node serves no DHCP. */
    dhcpLeases: z.array(dhcpLeaseSchema).max(MAX_REPORTED_LEASES).optional(),
    /** (wire 6) The underlay path MTU to each VXLAN peer, sent when a measurement changed; absent:
     * unchanged since the last report that had them. */
    underlayMtu: z.array(underlayMtuSchema).max(MAX_REPORTED_PEERS).optional(),
  })
  .strict();
export type AgentReport = z.infer<typeof agentReportSchema>;

/** The agent's answer to a plan preview request: what it would run now, without running it. */
export const previewAnswerSchema = z
  .object({
    nodeId: z.number().int().positive(),
    requestId: z.string().uuid(),
    lines: z.array(z.string().max(2000)).max(20000),
    error: z.string().max(4000).optional(),
  })
  .strict();
export type PreviewAnswer = z.infer<typeof previewAnswerSchema>;

/** Join: a one-time token is exchanged for a node id and a per-node credential. */
export const joinRequestSchema = z
  .object({
    token: z.string().min(10).max(200),
    hostname: z.string().max(255).optional(),
    agentVersion: z.string().max(64).optional(),
    vtep: ipv4.optional(),
    uplink: ifName.optional(),
    wireVersion: z.number().int().min(0).max(1000).optional(),
    insecure: z.boolean().optional(),
  })
  .strict();
export const joinResponseSchema = z.object({
  nodeId: z.number().int(),
  nodeName: z.string(),
  credential: z.string(),
});
export type JoinResponse = z.infer<typeof joinResponseSchema>;

/** Credentials and tokens are recognisable by prefix (so a leaked one is easy to grep for). */
export const CREDENTIAL_PREFIX = "bhc_";
export const JOIN_TOKEN_PREFIX = "bhj_";

/** A join token as shown: `bhj_<secret>` or `bhj_<secret>.<fingerprint>`, where the fingerprint
 * is the certificate the agent must see. Only the secret part is sent to the server. */
export function parseJoinToken(token: string): { secret: string; pin?: string } {
  const dot = token.lastIndexOf(".");
  if (dot < 0) return { secret: token };
  return { secret: token.slice(0, dot), pin: token.slice(dot + 1) };
}
