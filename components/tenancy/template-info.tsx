"use client";
// A template's attributes as an admin reads them.
import type { ReactNode } from "react";
import type { TemplateAttrs } from "@/lib/templates";
import { formatRate } from "@/lib/units";
import { Panel } from "../ui/misc";

/** "VNI pool 5000–5999" / "VLAN ID pool 100–199 on eth1" / "no pool". */
export function describePool(a: Pick<TemplateAttrs, "vniPool" | "vlanPool" | "phydev">): string {
  if (a.vniPool) return `VNI pool ${a.vniPool.from}–${a.vniPool.to}`;
  if (a.vlanPool)
    return `VLAN ID pool ${a.vlanPool.from}–${a.vlanPool.to}${a.phydev ? ` on ${a.phydev}` : ""}`;
  return "no VLAN/VNI pool";
}

const rate = (bps?: number) => (bps ? formatRate(bps) : "uncapped");

export function TemplateInfo({ attrs: a, vnetCount }: { attrs: TemplateAttrs; vnetCount: number }) {
  const items: [string, ReactNode][] = [
    ["Driver", a.driver],
    ["Network type", a.networkType],
    ["Physical device", a.phydev ?? "—"],
    ["VLAN / VNI", describePool(a)],
    ["MTU", a.mtu ?? 1500],
    [
      "Subnet",
      <span key="s" className="font-mono text-[13px]">
        {a.subnet}
      </span>,
    ],
    [
      "Gateway",
      <span key="g" className="font-mono text-[13px]">
        {a.gateway ?? "first address"}
      </span>,
    ],
    ["Sizes", `${a.defaultSize} by default, up to ${a.maxSize}`],
    ["DNS servers", a.context?.dns?.join(", ") || "—"],
    ["IPv6", a.allowIpv6 ? "users may add a private /64" : "not offered"],
    ["Labels", a.labels.join(", ") || "—"],
    [
      "QoS tiers",
      a.qosTiers
        .map((q) => `${q.name} (${rate(q.qos.inboundAvgBps)} / ${rate(q.qos.outboundAvgBps)})`)
        .join(", ") || "—",
    ],
    [
      "Security groups",
      a.securityGroupIds.map((id) => (id === 0 ? "default (#0)" : `#${id}`)).join(", ") || "none",
    ],
    ["Networks made from it", vnetCount],
  ];
  return (
    <Panel title="Attributes">
      <dl className="grid grid-cols-4 gap-x-6 gap-y-4 p-4">
        {items.map(([k, v]) => (
          <div key={k} className="min-w-0">
            <dt className="text-xs font-medium tracking-wide text-slate-500 uppercase">{k}</dt>
            <dd className="mt-0.5 text-sm break-words text-slate-900">{v}</dd>
          </div>
        ))}
      </dl>
    </Panel>
  );
}
