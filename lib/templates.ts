// VNET templates, pure: the attributes an admin sets, the inputs an end user fills, and the
// address plan and pool pick that instantiation (and its preview) derive from them. No I/O.
import { z } from "zod";
import {
  blankOr,
  contextSchema,
  DRIVERS,
  descriptionText,
  displayName,
  ifName,
  intToIp4,
  ip4ToInt,
  ipv4,
  ipv4Cidr,
  mtu,
  NETWORK_TYPES,
  networkOf,
  qosSchema,
  vlanId,
  vni,
} from "./domain";

const id = z.coerce.number().int().nonnegative();

/** A contiguous span of VLAN IDs or VNIs, inclusive. */
const pool = (v: z.ZodNumber) =>
  z
    .object({ from: z.coerce.number().pipe(v), to: z.coerce.number().pipe(v) })
    .refine((p) => p.to >= p.from, { message: "The pool must end at or after its start", path: ["to"] });

export const labelSchema = z
  .string()
  .trim()
  .min(1)
  .max(32, "Labels are at most 32 characters")
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, "Labels use letters, digits, dot, dash and underscore");

/** A QoS tier end users pick by name (e.g. "bronze": 100 Mbit/s each way). */
export const qosTierSchema = z.object({ name: labelSchema, qos: qosSchema });

/** What an admin sets on a template; end users never see or change these. */
export const templateAttrsSchema = z
  .object({
    driver: z.enum(DRIVERS),
    networkType: z.enum(NETWORK_TYPES),
    phydev: ifName.optional(),
    mtu: mtu.optional(),
    vlanPool: pool(vlanId).optional(),
    vniPool: pool(vni).optional(),
    clusterIds: z.array(id).min(1, "Pick at least one cluster").default([0]),
    securityGroupIds: z.array(id).default([0]),
    qos: qosSchema.optional(),
    qosTiers: z.array(qosTierSchema).max(8).default([]),
    context: contextSchema.omit({ subnet: true, gateway: true }).optional(),
    labels: z.array(labelSchema).max(16).default([]),
    /** IPv4 plan of the VNETs made from this template: subnet, gateway, default and largest size. */
    subnet: ipv4Cidr.refine(
      (s) => Number(s.split("/")[1]) >= 8 && Number(s.split("/")[1]) <= 30,
      "Use a subnet between /8 and /30",
    ),
    gateway: ipv4.optional(),
    defaultSize: z.coerce.number().int().min(1).max(65536).default(100),
    maxSize: z.coerce.number().int().min(1).max(65536).default(254),
    /** Whether end users may add IPv6 (a ULA /64 with SLAAC addresses). */
    allowIpv6: z.boolean().default(true),
  })
  .superRefine((a, ctx) => {
    if (a.driver === "vlan" && !a.vlanPool)
      ctx.addIssue({
        code: "custom",
        path: ["vlanPool", "from"],
        message: "A vlan template needs a VLAN ID pool",
      });
    if (a.driver === "vlan" && !a.phydev)
      ctx.addIssue({ code: "custom", path: ["phydev"], message: "A vlan template needs a physical device" });
    if (a.driver === "vxlan" && !a.vniPool)
      ctx.addIssue({
        code: "custom",
        path: ["vniPool", "from"],
        message: "A vxlan template needs a VNI pool",
      });
    if (a.gateway && !inSubnet(a.subnet, a.gateway))
      ctx.addIssue({ code: "custom", path: ["gateway"], message: `Gateway must be inside ${a.subnet}` });
    if (a.defaultSize > a.maxSize)
      ctx.addIssue({
        code: "custom",
        path: ["defaultSize"],
        message: "The default size cannot exceed the largest size",
      });
  });
export type TemplateAttrs = z.output<typeof templateAttrsSchema>;
export type TemplateAttrsInput = z.input<typeof templateAttrsSchema>;

export const templateAllocateInput = z.object({
  name: displayName(),
  description: descriptionText(500).default(""),
  attrs: templateAttrsSchema,
});
export const templateUpdateInput = templateAllocateInput.extend({ id });

/** What the end user fills in to get a VNET of their own. */
export const instantiateInput = z.object({
  templateId: id,
  name: displayName(),
  description: descriptionText(500).default(""),
  size: z.coerce
    .number({ error: "Size must be a number" })
    .int("Size must be a whole number")
    .min(1, "Size must be at least 1")
    .max(65536, "Size must be at most 65536"),
  firstIp: blankOr(ipv4),
  ipv6: z.boolean().default(false),
  qosTier: z
    .string()
    .trim()
    .default("")
    .transform((s) => s || undefined),
});
export type InstantiateInput = z.input<typeof instantiateInput>;

function inSubnet(subnet: string, ip: string): boolean {
  const [net, len] = subnet.split("/") as [string, string];
  return networkOf(ip4ToInt(ip), Number(len)) === networkOf(ip4ToInt(net), Number(len));
}

export type AddressPlan = {
  subnet: string;
  gateway: string;
  firstIp: string;
  lastIp: string;
  size: number;
};

/** The IPv4 plan of a VNET made from `attrs` with the user's size and first address; a string
 * (with the field it concerns) when it does not fit. */
export function planAddresses(
  attrs: Pick<TemplateAttrs, "subnet" | "gateway" | "maxSize">,
  size: number,
  firstIp?: string,
): AddressPlan | { error: string; field: "size" | "firstIp" } {
  const [netS, lenS] = attrs.subnet.split("/") as [string, string];
  const len = Number(lenS);
  const net = networkOf(ip4ToInt(netS), len);
  const last = net + 2 ** (32 - len) - 2; // last host (before broadcast)
  const subnet = `${intToIp4(net)}/${len}`;
  const gw = attrs.gateway ? ip4ToInt(attrs.gateway) : net + 1;
  if (size > attrs.maxSize)
    return { error: `This template allows at most ${attrs.maxSize} addresses`, field: "size" };
  let first: number;
  if (firstIp) {
    first = ip4ToInt(firstIp);
    if (first <= net || first > last)
      return { error: `First address must be a host address inside ${subnet}`, field: "firstIp" };
  } else first = gw === net + 1 ? net + 2 : net + 1;
  const end = first + size - 1;
  if (end > last)
    return {
      error: `Range ends at ${intToIp4(end >>> 0)}, outside ${subnet}; at most ${last - first + 1} addresses fit`,
      field: "size",
    };
  if (gw >= first && gw <= end)
    return {
      error: `Range ${intToIp4(first)}–${intToIp4(end)} contains the gateway ${intToIp4(gw)}; start after it`,
      field: "firstIp",
    };
  return { subnet, gateway: intToIp4(gw), firstIp: intToIp4(first), lastIp: intToIp4(end), size };
}

/** Lowest id of [from, to] not in `used`; null when the pool is exhausted. */
export function pickFromPool(p: { from: number; to: number }, used: Iterable<number>): number | null {
  const taken = new Set(used);
  for (let v = p.from; v <= p.to; v++) if (!taken.has(v)) return v;
  return null;
}

/** A random RFC 4193 ULA /64 (fdXX:XXXX:XXXX:YYYY::/64) for a VNET that asked for IPv6. */
export function randomUla64(rand: (n: number) => Uint8Array): string {
  const b = rand(7);
  const hex = (i: number) => (((b[i]! << 8) | b[i + 1]!) & 0xffff).toString(16);
  return `fd${b[6]!.toString(16).padStart(2, "0")}:${hex(0)}:${hex(2)}:${hex(4)}::/64`;
}

/** The template every fresh install has: a private IPv4 network per user, NAT to the outside. */
export const PRIVATE_IPV4: { name: string; description: string; attrs: TemplateAttrs } = {
  name: "Private IPv4",
  description: "An isolated IPv4 network of your own with NAT to the outside",
  attrs: templateAttrsSchema.parse({
    driver: "bridge",
    networkType: "internal",
    subnet: "10.128.0.0/24",
    gateway: "10.128.0.1",
    defaultSize: 100,
    maxSize: 253,
    context: { dns: ["10.128.0.1"] },
    qosTiers: [
      { name: "standard", qos: {} },
      { name: "bronze", qos: { inboundAvgBps: 100_000_000, outboundAvgBps: 100_000_000 } },
    ],
  }),
};
