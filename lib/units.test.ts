import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatBytesShort,
  formatCountShort,
  formatRate,
  formatSize,
  parseRate,
  parseSize,
  RATE_UNIT_HINT,
  rateText,
  sizeText,
} from "./units";

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
  it("reads a form's rate and size text: blank is no value, a bad one is the field's message", () => {
    expect(rateText().parse(" 100 Mbit/s ")).toBe(100_000_000);
    expect(sizeText().parse("64 KiB")).toBe(65_536);
    expect(rateText().parse("  ")).toBeUndefined();
    const bad = rateText().safeParse("100");
    expect(bad.success ? [] : bad.error.issues.map((i) => i.message)).toEqual([
      `Rate must be a number with a unit (${RATE_UNIT_HINT}), e.g. "100 Mbit/s"`,
    ]);
    const zero = sizeText().safeParse("0 KB");
    expect(zero.success ? [] : zero.error.issues.map((i) => i.message)).toEqual([
      "Size must be greater than zero",
    ]);
  });
});

// One table for what a user may type in a QoS field: the same reading serves the API schemas (VNET
// and NIC caps) and the template form's tiers, so a row here holds for both.
describe("QoS text → value, as a table", () => {
  it.each([
    ["100 Mbit/s", 100_000_000],
    ["100mbit/s", 100_000_000],
    ["1.5 Gbit/s", 1_500_000_000],
    ["10 Mbps", 10_000_000],
    ["800 kbps", 800_000],
    ["250 bit/s", 250],
    ["10 MB/s", 80_000_000],
    ["10 mb/s", 10_000_000],
    ["2 GB/s", 16_000_000_000],
    ["1 KiB/s", 8192],
    ["0.5 GiB/s", 4 * 1024 ** 3],
    [" 12.5  MB/s ", 100_000_000],
  ])("rate %j is %d bit/s", (text, bps) => {
    expect(parseRate(text)).toBe(bps);
  });
  it.each([
    ["10M", /Unknown unit "M"; use kbit\/s, Mbit\/s/],
    ["1.5 Gbit", /Unknown unit "Gbit"/],
    ["64 KB", /Unknown unit "KB"/],
    ["fast", /Rate must be a number with a unit/],
    ["-5 Mbit/s", /Rate must be a number with a unit/],
    ["1e3 kbit/s", /Rate must be a number with a unit/],
    ["0 Mbit/s", /Rate must be greater than zero/],
    ["0.0000001 kbit/s", /Rate must be greater than zero/],
  ])("rate %j is refused: %s", (text, message) => {
    expect(() => parseRate(text)).toThrow(message);
  });
  it.each([
    ["64 KB", 64_000],
    ["64kb", 64_000],
    ["64 KiB", 65_536],
    ["1.5 MB", 1_500_000],
    ["2 MiB", 2 * 1024 ** 2],
    ["1 GB", 1e9],
    ["1500 B", 1500],
    ["256 kbit", 32_000],
    ["8 Mbit", 1_000_000],
  ])("size %j is %d bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });
  it.each([
    ["64", /Size must be a number with a unit \(B, KB/],
    ["64 KB/s", /Unknown unit "KB\/s"; use B, KB/],
    ["1 Gbit", /Unknown unit "Gbit"/],
    ["0 B", /Size must be greater than zero/],
  ])("size %j is refused: %s", (text, message) => {
    expect(() => parseSize(text)).toThrow(message);
  });
});

describe("counter figures", () => {
  it("shows bytes and counts at a glance with three significant digits", () => {
    expect(formatBytesShort(0)).toBe("0 B");
    expect(formatBytesShort(84)).toBe("84 B");
    expect(formatBytesShort(999)).toBe("999 B");
    expect(formatBytesShort(1000)).toBe("1 KB");
    expect(formatBytesShort(12_345)).toBe("12.3 KB");
    expect(formatBytesShort(1_500_000)).toBe("1.5 MB");
    expect(formatBytesShort(3_400_000_000)).toBe("3.4 GB");
    expect(formatCountShort(7)).toBe("7");
    expect(formatCountShort(12_345)).toBe("12.3k");
    expect(formatCountShort(4_500_000)).toBe("4.5M");
  });
  it("never shows four digits before the unit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 52 }), (n) => {
        expect(formatBytesShort(n)).toMatch(/^\d{1,3}(\.\d{1,2})? [KMGTP]?B$/);
      }),
    );
  });
});
