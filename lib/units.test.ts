import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatRate, formatSize, parseRate, parseSize } from "./units";

describe("QoS units", () => {
  it("parses the units peers use into bit/s", () => {
    expect(parseRate("100 Mbit/s")).toBe(100_000_000);
    expect(parseRate("100Mbps")).toBe(100_000_000);
    expect(parseRate("800 kbit/s")).toBe(800_000); // Neutron
    expect(parseRate("1000 KB/s")).toBe(8_000_000); // OpenNebula
    expect(parseRate("12.5 MB/s")).toBe(100_000_000); // Proxmox
    expect(parseRate("10 Mb/s")).toBe(10_000_000); // lower-case b: bits
    expect(parseRate("1 MiB/s")).toBe(8 * 1024 * 1024);
    expect(parseRate("1 Gbit/s")).toBe(1e9);
  });
  it("parses burst sizes into bytes", () => {
    expect(parseSize("64 KB")).toBe(64_000);
    expect(parseSize("64 KiB")).toBe(65_536);
    expect(parseSize("1500 B")).toBe(1500);
    expect(parseSize("256 kbit")).toBe(32_000);
  });
  it("refuses text without a known unit, naming the accepted ones", () => {
    expect(() => parseRate("100")).toThrow(/number with a unit/);
    expect(() => parseRate("100 furlongs/s")).toThrow(/Unknown unit "furlongs\/s"; use kbit\/s/);
    expect(() => parseSize("0 KB")).toThrow(/greater than zero/);
  });
  it("formats with the unit and round-trips", () => {
    expect(formatRate(100_000_000)).toBe("100 Mbit/s");
    expect(formatRate(1_500_000)).toBe("1.5 Mbit/s");
    expect(formatSize(65_536)).toBe("64 KiB");
    expect(formatSize(64_000)).toBe("64 KB");
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e11 }), (n) => parseRate(formatRate(n)) === n));
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e10 }), (n) => parseSize(formatSize(n)) === n));
  });
});
