"use client";
// Small pieces the VNET pages share: types of the API's answers, formatting, the refresh helper.
import { useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { InputHTMLAttributes, ReactNode } from "react";
import type { ContextAttrs, Qos } from "@/lib/domain";
import { formatRate, formatSize } from "@/lib/units";
import type { AppRouter } from "@/server/routers/root";
import { useTRPC } from "../trpc";

type Out = inferRouterOutputs<AppRouter>;
export type Vnet = Out["vnet"]["get"];
export type Range = Vnet["ranges"][number];
export type LeaseRow = Out["lease"]["list"]["rows"][number];
export type VnetNic = Out["vnet"]["nics"][number];

export const mono = (s: ReactNode) => <span className="font-mono text-[13px]">{s}</span>;

export const AR_TYPE_LABEL: Record<Range["type"], string> = {
  ip4: "IPv4",
  ip6: "IPv6 (SLAAC)",
  ip6_static: "IPv6 static",
  ip4_6: "Dual stack",
  ether: "Ethernet",
};

/** Invalidates everything about VNETs and leases (after any change on a VNET's page). */
export function useRefreshVnet() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  return () =>
    Promise.all([
      qc.invalidateQueries(trpc.vnet.pathFilter()),
      qc.invalidateQueries(trpc.lease.pathFilter()),
      qc.invalidateQueries(trpc.range.pathFilter()),
    ]);
}

/** The context as the form edits it (text fields), from the stored shape. */
export function contextToForm(c: ContextAttrs | null | undefined) {
  return {
    subnet: c?.subnet ?? "",
    gateway: c?.gateway ?? "",
    gateway6: c?.gateway6 ?? "",
    dns: c?.dns?.join(", ") ?? "",
    searchDomains: c?.searchDomains?.join(", ") ?? "",
    guestMtu: c?.guestMtu === undefined ? "" : String(c.guestMtu),
    defaultRoute: c?.defaultRoute ?? false,
    custom: Object.entries(c?.custom ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  };
}

/** The QoS caps as the form edits them, shown in the units they format best in. */
export function qosToForm(q: Qos | null | undefined) {
  const r = (n?: number) => (n === undefined ? "" : formatRate(n));
  const s = (n?: number) => (n === undefined ? "" : formatSize(n));
  return {
    inboundAvg: r(q?.inboundAvgBps),
    inboundPeak: r(q?.inboundPeakBps),
    inboundBurst: s(q?.inboundBurstBytes),
    outboundAvg: r(q?.outboundAvgBps),
    outboundPeak: r(q?.outboundPeakBps),
    outboundBurst: s(q?.outboundBurstBytes),
  };
}

/** "8 Mbit/s (1 MB/s)": a rate in bits and bytes, so OpenNebula and Proxmox users both read it. */
export function showRate(bps?: number): string {
  if (bps === undefined) return "uncapped";
  const bytes = bps / 8;
  const b = bytes >= 1e6 ? `${+(bytes / 1e6).toFixed(3)} MB/s` : `${+(bytes / 1e3).toFixed(3)} KB/s`;
  return `${formatRate(bps)} (${b})`;
}

export function qosSummary(q: Qos | null | undefined, dir: "inbound" | "outbound"): string {
  const avg = q?.[`${dir}AvgBps`];
  if (avg === undefined) return "uncapped";
  const peak = q?.[`${dir}PeakBps`];
  const burst = q?.[`${dir}BurstBytes`];
  return [formatRate(avg), peak && `peak ${formatRate(peak)}`, burst && `burst ${formatSize(burst)}`]
    .filter(Boolean)
    .join(", ");
}

/** The admin's explicit "allow overlap" choice (the server refuses addresses another VNET of a
 * shared cluster uses without it, and records it in the audit log); nothing for other users. */
export function AllowOverlapField({
  admin,
  error,
  ...input
}: InputHTMLAttributes<HTMLInputElement> & { admin: boolean; error?: string }) {
  if (!admin) return null;
  return (
    <div className="col-span-2">
      <label className="flex items-center gap-2 text-sm text-slate-700">
        <input type="checkbox" className="size-4 accent-sky-700" {...input} />
        Allow overlap with another VNET's addresses
      </label>
      <p className={error ? "mt-1 text-xs text-red-600" : "mt-1 text-xs text-slate-500"}>
        {error ?? "Only for networks that never share a segment; the audit log records it."}
      </p>
    </div>
  );
}
