// API input schemas, shared by the server (tRPC .input) and the browser forms (zodResolver),
// so a field is validated the same way in both places and errors land at the same field.
import { z } from "zod";
import {
  blankOr,
  DEVICE_NAME_RULE,
  DRIVERS,
  descriptionText,
  displayName,
  ifName,
  intToIp4,
  ip4ToInt,
  ipv4,
  ipv4Cidr,
  ipv6,
  isMac,
  LOCK_LEVELS,
  leaseAddress,
  mtu,
  NETWORK_TYPES,
  name,
  networkOf,
  PORT_KINDS,
  vlanId,
  vni,
} from "./domain";
import { isIp6, isSlaacPrefix } from "./ipam";
import { selectionSchema } from "./tenancy";
import { rateText, sizeText } from "./units";

const id = z.coerce.number().int().nonnegative();

/** Splits "a, b c" into ["a","b","c"]. */
const list = (s: string) => s.split(/[\s,]+/).filter(Boolean);

/** Comma- or space-separated IPv4 addresses, e.g. "10.0.0.1, 1.1.1.1". */
const ipv4List = z
  .string()
  .trim()
  .default("")
  .refine((s) => list(s).every((x) => ipv4.safeParse(x).success), "Use IPv4 addresses separated by commas")
  .transform(list);

const optionalIfName = z
  .string()
  .trim()
  .default("")
  .refine((s) => s === "" || ifName.safeParse(s).success, DEVICE_NAME_RULE)
  .refine((s) => !/^bhbr\d+$/.test(s), "Names bhbr<number> are reserved for generated bridge names")
  .transform((s) => s || undefined);

/** Cross-field rules of an IPv4 network: gateway and range inside the subnet, range avoids the gateway. */
function checkIpv4Layout(
  v: { subnet: string; gateway?: string; firstIp: string; size: number },
  ctx: z.RefinementCtx,
  paths: { gateway: string[]; firstIp: string[]; size: string[] },
) {
  const [netIp, lenS] = v.subnet.split("/");
  const len = Number(lenS);
  const net = networkOf(ip4ToInt(netIp!), len);
  const count = 2 ** (32 - len);
  const last = net + count - 1;
  const hasBroadcast = len <= 30;
  const usable = (n: number) => n >= net && n <= last && (!hasBroadcast || (n !== net && n !== last));
  const where = `${intToIp4(net)}/${len}`;
  if (v.gateway && !usable(ip4ToInt(v.gateway)))
    ctx.addIssue({
      code: "custom",
      path: paths.gateway,
      message: `Gateway must be a host address inside ${where}`,
    });
  const first = ip4ToInt(v.firstIp);
  if (!usable(first)) {
    ctx.addIssue({
      code: "custom",
      path: paths.firstIp,
      message: `First address must be a host address inside ${where}`,
    });
    return;
  }
  const end = first + v.size - 1;
  if (!usable(end))
    ctx.addIssue({
      code: "custom",
      path: paths.size,
      message: `Range ends at ${intToIp4(end >>> 0)}, outside ${where}; at most ${(hasBroadcast ? last - 1 : last) - first + 1} addresses fit`,
    });
  else if (v.gateway) {
    const gw = ip4ToInt(v.gateway);
    if (gw >= first && gw <= end)
      ctx.addIssue({
        code: "custom",
        path: paths.firstIp,
        message: `Range ${v.firstIp}–${intToIp4(end)} contains the gateway ${v.gateway}; start after it`,
      });
  }
}

const optionalPhydev = z
  .string()
  .trim()
  .default("")
  .refine((s) => s === "" || ifName.safeParse(s).success, DEVICE_NAME_RULE)
  .transform((s) => s || undefined);

/** VLAN ID / VNI: a number, "auto" (lowest free in the admin's pool) or "" (none). */
const poolId = (schema: z.ZodNumber) =>
  z
    .union([z.literal("auto"), z.literal("").transform(() => null), z.coerce.number().pipe(schema), z.null()])
    .optional();

const optionalSlaacPrefix = z
  .string()
  .trim()
  .default("")
  .refine((s) => s === "" || isSlaacPrefix(s), "Use a /64 prefix without host bits, e.g. 2001:db8:1::/64")
  .transform((s) => (s ? `${s.split("/")[0]}/64` : undefined));
const optionalIp6 = blankOr(ipv6);

/** What each driver needs to exist on a node: vlan a physical device and a VLAN ID, vxlan a VNI. */
function checkDriver(
  v: { driver?: string; phydev?: string | null; vlanId?: unknown; vni?: unknown },
  ctx: z.RefinementCtx,
) {
  if (v.driver === "vlan" && !v.phydev)
    ctx.addIssue({ code: "custom", path: ["phydev"], message: "The vlan driver needs a physical device" });
  if (v.driver === "vlan" && (v.vlanId === undefined || v.vlanId === null))
    ctx.addIssue({ code: "custom", path: ["vlanId"], message: 'Give a VLAN ID (1–4094) or "auto"' });
  if (v.driver === "vxlan" && (v.vni === undefined || v.vni === null))
    ctx.addIssue({ code: "custom", path: ["vni"], message: 'Give a VNI (1–16777215) or "auto"' });
}

export const vnetCreateInput = z
  .object({
    name: displayName(),
    description: descriptionText(500).default(""),
    networkType: z.enum(NETWORK_TYPES).default("internal"),
    driver: z.enum(DRIVERS).default("bridge"),
    phydev: optionalPhydev,
    vlanId: poolId(vlanId),
    vni: poolId(vni),
    bridge: optionalIfName,
    mtu: z.coerce.number().pipe(mtu).default(1500),
    subnet: ipv4Cidr.refine((s) => Number(s.split("/")[1]) >= 8, "Subnets larger than /8 are not supported"),
    gateway: blankOr(ipv4),
    dns: ipv4List,
    firstIp: ipv4,
    size: z.coerce
      .number({ error: "Size must be a number" })
      .int("Size must be a whole number")
      .min(1, "Size must be at least 1")
      .max(65536, "Size must be at most 65536"),
    clusterIds: z.array(id).min(1, "Pick at least one cluster").default([0]),
    /** Dual stack: a /64 prefix makes the first range IPv4 + SLAAC IPv6. */
    globalPrefix: optionalSlaacPrefix,
    ulaPrefix: optionalSlaacPrefix,
    gateway6: optionalIp6,
    allowOverlap: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (ipv4Cidr.safeParse(v.subnet).success && ipv4.safeParse(v.firstIp).success)
      checkIpv4Layout(v, ctx, { gateway: ["gateway"], firstIp: ["firstIp"], size: ["size"] });
    checkDriver(v, ctx);
  });
export type VnetCreateInput = z.input<typeof vnetCreateInput>;

/** One NIC of an instance: its VNET (or "auto"), requested addresses and port kind. */
export const nicInput = z.object({
  // "auto": any VNET, chosen when the instance is placed on its node (lib/tenancy selection).
  vnetId: z.union([
    z.literal("auto"),
    z.coerce.number({ error: "Pick a network" }).int().positive("Pick a network"),
  ]),
  auto: selectionSchema.optional(),
  ip: blankOr(ipv4),
  ip6: optionalIp6,
  portKind: z.enum(PORT_KINDS).default("guest"),
});
export type NicInput = z.input<typeof nicInput>;

export const instanceCreateInput = z.object({
  name,
  nodeId: z.coerce.number({ error: "Pick a node" }).int().positive("Pick a node"),
  nics: z.array(nicInput).min(1, "Add at least one NIC").max(8, "At most 8 NICs"),
});
export type InstanceCreateInput = z.input<typeof instanceCreateInput>;

/** NIC hot-plug: a new NIC on an existing instance. */
export const nicAddInput = z.object({ instanceId: id, nic: nicInput });
/** NIC hot-plug: a changed NIC (another VNET, a requested address, the port kind). Absent fields
 * stay; a new VNET or address re-leases the NIC. */
export const nicUpdateInput = z.object({
  nicId: id,
  vnetId: z.coerce.number({ error: "Pick a network" }).int().positive("Pick a network").optional(),
  ip: nicInput.shape.ip,
  ip6: optionalIp6,
  portKind: z.enum(PORT_KINDS).optional(),
});
export const nicRemoveInput = z.object({ nicId: id });

export const nodeCreateInput = z.object({
  name: z
    .string()
    .trim()
    .min(1, "Name is required")
    .max(63, "At most 63 characters")
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i, "Use a host name: letters, digits and dashes"),
  clusterId: id.default(0),
});

/** States a node is listed in (the Nodes page's filter); the order is the "state" sort's. */
export const NODE_STATES = ["connected", "disconnected", "pending", "revoked"] as const;
export const NODE_SORTS = ["name", "cluster", "state", "lastSeen", "instances"] as const;
/** One page of the Nodes list, filtered and sorted by the server. */
export const nodeListInput = z
  .object({
    /** Part of the name, hostname, cluster or VTEP address. */
    q: z.string().trim().max(64, "At most 64 characters").default(""),
    state: z.enum(["all", ...NODE_STATES]).default("all"),
    sort: z.enum(NODE_SORTS).default("name"),
    dir: z.enum(["asc", "desc"]).default("asc"),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .prefault({});

export const userCreateInput = z.object({
  username: z
    .string()
    .trim()
    .min(2, "At least 2 characters")
    .max(32, "At most 32 characters")
    .regex(/^[a-z0-9_.]+$/, "Lower-case letters, digits, dot and underscore"),
  name: z.string().trim().min(1, "Name is required").max(100),
  password: z.string().min(12, "At least 12 characters").max(256),
  role: z.enum(["admin", "user"]).default("user"),
  groupId: id.default(1),
});

export const idInput = z.object({ id: z.coerce.number().int().nonnegative() });

// ---------------------------------------------------------------------------
// Address ranges and leases (IPAM)
// ---------------------------------------------------------------------------
const optionalMac = z
  .string()
  .trim()
  .default("")
  .refine((s) => s === "" || isMac(s), {
    error: ({ input }) => `${String(input)} is not a MAC address (e.g. 02:00:0a:00:00:01)`,
  })
  .refine(
    (s) => s === "" || (Number.parseInt(s.slice(0, 2), 16) & 1) === 0,
    "The first MAC must be unicast (even first byte)",
  )
  .transform((s) => s.toLowerCase() || undefined);
const arSize = z.coerce
  .number({ error: "Size must be a number" })
  .int("Size must be a whole number")
  .min(1, "Size must be at least 1")
  .max(1 << 20, "A range holds at most 1048576 addresses");
const prefix6 = z.coerce.number().int().min(1, "Prefix length 1–128").max(128, "Prefix length 1–128");

/** One address range, by type: the fields each type needs and nothing else. */
export const arInput = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("ip4"), ip: ipv4, size: arSize, mac: optionalMac }),
    z.object({
      type: z.literal("ip6"),
      globalPrefix: optionalSlaacPrefix,
      ulaPrefix: optionalSlaacPrefix,
      size: arSize,
      mac: optionalMac,
    }),
    z.object({
      type: z.literal("ip6_static"),
      ip6: ipv6,
      prefixLength6: prefix6.default(64),
      size: arSize,
      mac: optionalMac,
    }),
    z.object({
      type: z.literal("ip4_6"),
      ip: ipv4,
      ip6: optionalIp6,
      prefixLength6: prefix6.default(64),
      globalPrefix: optionalSlaacPrefix,
      ulaPrefix: optionalSlaacPrefix,
      size: arSize,
      mac: optionalMac,
    }),
    z.object({ type: z.literal("ether"), size: arSize, mac: optionalMac }),
  ])
  .superRefine((v, ctx) => {
    if ((v.type === "ip6" || v.type === "ip4_6") && !("ip6" in v && v.ip6) && !v.globalPrefix && !v.ulaPrefix)
      ctx.addIssue({
        code: "custom",
        path: ["globalPrefix"],
        message:
          v.type === "ip6"
            ? "Give a global or a ULA /64 prefix"
            : "Give a static first IPv6 address or a /64 prefix",
      });
    if (v.type === "ip4_6" && v.ip6 && (v.globalPrefix || v.ulaPrefix))
      ctx.addIssue({
        code: "custom",
        path: ["ip6"],
        message: "Use either a static first IPv6 address or SLAAC prefixes, not both",
      });
  });
export type ArInput = z.input<typeof arInput>;

/** Admins only: accept IPv4 addresses another VNET of a shared cluster uses (audited). */
const allowOverlap = z.boolean().default(false);
export const arAddInput = z.object({ vnetId: id, range: arInput, allowOverlap });
export const arResizeInput = z.object({ id, size: arSize, allowOverlap });

/** A span of addresses (IPv4, IPv6 or MAC) of one VNET: `from` alone is a single address. */
export const spanInput = z.object({
  vnetId: id,
  from: leaseAddress,
  to: blankOr(leaseAddress),
});
export const holdInput = spanInput.extend({
  reason: z.string().trim().min(1, "Say why the address is held").max(200),
  expiresAt: z.coerce.date().optional(),
});
export const leaseHistoryInput = z.object({
  vnetId: id,
  address: z.string().trim().max(64).optional(),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  limit: z.number().int().min(1).max(1000).default(200),
});

// ---------------------------------------------------------------------------
// VNET configuration, context and QoS
// ---------------------------------------------------------------------------
const optionalInt = (schema: z.ZodNumber) =>
  z.union([z.literal("").transform(() => undefined), z.coerce.number().pipe(schema)]).optional();

/** The restricted attributes of a VNET as procedures take them (lib/restricted.ts says who may
 * set them): vnet.update changes them; clone and instantiate take them as overrides of what the
 * source or template gives. */
export const vnetRestrictedInput = z.object({
  driver: z.enum(DRIVERS).optional(),
  networkType: z.enum(NETWORK_TYPES).optional(),
  // "" = back to the generated name; absent = unchanged.
  bridge: z
    .string()
    .trim()
    .refine((s) => s === "" || ifName.safeParse(s).success, DEVICE_NAME_RULE)
    .refine((s) => !/^bhbr\d+$/.test(s), "Names bhbr<number> are reserved for generated bridge names")
    .optional(),
  phydev: z
    .string()
    .trim()
    .refine((s) => s === "" || ifName.safeParse(s).success, DEVICE_NAME_RULE)
    .transform((s) => s || null)
    .optional(),
  vlanId: poolId(vlanId),
  vni: poolId(vni),
  mtu: z.coerce.number().pipe(mtu).optional(),
});
export type VnetRestrictedInput = z.output<typeof vnetRestrictedInput>;

const DNS_DOMAIN = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const vnetUpdateInput = z
  .object({
    id,
    name: displayName().optional(),
    description: descriptionText(500).optional(),
    ...vnetRestrictedInput.shape,
    applyBridgeAddress: z.boolean().optional(),
    antiSpoofing: z.boolean().optional(),
    /** null or "auto": by network type (internal on, external off); the form sends auto/on/off. */
    dhcpEnabled: z
      .union([
        z.boolean().nullable(),
        z.enum(["auto", "on", "off"]).transform((s) => (s === "auto" ? null : s === "on")),
      ])
      .optional(),
    /** "" = back to <vnet name>.internal. */
    dnsDomain: z
      .string()
      .trim()
      .toLowerCase()
      .refine((s) => s === "" || DNS_DOMAIN.test(s), "Use a domain name, e.g. lab.example")
      .transform((s) => s || null)
      .optional(),
    clusterIds: z.array(id).min(1, "Pick at least one cluster").optional(),
  })
  .strict();

const csv = (s: string) => s.split(/[\s,]+/).filter(Boolean);

/** The bounds of a DHCP lease (what the wire and dnsmasq accept): 2 minutes to a year. */
export const LEASE_MIN_S = 120;
export const LEASE_MAX_S = 31_536_000;
const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A lease time as typed ("3600", "90m", "12h", "1d") or a number of seconds; "" = the default. */
const leaseTime = z.union([z.number(), z.string().trim()]).transform((v, ctx) => {
  if (v === "") return null;
  const m = typeof v === "number" ? [String(v), String(v), "s"] : /^(\d+)\s*([smhd]?)$/i.exec(v);
  if (!m) {
    ctx.addIssue({ code: "custom", message: "Give seconds or a duration, e.g. 3600, 90m, 12h, 1d" });
    return z.NEVER;
  }
  const secs = Number(m[1]) * (DURATION_UNITS[(m[2] || "s").toLowerCase()] ?? 1);
  if (!Number.isInteger(secs) || secs < LEASE_MIN_S || secs > LEASE_MAX_S) {
    ctx.addIssue({ code: "custom", message: "A lease lasts from 2 minutes (120) to a year (365d)" });
    return z.NEVER;
  }
  return secs;
});

/** Upstream resolvers: comma-separated text (the form) or a list (the API); at most 4. A loopback
 * or unspecified address would be the node namespace's own, where nothing answers. */
const upstreamList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (typeof v === "string" ? list(v) : v.map((x) => x.trim()).filter(Boolean)))
  .refine((a) => a.every((x) => ipv4.safeParse(x).success), "Use IPv4 addresses separated by commas")
  .refine(
    (a) => a.every((x) => !x.startsWith("127.") && x !== "0.0.0.0"),
    "A loopback or 0.0.0.0 resolver would be the node's own namespace: give a reachable server",
  )
  .refine((a) => a.length <= 4, "At most 4 upstream servers")
  .transform((a) => [...new Set(a)]);

/** The DHCP & DNS service of a VNET (the tab of the same name; PUT /vnets/{id}/dhcp). */
export const vnetDhcpInput = z
  .object({
    id,
    /** auto: by network type (internal on, external off). */
    enabled: z
      .union([
        z.boolean().nullable(),
        z.enum(["auto", "on", "off"]).transform((s) => (s === "auto" ? null : s === "on")),
      ])
      .optional(),
    /** "" = back to <vnet name>.internal. */
    domain: z
      .string()
      .trim()
      .toLowerCase()
      .refine((s) => s === "" || DNS_DOMAIN.test(s), "Use a domain name, e.g. lab.example")
      .transform((s) => s || null)
      .optional(),
    leaseTime: leaseTime.optional(),
    upstreams: upstreamList.optional(),
  })
  .strict();
export type VnetDhcpInput = z.output<typeof vnetDhcpInput>;
const domainName =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Context attributes as the form edits them (text), producing the stored shape. */
export const contextInput = z
  .object({
    subnet: z
      .string()
      .trim()
      .default("")
      .refine((s) => s === "" || ipv4Cidr.safeParse(s).success, "Not a valid IPv4 CIDR (e.g. 10.0.0.0/24)")
      .transform((s) => {
        if (!s) return undefined;
        const [ip, len] = s.split("/") as [string, string];
        return `${intToIp4(networkOf(ip4ToInt(ip), Number(len)))}/${len}`;
      }),
    gateway: blankOr(ipv4),
    gateway6: blankOr(ipv6),
    dns: z
      .string()
      .trim()
      .default("")
      .refine(
        (s) => csv(s).every((x) => ipv4.safeParse(x).success || isIp6(x)),
        "Use IPv4 or IPv6 addresses separated by commas",
      )
      .refine((s) => csv(s).length <= 8, "At most 8 DNS servers")
      .transform((s) => (csv(s).length ? csv(s) : undefined)),
    searchDomains: z
      .string()
      .trim()
      .default("")
      .refine(
        (s) => csv(s).every((x) => domainName.test(x)),
        "Use domain names separated by commas, e.g. lab.example",
      )
      .transform((s) => (csv(s).length ? csv(s) : undefined)),
    guestMtu: optionalInt(mtu),
    defaultRoute: z.boolean().optional(),
    custom: z
      .string()
      .default("")
      .refine(
        (s) => s.split("\n").every((l) => l.trim() === "" || /^[A-Z][A-Z0-9_]*\s*=/.test(l.trim())),
        "One KEY=value per line; keys are upper-case letters, digits and _",
      )
      .transform((s) => {
        const pairs = s
          .split("\n")
          .map((l) => l.trim())
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()] as const);
        return pairs.length ? Object.fromEntries(pairs) : undefined;
      }),
  })
  .strict();
export const setContextInput = z.object({ id, context: contextInput });

// An omitted cap is a blank one (the API takes a partial set, e.g. {} to remove every cap).
const rate = rateText().optional();
const size = sizeText().optional();

/** QoS caps as typed by users ("100 Mbit/s", "12.5 MB/s", "64 KB"), producing canonical units. */
export const qosInput = z
  .object({
    inboundAvg: rate,
    inboundPeak: rate,
    inboundBurst: size,
    outboundAvg: rate,
    outboundPeak: rate,
    outboundBurst: size,
  })
  .superRefine((q, ctx) => {
    for (const dir of ["inbound", "outbound"] as const) {
      const avg = q[`${dir}Avg`];
      const peak = q[`${dir}Peak`];
      if (peak !== undefined && avg === undefined)
        ctx.addIssue({
          code: "custom",
          path: [`${dir}Avg`],
          message: "Set an average rate before a peak rate",
        });
      if (peak !== undefined && avg !== undefined && peak < avg)
        ctx.addIssue({
          code: "custom",
          path: [`${dir}Peak`],
          message: "Peak rate must be at least the average rate",
        });
      if (q[`${dir}Burst`] !== undefined && avg === undefined)
        ctx.addIssue({
          code: "custom",
          path: [`${dir}Burst`],
          message: "Set an average rate before a burst size",
        });
    }
  })
  .transform((q) =>
    Object.fromEntries(
      Object.entries({
        inboundAvgBps: q.inboundAvg,
        inboundPeakBps: q.inboundPeak,
        inboundBurstBytes: q.inboundBurst,
        outboundAvgBps: q.outboundAvg,
        outboundPeakBps: q.outboundPeak,
        outboundBurstBytes: q.outboundBurst,
      }).filter(([, v]) => v !== undefined),
    ),
  );
export const setQosInput = z.object({ id, qos: qosInput });

// ---------------------------------------------------------------------------
// Hoster compatibility: network_config.json
// ---------------------------------------------------------------------------
export const hosterNetworkSchema = z.object({
  network_name: displayName(),
  network_gateway: ipv4,
  network_subnet: ipv4Cidr,
  network_range_start: ipv4,
  network_range_end: ipv4,
  bridge_interface: z.string().trim().min(1),
  apply_bridge_address: z.boolean().default(true),
  comment: z.string().max(500).default(""),
});
export const hosterImportInput = z.object({
  // Hoster's file is a JSON array of networks; a single object is accepted too.
  json: z.string().min(2).max(1_000_000),
});

// ---------------------------------------------------------------------------
// VNET administration: lock, ID pools, per-range and per-NIC overrides, lease paging
// ---------------------------------------------------------------------------
export const lockInput = z.object({ id, level: z.enum(LOCK_LEVELS).default("manage") });

const poolRange = (schema: z.ZodNumber, what: string) =>
  z
    .object({ from: z.coerce.number().pipe(schema), to: z.coerce.number().pipe(schema) })
    .refine((p) => p.from <= p.to, {
      message: `The ${what} pool must end at or after its start`,
      path: ["to"],
    })
    .nullable();
/** Admin-set pools from which "auto" VLAN IDs and VNIs are taken (null: no pool). */
export const poolsInput = z.object({ vlan: poolRange(vlanId, "VLAN"), vni: poolRange(vni, "VNI") });
export type Pools = z.output<typeof poolsInput>;

export const rangeContextInput = z.object({ id, context: contextInput });

/** Per-NIC overrides: null clears the override (the NIC inherits the VNET's setting again). */
export const nicQosInput = z.object({ nicId: id, qos: qosInput.nullable() });
export const nicContextInput = z.object({ nicId: id, context: contextInput.nullable() });

export const LEASE_FILTERS = ["all", "leased", "used", "hold", "free"] as const;
/** One window of a VNET's addresses for the virtualized leases table. */
export const leaseListInput = z.object({
  vnetId: id,
  state: z.enum(LEASE_FILTERS).default("all"),
  q: z.string().trim().max(64).default(""),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(1000).default(200),
});

/** A new certificate for the agent channel, staged before it is served (Nodes page): generated
 * (self-signed), uploaded as PEM, or, behind a TLS proxy, the proxy's new certificate (its PEM or
 * its SHA-256 fingerprint). */
export const certificateStageInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("generate") }),
  z.object({
    kind: z.literal("upload"),
    cert: z.string().trim().min(1, "Paste the certificate (PEM)").max(64_000, "At most 64,000 characters"),
    key: z.string().trim().min(1, "Paste its private key (PEM)").max(64_000, "At most 64,000 characters"),
  }),
  z.object({
    kind: z.literal("proxy"),
    proxy: z
      .string()
      .trim()
      .min(1, "Paste the proxy's certificate (PEM) or its SHA-256 fingerprint")
      .max(64_000, "At most 64,000 characters"),
  }),
]);

/** Activating a staged certificate: `force` overrides the refusal while agents lack its pin. */
export const certificateActivateInput = z.object({ force: z.boolean().default(false) });
