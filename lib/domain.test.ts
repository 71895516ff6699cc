import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  intToIp4,
  ip4ToInt,
  ipv4Cidr,
  lowestFree,
  macFromIp4,
  networkOf,
  prefixToMask,
  spansOverlap,
} from "./domain";

const u32 = fc.integer({ min: 0, max: 0xffffffff });

describe("IPv4 address math", () => {
  it("ip4ToInt and intToIp4 are inverse for every 32-bit value", () => {
    fc.assert(fc.property(u32, (n) => ip4ToInt(intToIp4(n)) === n));
  });

  it("networkOf clears exactly the host bits", () => {
    expect(intToIp4(networkOf(ip4ToInt("10.1.2.3"), 24))).toBe("10.1.2.0");
    expect(intToIp4(networkOf(ip4ToInt("10.1.2.3"), 0))).toBe("0.0.0.0");
    expect(intToIp4(networkOf(ip4ToInt("255.255.255.255"), 1))).toBe("128.0.0.0");
    fc.assert(
      fc.property(u32, fc.integer({ min: 0, max: 32 }), (n, p) => {
        const net = networkOf(n, p);
        return net <= n && n - net < 2 ** (32 - p) && networkOf(net, p) === net;
      }),
    );
  });

  it("prefixToMask gives dotted masks", () => {
    expect([0, 8, 24, 30, 32].map(prefixToMask)).toEqual([
      "0.0.0.0",
      "255.0.0.0",
      "255.255.255.0",
      "255.255.255.252",
      "255.255.255.255",
    ]);
  });

  it("macFromIp4 follows OpenNebula's 02:00:<IPv4 bytes> convention and is injective", () => {
    expect(macFromIp4("10.0.0.1")).toBe("02:00:0a:00:00:01");
    fc.assert(
      fc.property(u32, u32, (a, b) => a === b || macFromIp4(intToIp4(a)) !== macFromIp4(intToIp4(b))),
    );
  });

  it("spansOverlap agrees with set intersection", () => {
    const span = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 20 }));
    fc.assert(
      fc.property(span, span, ([a, as], [b, bs]) => {
        const set = new Set(Array.from({ length: as }, (_, i) => a + i));
        const shared = Array.from({ length: bs }, (_, i) => b + i).some((x) => set.has(x));
        return spansOverlap(a, as, b, bs) === shared;
      }),
    );
  });

  it("lowestFree returns the smallest unused address of the span, or null when full", () => {
    expect(lowestFree(10, 5, [])).toBe(10);
    expect(lowestFree(10, 5, [10, 11, 13])).toBe(12);
    expect(lowestFree(10, 3, [10, 11, 12])).toBeNull();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 1100 })),
        (start, size, used) => {
          const got = lowestFree(start, size, used);
          const taken = new Set(used);
          const free = Array.from({ length: size }, (_, i) => start + i).filter((x) => !taken.has(x));
          return got === (free[0] ?? null);
        },
      ),
    );
  });

  it("ipv4Cidr accepts CIDRs and rejects malformed ones", () => {
    for (const ok of ["10.0.0.0/24", "0.0.0.0/0", "192.168.1.7/32"])
      expect(ipv4Cidr.safeParse(ok).success).toBe(true);
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0/24", "300.0.0.0/8", "10.0.0.0/-1", "a/b"])
      expect(ipv4Cidr.safeParse(bad).success).toBe(false);
  });
});
