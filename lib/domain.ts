// Domain vocabulary shared by the database, the API, the UI and the agent: enum tuples,
// small reusable validators, and the JSON shapes stored in columns. Pure: no I/O.
import ipaddr from "ipaddr.js";
import { z } from "zod";

// ---------------------------------------------------------------------------
// Enum tuples (feed both drizzle columns and z.enum)
// ---------------------------------------------------------------------------
export const USER_ROLES = ["admin", "user"] as const;
export const DRIVERS = ["bridge", "vlan", "vxlan", "routed"] as const;
export const NETWORK_TYPES = ["internal", "external"] as const;
export const AR_TYPES = ["ip4", "ip6", "ip6_static", "ip4_6", "ether"] as const;
export const LEASE_STATES = ["used", "hold"] as const;
export const LEASE_ACTIONS = ["allocate", "release", "hold", "unhold"] as const;
export const LOCK_LEVELS = ["use", "manage", "admin"] as const;
/** A VNET peering: proposed by the manager of one side, active once the other side accepted. */
export const PEERING_STATES = ["proposed", "active"] as const;
export const SG_PROTOCOLS = ["ALL", "TCP", "UDP", "ICMP", "ICMPv6", "IPSEC"] as const;
export const SG_DIRECTIONS = ["INBOUND", "OUTBOUND"] as const;
export const AUDIT_OUTCOMES = ["ok", "refused", "error"] as const;
export const QUOTA_SUBJECTS = ["user", "group"] as const;
/** How a NIC meets its VNET on the node: a lab guest (a namespace the agent creates, with a veth)
 * or a hypervisor port (a tap device QEMU/libvirt creates under the name Bridgehead gives it). */
export const PORT_KINDS = ["guest", "tap"] as const;
export type PortKind = (typeof PORT_KINDS)[number];

export type Driver = (typeof DRIVERS)[number];
export type NetworkType = (typeof NETWORK_TYPES)[number];

// ---------------------------------------------------------------------------
// Reusable validators (composed into the strict schemas of the API and the wire contract)
// ---------------------------------------------------------------------------
export const name = z
  .string()
  .trim()
  .min(1, "Name is required")
  .max(64, "Name must be at most 64 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "Use letters, digits, space, dot, dash or underscore");

/** Names people read (VNETs, templates, security groups, user groups): any script, normalised
 * to NFC so that "é" typed as e + combining accent is the same name as the precomposed one (names
 * are unique). The kernel never sees them: device names are separate fields (ifName). */
export const displayName = (max = 64, min = 1) =>
  z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(
      z
        .string()
        .min(min, min === 1 ? "Name is required" : `At least ${min} characters`)
        .max(max, `Name must be at most ${max} characters`)
        .regex(
          /^[\p{L}\p{N}][\p{L}\p{M}\p{N} ._-]*$/u,
          "Use letters (any script), digits, space, dot, dash or underscore",
        ),
    );

/** Free text people read (descriptions), NFC-normalised like displayName. */
export const descriptionText = (max: number) =>
  z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(z.string().max(max, `At most ${max} characters`));

/** The message of every device-name field: these are kernel interface names. */
export const DEVICE_NAME_RULE =
  "Device names stay ASCII (they are kernel interface names): up to 15 letters a–z, digits, dot, dash or underscore";

/** Linux interface names: 1–15 characters, no slash, colon or whitespace. */
export const ifName = z
  .string()
  .min(1, "Interface name is required")
  .max(15, "Interface names are at most 15 characters (kernel limit)")
  .regex(/^[A-Za-z0-9_.-]+$/, DEVICE_NAME_RULE);

export const mtu = z
  .number({ error: "MTU must be a number" })
  .int("MTU must be a whole number")
  .min(576, "MTU must be at least 576")
  .max(9216, "MTU must be at most 9216");

export const vlanId = z
  .number({ error: "VLAN ID must be a number" })
  .int()
  .min(1, "VLAN ID must be 1–4094")
  .max(4094, "VLAN ID must be 1–4094");

export const vni = z
  .number({ error: "VNI must be a number" })
  .int()
  .min(1, "VNI must be 1–16777215")
  .max(16777215, "VNI must be 1–16777215");

// Addresses: one predicate per kind, and validators whose message names what was typed
// ("10.1.0.999 is not an IPv4 address"), so a form shows the mistake at its field and no
// malformed address ever reaches the address math (ipaddr.js throws on one).
const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
/** Dotted-quad IPv4, no prefix. */
export const isIpv4 = (s: string) => ipaddr.IPv4.isValidFourPartDecimal(s);
/** IPv6, no prefix and no zone (a zone names a link of one host, never an address of a range). */
export const isIpv6 = (s: string) => ipaddr.IPv6.isValid(s) && !/[/%]/.test(s);
/** Six colon-separated hex bytes. */
export const isMac = (s: string) => MAC_RE.test(s);

/** What the user typed, short enough for a message. */
function typed(input: unknown): string {
  const s = String(input);
  return s.length > 45 ? `${s.slice(0, 40)}…` : s;
}
/** "<typed> is not <what> (e.g. <example>)"; an empty field asks for the value instead. */
const isNot =
  (what: string, example: string) =>
  ({ input }: { input: unknown }) =>
    input === "" ? `Give ${what} (e.g. ${example})` : `${typed(input)} is not ${what} (e.g. ${example})`;

export const mac = z
  .string()
  .trim()
  .refine(isMac, { error: isNot("a MAC address", "02:00:0a:00:00:01") })
  .transform((s) => s.toLowerCase());

export const ipv4 = z
  .string()
  .trim()
  .refine(isIpv4, { error: isNot("an IPv4 address", "10.0.0.1") });

export const ipv6 = z
  .string()
  .trim()
  .refine(isIpv6, { error: isNot("an IPv6 address", "2001:db8::10") });

/** An IPv4 or IPv6 address (a security group's remote side). */
export const ipAddress = z
  .string()
  .trim()
  .refine((s) => isIpv4(s) || isIpv6(s), {
    error: isNot("an IPv4 or IPv6 address", "10.0.0.5 or 2001:db8::5"),
  });

/** One address of a lease: IPv4, IPv6 or MAC (a hold or release span names its ends this way). */
export const leaseAddress = z
  .string()
  .trim()
  .refine((s) => isIpv4(s) || isIpv6(s) || isMac(s), {
    error: isNot("an IPv4, IPv6 or MAC address", "10.0.0.5"),
  });

/** IPv4 CIDR, e.g. 10.0.0.0/24 (host bits allowed: 10.0.0.1/24 names the gateway's subnet). */
export const ipv4Cidr = z
  .string()
  .trim()
  .refine(
    (s) => {
      const [ip, len, extra] = s.split("/");
      return (
        ip !== undefined &&
        len !== undefined &&
        extra === undefined &&
        /^\d{1,2}$/.test(len) &&
        Number(len) <= 32 &&
        isIpv4(ip)
      );
    },
    { error: isNot("an IPv4 network in CIDR form", "10.0.0.0/24") },
  );

/** An optional text field of a form: blank (or absent) is undefined, anything else must pass `v`,
 * whose messages are kept. */
export const blankOr = <T extends z.ZodType<string, string>>(v: T) =>
  z
    .string()
    .trim()
    .default("")
    .transform((s, ctx): z.output<T> | undefined => {
      if (s === "") return undefined;
      const r = v.safeParse(s);
      if (r.success) return r.data;
      for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      return z.NEVER;
    });

// ---------------------------------------------------------------------------
// IPv4 address math (pure)
// ---------------------------------------------------------------------------
/** IPv4 dotted quad → unsigned 32-bit integer. */
export function ip4ToInt(ip: string): number {
  const b = ipaddr.IPv4.parse(ip).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** Unsigned 32-bit integer → IPv4 dotted quad. */
export function intToIp4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Network address (integer) of `ip` in a /prefix. */
export function networkOf(ipInt: number, prefix: number): number {
  if (prefix === 0) return 0;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return (ipInt & mask) >>> 0;
}

/** Dotted netmask of a prefix length: 24 → 255.255.255.0. */
export function prefixToMask(prefix: number): string {
  return intToIp4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** OpenNebula's MAC convention: 02:00 followed by the four IPv4 bytes. */
export function macFromIp4(ip: string): string {
  const o = ipaddr.IPv4.parse(ip).octets;
  return ["02", "00", ...o.map((x) => x.toString(16).padStart(2, "0"))].join(":");
}

/** Whether [aStart, aStart+aSize) and [bStart, bStart+bSize) share any address. */
export function spansOverlap(aStart: number, aSize: number, bStart: number, bSize: number): boolean {
  return aStart < bStart + bSize && bStart < aStart + aSize;
}

/** Lowest integer in [start, start+size) not in `used` (sorted ascending not required); null when full. */
export function lowestFree(start: number, size: number, used: Iterable<number>): number | null {
  const taken = new Set(used);
  for (let i = 0; i < size; i++) if (!taken.has(start + i)) return start + i;
  return null;
}

// ---------------------------------------------------------------------------
// JSON shapes stored in columns
// ---------------------------------------------------------------------------
/** QoS caps, canonical units: bit/s for rates, bytes for bursts. Absent = uncapped. */
export const qosSchema = z
  .object({
    inboundAvgBps: z.number().int().positive().optional(),
    inboundPeakBps: z.number().int().positive().optional(),
    inboundBurstBytes: z.number().int().positive().optional(),
    outboundAvgBps: z.number().int().positive().optional(),
    outboundPeakBps: z.number().int().positive().optional(),
    outboundBurstBytes: z.number().int().positive().optional(),
  })
  .strict();
export type Qos = z.infer<typeof qosSchema>;

/** Guest context attributes of a VNET (and per-AR overrides). */
export const contextSchema = z
  .object({
    /** Network address and prefix the guests are configured with, e.g. 10.0.0.0/24. */
    subnet: ipv4Cidr.optional(),
    gateway: ipv4.optional(),
    gateway6: z.string().optional(),
    dns: z.array(z.string()).max(8).optional(),
    searchDomains: z.array(z.string()).max(8).optional(),
    guestMtu: mtu.optional(),
    /** GATEWAY_IFACE: a NIC on this network owns the guest's default route. */
    defaultRoute: z.boolean().optional(),
    custom: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type ContextAttrs = z.infer<typeof contextSchema>;

/** What the agent last reported, stored per node and shown on the Nodes page. */
export type NodeReport = {
  revision: number;
  at: string;
  ok: boolean;
  error?: string;
  operations: number;
  durationMs: number;
  networks: { vnetId: number; ok: boolean; error?: string }[];
  ports: { nicId: number; ok: boolean; error?: string }[];
  /** The commands the last reconcile ran (what the agent did). */
  ops?: string[];
  /** Where that reconcile's time went, ms per phase (APPLY_PHASES in wire.ts). */
  phases?: Record<string, number>;
  /** The last drift the agent found and repaired, and when. */
  repairs?: string[];
  repairedAt?: string;
  /** The wire version the agent speaks (absent: 1). */
  wireVersion?: number;
  /** The agent talks plain HTTP (--insecure). */
  insecure?: boolean;
  /** The certificate fingerprints the agent holds. */
  pins?: string[];
  /** The leases the node's DHCP servers handed out, as of this report (vnetId, mac, ip, expiry in
   * Unix seconds, 0 = never). */
  dhcpLeases?: { vnetId: number; mac: string; ip: string; expires: number }[];
  /** The underlay path MTU to each VXLAN peer's VTEP as the node last measured it (null: the peer
   * answered no ping), and when that report arrived. */
  underlayMtu?: { peer: string; mtu: number | null }[];
  underlayMtuAt?: string;
};
