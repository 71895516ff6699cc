// Address-range math for every AR type, pure (no I/O): which IPv4, IPv6 and MAC a lease at a given
// offset of a range gets, how large a range's spans are (for overlap checks), IPv6 SLAAC from a MAC.
// IPv6 math uses BigInt over ipaddr.js's parsing; nothing here parses addresses by hand.
import ipaddr from "ipaddr.js";
import { intToIp4, ip4ToInt, isIpv6, macFromIp4 } from "./domain";

// ---------------------------------------------------------------------------
// IPv6 and MAC as integers
// ---------------------------------------------------------------------------
/** IPv6 text → 128-bit BigInt. */
export function ip6ToBig(s: string): bigint {
  return ipaddr.IPv6.parse(s)
    .toByteArray()
    .reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** 128-bit BigInt → canonical (RFC 5952, compressed) IPv6 text. */
export function bigToIp6(n: bigint): string {
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) bytes.unshift(Number((n >> BigInt(8 * i)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Whether `s` is an IPv6 address (no prefix). */
export function isIp6(s: string): boolean {
  return isIpv6(s);
}

/** MAC text → 48-bit BigInt. */
export function macToBig(mac: string): bigint {
  return BigInt(`0x${mac.replaceAll(":", "")}`);
}

/** 48-bit BigInt → lower-case MAC text. */
export function bigToMac(n: bigint): string {
  return (n & 0xffffffffffffn).toString(16).padStart(12, "0").match(/../g)!.join(":");
}

/** A random locally administered unicast MAC prefix for ranges without IPv4 (second byte ≠ 0,
 * so it never collides with the 02:00:<IPv4> convention). `rand` returns bytes (tests inject it). */
export function randomMacBase(rand: (n: number) => Uint8Array): string {
  const b = rand(6);
  const second = b[1]! === 0 ? 1 : b[1]!;
  // Leave room for a 16-bit offset in the last two bytes.
  return bigToMac(
    macToBig([0x02, second, b[2]!, b[3]!, 0, 0].map((x) => x.toString(16).padStart(2, "0")).join(":")),
  );
}

// ---------------------------------------------------------------------------
// IPv6 SLAAC (modified EUI-64, RFC 4291 appendix A)
// ---------------------------------------------------------------------------
/** The SLAAC address of `mac` in the /64 `prefix` (e.g. "2001:db8:1::/64" or "2001:db8:1::"). */
export function slaac(prefix: string, mac: string): string {
  const net = ip6ToBig(prefix.split("/")[0]!) & ~((1n << 64n) - 1n);
  const m = macToBig(mac);
  const hi = (m >> 24n) ^ 0x020000n; // flip the universal/local bit
  const lo = m & 0xffffffn;
  const iid = (hi << 40n) | (0xfffen << 24n) | lo;
  return bigToIp6(net | iid);
}

/** Whether `s` is an IPv6 /64 prefix with no host bits set. */
export function isSlaacPrefix(s: string): boolean {
  const [addr, len] = s.split("/");
  if (!addr || !isIp6(addr) || (len !== undefined && len !== "64")) return false;
  return (ip6ToBig(addr) & ((1n << 64n) - 1n)) === 0n;
}

// ---------------------------------------------------------------------------
// Address ranges
// ---------------------------------------------------------------------------
export type ArSpec = {
  type: "ip4" | "ip6" | "ip6_static" | "ip4_6" | "ether";
  size: number;
  ip?: string | null;
  mac?: string | null;
  globalPrefix?: string | null;
  ulaPrefix?: string | null;
  ip6?: string | null;
};

export type LeaseAddrs = {
  ip: string | null;
  ipInt: number | null;
  ip6: string | null;
  ip6Ula: string | null;
  mac: string;
};

/** The addresses of the lease at `offset` (0 ≤ offset < size) of `ar`. */
export function addressAt(ar: ArSpec, offset: number): LeaseAddrs {
  if (offset < 0 || offset >= ar.size)
    throw new RangeError(`offset ${offset} outside range of size ${ar.size}`);
  const ipInt = ar.ip ? ip4ToInt(ar.ip) + offset : null;
  const ip = ipInt === null ? null : intToIp4(ipInt);
  const mac = ar.mac ? bigToMac(macToBig(ar.mac) + BigInt(offset)) : ip ? macFromIp4(ip) : null;
  if (!mac) throw new Error("a range without IPv4 needs a first MAC");
  let ip6: string | null = null;
  let ip6Ula: string | null = null;
  if (ar.ip6) ip6 = bigToIp6(ip6ToBig(ar.ip6) + BigInt(offset));
  else {
    if (ar.globalPrefix) ip6 = slaac(ar.globalPrefix, mac);
    if (ar.ulaPrefix) ip6Ula = slaac(ar.ulaPrefix, mac);
  }
  return { ip, ipInt, ip6, ip6Ula, mac };
}

/** Offset of an IPv4 address inside `ar`, or null when outside. */
export function offsetOfIp4(ar: ArSpec, ip: string): number | null {
  if (!ar.ip) return null;
  const off = ip4ToInt(ip) - ip4ToInt(ar.ip);
  return off >= 0 && off < ar.size ? off : null;
}

/** Offset of a static IPv6 address inside `ar`, or null when outside. */
export function offsetOfIp6(ar: ArSpec, ip6: string): number | null {
  if (!ar.ip6) return null;
  const off = ip6ToBig(ip6) - ip6ToBig(ar.ip6);
  return off >= 0n && off < BigInt(ar.size) ? Number(off) : null;
}

/** Whether [a, a+as) and [b, b+bs) intersect, for BigInt spans. */
export function bigSpansOverlap(a: bigint, as: number, b: bigint, bs: number): boolean {
  return a < b + BigInt(bs) && b < a + BigInt(as);
}

/** The first clash between two ranges of one VNET (IPv4, static IPv6 or MAC), or null. */
export function rangesClash(a: ArSpec, b: ArSpec): string | null {
  if (a.ip && b.ip && bigSpansOverlap(BigInt(ip4ToInt(a.ip)), a.size, BigInt(ip4ToInt(b.ip)), b.size))
    return "IPv4 addresses";
  if (a.ip6 && b.ip6 && bigSpansOverlap(ip6ToBig(a.ip6), a.size, ip6ToBig(b.ip6), b.size))
    return "IPv6 addresses";
  const macA = macToBig(addressAt(a, 0).mac);
  const macB = macToBig(addressAt(b, 0).mac);
  if (bigSpansOverlap(macA, a.size, macB, b.size)) return "MAC addresses";
  return null;
}
