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
