// The wire contract between the server and the node agent: one zod schema, imported by both.
// The server compiles a node's *whole* desired state (level-triggered, never deltas); the agent
// makes the kernel match it and reports back. Strict objects: an unknown key is a contract error.
import { z } from "zod";
import { DRIVERS, ifName, ipv4, ipv4Cidr, mac, mtu, NETWORK_TYPES, qosSchema, vlanId, vni } from "./domain";

export const WIRE_VERSION = 1;

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
    phydev: ifName.optional(),
    vlanId: vlanId.optional(),
    vni: vni.optional(),
    /** VXLAN: other nodes' VTEP addresses hosting this VNET (static FDB head-end replication). */
    vxlanPeers: z.array(ipv4).optional(),
    /** IPv4 subnet of the network (for NAT and routes), e.g. 10.0.0.0/24. */
    subnet: ipv4Cidr.optional(),
  })
  .strict();
export type DesiredNetwork = z.infer<typeof desiredNetworkSchema>;

/** One match of a compiled security-group rule (lib/sg.ts); every present field must hold.
 * Address spans are "a" or "a-b" (the remote end: source INBOUND, destination OUTBOUND); port
 * spans "22" or "80-90" (the new connection's destination port). */
export const wireSgMatchSchema = z
  .object({
    family: z.enum(["ip", "ip6"]).optional(),
    l4: z.array(z.enum(["tcp", "udp", "icmp", "icmpv6", "esp", "ah"])).optional(),
    addrs: z.array(z.string().regex(/^[0-9a-fA-F:.]+(-[0-9a-fA-F:.]+)?$/)).optional(),
    ports: z.array(z.string().regex(/^\d{1,5}(-\d{1,5})?$/)).optional(),
    icmpType: z.number().int().min(0).max(255).optional(),
  })
  .strict();
export type WireSgMatch = z.infer<typeof wireSgMatchSchema>;

/** A security group as the node enforces it: its rules compiled once, shared by every port. */
export const wireSgSchema = z
  .object({
    sgId: z.number().int().nonnegative(),
    revision: z.number().int().nonnegative(),
    rules: z.array(
      z
        .object({
          ruleId: z.number().int().positive(),
          direction: z.enum(["INBOUND", "OUTBOUND"]),
          /** Named counter of the rule (hits and bytes are read back from it). */
          counter: z.string().regex(/^sg\d+_r\d+$/),
          matches: z.array(wireSgMatchSchema),
        })
        .strict(),
    ),
  })
  .strict();
export type WireSg = z.infer<typeof wireSgSchema>;

/** One guest NIC: a container-style port (a namespace per instance, a veth into the bridge). */
export const desiredPortSchema = z
  .object({
    nicId: z.number().int().positive(),
    instanceId: z.number().int().positive(),
    instanceName: z.string(),
    vnetId: z.number().int().positive(),
    /** Interface name inside the guest: eth0, eth1, ... */
    guestIf: ifName,
    mac,
    /** Addresses with prefix length, e.g. 10.0.0.2/24. */
    addresses: z.array(ipv4Cidr),
    gateway: ipv4.optional(),
    /** Whether this NIC owns the guest's default route. */
    defaultRoute: z.boolean(),
    mtu,
    qos: qosSchema.optional(),
    /** Security groups in force on the port (its VNET's and its own). Absent, or containing the
     * default group 0 (allow all both ways): no filtering beyond anti-spoofing. */
    securityGroups: z.array(z.number().int().nonnegative()).optional(),
  })
  .strict();
export type DesiredPort = z.infer<typeof desiredPortSchema>;

/** A node's whole desired state at one revision. */
export const desiredStateSchema = z
  .object({
    wireVersion: z.literal(WIRE_VERSION),
    nodeId: z.number().int().positive(),
    nodeName: z.string(),
    revision: z.number().int().nonnegative(),
    networks: z.array(desiredNetworkSchema),
    ports: z.array(desiredPortSchema),
    /** Every group a port of this node uses (except the default group), each once. */
    securityGroups: z.array(wireSgSchema).optional(),
  })
  .strict();
export type DesiredState = z.infer<typeof desiredStateSchema>;

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
  })
  .strict();
export type AgentReport = z.infer<typeof agentReportSchema>;

/** Join: a one-time token is exchanged for a node id and a per-node credential. */
export const joinRequestSchema = z
  .object({
    token: z.string().min(10).max(200),
    hostname: z.string().max(255).optional(),
    agentVersion: z.string().max(64).optional(),
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
