import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { intToIp4 } from "./domain";
import {
  addressAt,
  bigToIp6,
  bigToMac,
  ip6ToBig,
  isSlaacPrefix,
  offsetOfIp4,
  offsetOfIp6,
  randomMacBase,
  rangesClash,
  slaac,
} from "./ipam";

const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const mac48 = fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }).map(bigToMac);

describe("IPv6 and SLAAC", () => {
  it("ip6ToBig and bigToIp6 are inverse and canonical", () => {
    fc.assert(fc.property(u128, (n) => ip6ToBig(bigToIp6(n)) === n));
    expect(bigToIp6(ip6ToBig("2001:0db8:0000:0000:0000:0000:0000:0001"))).toBe("2001:db8::1");
  });
  it("derives the RFC 4291 modified EUI-64 address from a MAC", () => {
    expect(slaac("2001:db8:1::/64", "52:54:00:12:34:56")).toBe("2001:db8:1:0:5054:ff:fe12:3456");
    expect(slaac("fd00::", "02:00:0a:00:00:01")).toBe("fd00::aff:fe00:1");
  });
  it("SLAAC keeps the prefix and is injective in the MAC", () => {
    fc.assert(
      fc.property(mac48, mac48, (a, b) => {
        const x = slaac("2001:db8:5::/64", a);
        return x.startsWith("2001:db8:5:0:") && (a === b || x !== slaac("2001:db8:5::/64", b));
      }),
    );
  });
  it("accepts only /64 prefixes without host bits", () => {
    expect(["2001:db8::/64", "fd00:1:2:3::", "fd00::/64"].map(isSlaacPrefix)).toEqual([true, true, true]);
    expect(["2001:db8::1/64", "2001:db8::/48", "10.0.0.0/24", "zz::/64"].map(isSlaacPrefix)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("address ranges", () => {
  it("IPv4 ranges give consecutive addresses with 02:00:<IPv4> MACs, or the first MAC plus the offset", () => {
    expect(addressAt({ type: "ip4", ip: "10.0.0.10", size: 5 }, 2)).toMatchObject({
      ip: "10.0.0.12",
      mac: "02:00:0a:00:00:0c",
      ip6: null,
    });
    expect(addressAt({ type: "ip4", ip: "10.0.0.10", size: 5, mac: "02:aa:00:00:00:fe" }, 3).mac).toBe(
      "02:aa:00:00:01:01",
    );
  });
  it("dual-stack ranges give an IPv4 and an IPv6 per lease (static or SLAAC)", () => {
    const st = addressAt({ type: "ip4_6", ip: "10.0.0.1", ip6: "2001:db8::100", size: 10 }, 9);
    expect(st).toMatchObject({ ip: "10.0.0.10", ip6: "2001:db8::109" });
    const sl = addressAt(
      { type: "ip4_6", ip: "10.0.0.1", globalPrefix: "2001:db8::/64", ulaPrefix: "fd00::/64", size: 10 },
      0,
    );
    expect(sl).toMatchObject({ ip: "10.0.0.1", ip6: "2001:db8::aff:fe00:1", ip6Ula: "fd00::aff:fe00:1" });
  });
  it("Ethernet ranges give MACs only", () => {
    expect(addressAt({ type: "ether", mac: "02:11:22:33:00:00", size: 3 }, 2)).toEqual({
      ip: null,
      ipInt: null,
      ip6: null,
      ip6Ula: null,
      mac: "02:11:22:33:00:02",
    });
  });
  it("offsets map back to addresses for every member and only for members", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x0a000000, max: 0x0affffff }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: -5, max: 505 }),
        (start, size, off) => {
          const ar = { type: "ip4" as const, ip: intToIp4(start), size };
          const inside = off >= 0 && off < size;
          return offsetOfIp4(ar, intToIp4(start + off)) === (inside ? off : null);
        },
      ),
    );
    expect(offsetOfIp6({ type: "ip6_static", ip6: "2001:db8::ff", size: 2 }, "2001:db8::100")).toBe(1);
    expect(offsetOfIp6({ type: "ip6_static", ip6: "2001:db8::ff", size: 2 }, "2001:db8::101")).toBeNull();
  });
  it("rangesClash finds shared IPv4, IPv6 or MAC addresses and nothing else", () => {
    expect(
      rangesClash({ type: "ip4", ip: "10.0.0.1", size: 10 }, { type: "ip4", ip: "10.0.0.10", size: 10 }),
    ).toBe("IPv4 addresses");
    expect(
      rangesClash({ type: "ip4", ip: "10.0.0.1", size: 9 }, { type: "ip4", ip: "10.0.0.10", size: 10 }),
    ).toBeNull();
    expect(
      rangesClash(
        { type: "ip6_static", ip6: "::1", mac: "02:01:00:00:00:00", size: 4 },
        { type: "ip6_static", ip6: "::4", mac: "02:02:00:00:00:00", size: 4 },
      ),
    ).toBe("IPv6 addresses");
    expect(
      rangesClash(
        { type: "ether", mac: "02:01:00:00:00:00", size: 4 },
        { type: "ether", mac: "02:01:00:00:00:03", size: 4 },
      ),
    ).toBe("MAC addresses");
  });
  it("random MAC bases are locally administered unicast and never 02:00:…", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const mac = randomMacBase(() => bytes);
        return mac.startsWith("02:") && !mac.startsWith("02:00:") && mac.endsWith(":00:00");
      }),
    );
  });
});

describe("address-range properties", () => {
  const ip4Range = fc.record({
    start: fc.integer({ min: 0x0a000000, max: 0x0a0000ff }),
    size: fc.integer({ min: 1, max: 64 }),
  });
  it("no overlap is accepted: rangesClash reports IPv4 exactly when the spans share an address", () => {
    fc.assert(
      fc.property(ip4Range, ip4Range, (a, b) => {
        const ra = { type: "ip4" as const, ip: intToIp4(a.start), size: a.size };
        const rb = { type: "ip4" as const, ip: intToIp4(b.start), size: b.size };
        const brute = Array.from({ length: a.size }, (_, i) => a.start + i).some(
          (x) => x >= b.start && x < b.start + b.size,
        );
        const clash = rangesClash(ra, rb);
        return clash === rangesClash(rb, ra) && (clash !== null) === brute;
      }),
    );
  });
  it("MACs follow 02:00:<IPv4 bytes> and map back to their offset; explicit first MACs count up", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x0a000000, max: 0x0affff00 }),
        fc.integer({ min: 1, max: 255 }),
        (start, size) => {
          const ar = { type: "ip4" as const, ip: intToIp4(start), size };
          const last = addressAt(ar, size - 1);
          const bytes = last.ip!.split(".").map((x) => Number(x).toString(16).padStart(2, "0"));
          return last.mac === `02:00:${bytes.join(":")}`;
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0x020000000000n, max: 0x02fffffff000n }),
        fc.integer({ min: 0, max: 4095 }),
        (m, off) => {
          const ar = { type: "ether" as const, mac: bigToMac(m), size: 4096 };
          return addressAt(ar, off).mac === bigToMac(m + BigInt(off));
        },
      ),
    );
  });
  it("static IPv6 ranges are consecutive and every member maps back to its offset", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1n << 120n }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 999 }),
        (base, size, off) => {
          const ar = {
            type: "ip6_static" as const,
            ip6: bigToIp6((0x2001n << 112n) | base),
            size,
            mac: "02:01:00:00:00:00",
          };
          const inside = off < size;
          if (!inside) return offsetOfIp6(ar, bigToIp6(ip6ToBig(ar.ip6) + BigInt(off))) === null;
          const a = addressAt(ar, off);
          return offsetOfIp6(ar, a.ip6!) === off && ip6ToBig(a.ip6!) - ip6ToBig(ar.ip6) === BigInt(off);
        },
      ),
    );
  });
  it("dual-stack SLAAC leases carry the IPv6 derived from their own MAC", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), (off) => {
        const ar = {
          type: "ip4_6" as const,
          ip: "10.1.0.1",
          size: 201,
          globalPrefix: "2001:db8:1::/64",
          ulaPrefix: "fd00:1::/64",
        };
        const a = addressAt(ar, off);
        return a.ip6 === slaac("2001:db8:1::/64", a.mac) && a.ip6Ula === slaac("fd00:1::/64", a.mac);
      }),
    );
  });
});
