// What a node serves for IPv6 on a VNET's bridge, from the VNET's address ranges and its IPv6
// gateway: one bridge address per IPv6 prefix (router advertisements and DHCPv6 answer from an
// address in the prefix they serve), the SLAAC prefixes to advertise and the static prefixes
// DHCPv6 leases from. Pure; the server puts the result on the wire (lib/wire.ts, wire 5).
import { bigToIp6, ip6ToBig, isIp6 } from "./ipam";

/** The IPv6 part of one address range. */
export interface Range6 {
  /** SLAAC /64 prefixes (a dual-stack or IPv6 range). */
  globalPrefix?: string | null;
  ulaPrefix?: string | null;
  /** Static first address, with the prefix length of its subnet and the range's size. */
  ip6?: string | null;
  prefixLength6?: number | null;
  size: number;
}

export interface Ipv6Service {
  /** CIDRs on the bridge, one per prefix, in the order of `slaac` then `static`. */
  bridgeAddresses6: string[];
  /** SLAAC prefixes (CIDR, /64) advertised with the autonomous flag. */
  slaac: string[];
  /** Static prefixes (CIDR) whose addresses DHCPv6 hands out to known ports. */
  static: string[];
}

const ONE = 1n;
const mask = (len: number) => ((ONE << 128n) - ONE) ^ ((ONE << BigInt(128 - len)) - ONE);
const netOf = (addr: string, len: number) => ip6ToBig(addr) & mask(len);

/** The IPv6 service of a VNET. The bridge address of a prefix is the VNET's IPv6 gateway when it
 * is inside it, else `<prefix>::1` (a SLAAC address always has ff:fe in its middle, so never ::1),
 * unless a static range of the prefix holds ::1: then that prefix is not served (no address for
 * the node to answer from that no guest could be leased). DHCPv6 and dnsmasq's router
 * advertisements need prefixes of at least /64, and SLAAC exactly /64. */
export function ipv6Service(ranges: Range6[], gateway6?: string | null): Ipv6Service {
  const gw = gateway6 && isIp6(gateway6) ? gateway6 : undefined;
  const statics = ranges
    .filter((r) => r.ip6 && isIp6(r.ip6))
    .map((r) => ({ first: ip6ToBig(r.ip6!), size: r.size, len: r.prefixLength6 ?? 64 }));
  const seen = new Set<string>();
  const out: Ipv6Service = { bridgeAddresses6: [], slaac: [], static: [] };
  const serve = (net: bigint, len: number, kind: "slaac" | "static") => {
    const cidr = `${bigToIp6(net)}/${len}`;
    if (seen.has(cidr)) return;
    const inside = (a: bigint) => (a & mask(len)) === net;
    let addr: bigint | undefined = gw && inside(ip6ToBig(gw)) ? ip6ToBig(gw) : net | ONE;
    const leased = (a: bigint) => statics.some((s) => a >= s.first && a < s.first + BigInt(s.size));
    if (leased(addr)) addr = gw && inside(ip6ToBig(gw)) && !leased(ip6ToBig(gw)) ? ip6ToBig(gw) : undefined;
    if (addr === undefined) return;
    seen.add(cidr);
    out[kind].push(cidr);
    out.bridgeAddresses6.push(`${bigToIp6(addr)}/${len}`);
  };
  // SLAAC prefixes first, so the bridge's addresses come in the order `slaac` then `static`.
  for (const r of ranges)
    for (const p of [r.globalPrefix, r.ulaPrefix]) {
      const a = p?.split("/")[0];
      if (a && isIp6(a)) serve(netOf(a, 64), 64, "slaac");
    }
  for (const s of statics) if (s.len >= 64 && s.len <= 120) serve(s.first & mask(s.len), s.len, "static");
  return out;
}
