// The template form's text and its schema: text as typed → the API's template attributes, field
// by field (so each message lands at its field), then the API's own schema for cross-field rules.
import { z } from "zod";
import { DRIVERS, ifName, ipv4, NETWORK_TYPES, name } from "@/lib/domain";
import { labelSchema, type TemplateAttrs, templateAttrsSchema } from "@/lib/templates";
import { formatRate, rateText } from "@/lib/units";

const blank = (x: unknown) => (x === "" || x === null ? undefined : x);
const optText = (schema: z.ZodType) => z.preprocess(blank, schema.optional());
const optNumber = z.preprocess(blank, z.coerce.number().optional());
const pool = z.preprocess(
  (p) =>
    p && typeof p === "object" && !(p as { from?: string }).from && !(p as { to?: string }).to
      ? undefined
      : p,
  z.object({ from: z.coerce.number(), to: z.coerce.number() }).optional(),
);
const words = (s: unknown) => (typeof s === "string" ? s.split(/[\s,]+/).filter(Boolean) : s);
/** The form's text → the API's template (validated again with the API's own schema). */
export const formSchema = z
  .object({
    name,
    description: z.string().trim().max(500),
    attrs: z.object({
      driver: z.enum(DRIVERS),
      networkType: z.enum(NETWORK_TYPES),
      phydev: optText(ifName),
      mtu: optNumber,
      vlanPool: pool,
      vniPool: pool,
      clusterIds: z.array(z.coerce.number()).min(1, "Pick at least one cluster"),
      subnet: z.string().trim(),
      gateway: optText(ipv4),
      defaultSize: z.coerce.number({ error: "A number" }),
      maxSize: z.coerce.number({ error: "A number" }),
      allowIpv6: z.boolean(),
      labels: z.preprocess(words, z.array(labelSchema).max(16)),
      dns: z.preprocess(words, z.array(ipv4).max(8, "At most 8 DNS servers")),
      qosTiers: z.array(
        z.object({ name: labelSchema, inbound: rateText(), outbound: rateText() }).transform((t) => ({
          name: t.name,
          qos: Object.fromEntries(
            Object.entries({ inboundAvgBps: t.inbound, outboundAvgBps: t.outbound }).filter(([, v]) => v),
          ),
        })),
      ),
    }),
  })
  .superRefine((v, ctx) => {
    const { dns: _dns, ...attrs } = v.attrs;
    const r = templateAttrsSchema.safeParse(attrs);
    if (!r.success)
      for (const issue of r.error.issues)
        ctx.addIssue({ code: "custom", path: ["attrs", ...issue.path.map(String)], message: issue.message });
  });
type Pool = { from: string; to: string };
/** What the form holds: text, as typed. */
export type FormIn = {
  name: string;
  description: string;
  attrs: {
    driver: (typeof DRIVERS)[number];
    networkType: (typeof NETWORK_TYPES)[number];
    phydev: string;
    mtu: string;
    vlanPool: Pool;
    vniPool: Pool;
    clusterIds: string[];
    subnet: string;
    gateway: string;
    defaultSize: string;
    maxSize: string;
    allowIpv6: boolean;
    labels: string;
    dns: string;
    qosTiers: { name: string; inbound: string; outbound: string }[];
  };
};
export type FormOut = z.output<typeof formSchema>;

const rateOrBlank = (bps?: number) => (bps ? formatRate(bps) : "");

export function defaults(t?: { name: string; description: string; attrs: TemplateAttrs }): FormIn {
  const a = t?.attrs;
  return {
    name: t?.name ?? "",
    description: t?.description ?? "",
    attrs: {
      driver: a?.driver ?? "bridge",
      networkType: a?.networkType ?? "internal",
      phydev: a?.phydev ?? "",
      mtu: a?.mtu ? String(a.mtu) : "",
      vlanPool: {
        from: a?.vlanPool ? String(a.vlanPool.from) : "",
        to: a?.vlanPool ? String(a.vlanPool.to) : "",
      },
      vniPool: { from: a?.vniPool ? String(a.vniPool.from) : "", to: a?.vniPool ? String(a.vniPool.to) : "" },
      clusterIds: (a?.clusterIds ?? [0]).map(String),
      subnet: a?.subnet ?? "10.128.0.0/24",
      gateway: a?.gateway ?? "",
      defaultSize: String(a?.defaultSize ?? 100),
      maxSize: String(a?.maxSize ?? 253),
      allowIpv6: a?.allowIpv6 ?? true,
      labels: (a?.labels ?? []).join(", "),
      dns: (a?.context?.dns ?? []).join(", "),
      qosTiers: (a?.qosTiers ?? []).map((q) => ({
        name: q.name,
        inbound: rateOrBlank(q.qos.inboundAvgBps),
        outbound: rateOrBlank(q.qos.outboundAvgBps),
      })),
    },
  };
}
