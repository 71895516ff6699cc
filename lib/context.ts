// Guest context: what a guest needs to configure its NICs, resolved NIC > address range > VNET,
// and rendered as cloud-init network-config (version 2). Pure.
import type { ContextAttrs } from "./domain";
import { prefixToMask } from "./domain";

/** Later layers override earlier ones attribute by attribute; `custom` merges key by key. */
export function resolveContext(...layers: (ContextAttrs | null | undefined)[]): ContextAttrs {
  const out: ContextAttrs = {};
  for (const l of layers) {
    if (!l) continue;
    const { custom, ...rest } = l;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    if (custom) out.custom = { ...out.custom, ...custom };
  }
  return out;
}

export type NicContextInput = {
  idx: number;
  mac: string;
  ip: string | null;
  ip6: string | null;
  prefix: number | null;
  prefix6: number | null;
  context: ContextAttrs;
};

/** Which NIC owns the default route: the first whose context says so, else the first NIC. */
export function defaultRouteNic(nics: { idx: number; context: ContextAttrs }[]): number | null {
  return (nics.find((n) => n.context.defaultRoute) ?? nics[0])?.idx ?? null;
}

/** The per-NIC view shown in the UI and the API (OpenNebula-style context variables). */
export function contextVariables(n: NicContextInput, ownsDefaultRoute: boolean): Record<string, string> {
  const c = n.context;
  const v: Record<string, string> = { MAC: n.mac };
  if (n.ip) v.IP = n.ip;
  if (n.prefix !== null) v.MASK = prefixToMask(n.prefix);
  if (c.subnet) v.NETWORK_ADDRESS = c.subnet.split("/")[0]!;
  if (c.gateway && ownsDefaultRoute) v.GATEWAY = c.gateway;
  if (n.ip6) v.IP6 = n.ip6;
  if (c.gateway6 && ownsDefaultRoute) v.GATEWAY6 = c.gateway6;
  if (c.dns?.length) v.DNS = c.dns.join(" ");
  if (c.searchDomains?.length) v.SEARCH_DOMAIN = c.searchDomains.join(" ");
  if (c.guestMtu) v.MTU = String(c.guestMtu);
  for (const [k, val] of Object.entries(c.custom ?? {})) v[k] = val;
  return v;
}

/** cloud-init network-config v2 for an instance's NICs. */
export function cloudInitNetworkConfig(nics: NicContextInput[]) {
  const gw = defaultRouteNic(nics);
  const ethernets: Record<string, unknown> = {};
  for (const n of nics) {
    const c = n.context;
    const addresses = [
      ...(n.ip && n.prefix !== null ? [`${n.ip}/${n.prefix}`] : []),
      ...(n.ip6 ? [`${n.ip6}/${n.prefix6 ?? 64}`] : []),
    ];
    const routes =
      n.idx === gw
        ? [
            ...(c.gateway ? [{ to: "default", via: c.gateway }] : []),
            ...(c.gateway6 ? [{ to: "::/0", via: c.gateway6 }] : []),
          ]
        : [];
    ethernets[`eth${n.idx}`] = {
      match: { macaddress: n.mac },
      "set-name": `eth${n.idx}`,
      ...(addresses.length ? { addresses } : { dhcp4: true }),
      ...(routes.length ? { routes } : {}),
      ...(c.dns?.length || c.searchDomains?.length
        ? { nameservers: { addresses: c.dns ?? [], search: c.searchDomains ?? [] } }
        : {}),
      ...(c.guestMtu ? { mtu: c.guestMtu } : {}),
    };
  }
  return { version: 2, ethernets };
}

/** VXLAN encapsulation costs 50 bytes of the underlay's MTU (outer Ethernet, IPv4, UDP, VXLAN). */
export const VXLAN_OVERHEAD = 50;

/** The MTU guests are given: the resolved context's guest MTU, else the VNET's MTU (minus the
 * VXLAN overhead on vxlan VNETs, whose MTU is the underlay's). */
export function guestMtu(
  vnet: { driver: string; mtu: number; context: ContextAttrs },
  resolved: ContextAttrs = vnet.context,
): number {
  return resolved.guestMtu ?? (vnet.driver === "vxlan" ? vnet.mtu - VXLAN_OVERHEAD : vnet.mtu);
}

/** The NIC that owns an instance's default route (GATEWAY_IFACE), given each NIC's resolved context. */
export function gatewayNic(nics: { idx: number; context: ContextAttrs }[]): number | null {
  const sorted = [...nics].sort((a, b) => a.idx - b.idx);
  return defaultRouteNic(sorted);
}
