// QoS units: users come with OpenNebula's KB/s, Neutron's kbit/s, Proxmox's MB/s. We store bit/s
// for rates and bytes for bursts, accept any of those (SI: k = 1000; Ki = 1024), and always show
// the unit. Pure; shared by the API schemas and the forms.
import { z } from "zod";

const RATE_UNITS: Record<string, number> = {
  "bit/s": 1,
  bps: 1,
  "kbit/s": 1e3,
  kbps: 1e3,
  "mbit/s": 1e6,
  mbps: 1e6,
  "gbit/s": 1e9,
  gbps: 1e9,
  "b/s": 8,
  "kb/s": 8e3,
  "mb/s": 8e6,
  "gb/s": 8e9,
  "kib/s": 8 * 1024,
  "mib/s": 8 * 1024 ** 2,
  "gib/s": 8 * 1024 ** 3,
};
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  bit: 1 / 8,
  kbit: 1e3 / 8,
  mbit: 1e6 / 8,
};

// "MB/s" (bytes) and "Mb/s" (bits) differ only in case: keep the B/b distinction, fold the rest.
function unitKey(unit: string, table: Record<string, number>): number | undefined {
  const u = unit.trim();
  const bytes = /^[kmg]?i?B(\/s)?$/i.test(u) && /B/.test(u);
  const lower = u.toLowerCase();
  if (bytes) return table[lower];
  if (/^[kmg]?b\/s$/i.test(u)) return table[lower.replace("b/s", "bit/s")];
  return table[lower];
}

function parse(text: string, table: Record<string, number>, what: string, units: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z/]+)\s*$/.exec(text);
  if (!m)
    throw new Error(
      `${what} must be a number with a unit (${units}), e.g. "${what === "Rate" ? "100 Mbit/s" : "64 KB"}"`,
    );
  const factor = unitKey(m[2]!, table);
  if (factor === undefined) throw new Error(`Unknown unit "${m[2]}"; use ${units}`);
  const value = Math.round(Number(m[1]) * factor);
  if (value <= 0) throw new Error(`${what} must be greater than zero`);
  return value;
}

export const RATE_UNIT_HINT = "kbit/s, Mbit/s, Gbit/s, KB/s, MB/s, GB/s, KiB/s, MiB/s";
export const SIZE_UNIT_HINT = "B, KB, MB, KiB, MiB, kbit, Mbit";

/** "100 Mbit/s" → 100000000 (bit/s). Throws an Error with a user-facing message. */
export const parseRate = (text: string) => parse(text, RATE_UNITS, "Rate", RATE_UNIT_HINT);
/** "64 KB" → 64000 (bytes). Throws an Error with a user-facing message. */
export const parseSize = (text: string) => parse(text, SIZE_UNITS, "Size", SIZE_UNIT_HINT);

/** A text field with a unit → its value; blank → undefined; a parse error is the field's message. */
function unitText(parse: (text: string) => number) {
  return z
    .string()
    .trim()
    .transform((s, ctx) => {
      if (!s) return undefined;
      try {
        return parse(s);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
    });
}
/** A rate as typed ("100 Mbit/s") → bit/s, blank → undefined; for the API schemas and the forms. */
export const rateText = () => unitText(parseRate);
/** A size as typed ("64 KB") → bytes, blank → undefined; for the API schemas and the forms. */
export const sizeText = () => unitText(parseSize);

function fmt(n: number, steps: [number, string][]): string {
  for (const [f, u] of steps) if (n >= f && n % (f / 1000) === 0) return `${n / f} ${u}`;
  return `${n} ${steps.at(-1)![1]}`;
}
/** 100000000 → "100 Mbit/s". */
export const formatRate = (bps: number) =>
  fmt(bps, [
    [1e9, "Gbit/s"],
    [1e6, "Mbit/s"],
    [1e3, "kbit/s"],
    [1, "bit/s"],
  ]);
/** 65536 → "64 KiB", 64000 → "64 KB". */
export function formatSize(bytes: number): string {
  for (const [f, u] of [
    [1024 ** 2, "MiB"],
    [1024, "KiB"],
  ] as const)
    if (bytes >= f && bytes % f === 0) return `${bytes / f} ${u}`;
  return fmt(bytes, [
    [1e6, "MB"],
    [1e3, "KB"],
    [1, "B"],
  ]);
}

/** Counted amounts at a glance (rule counters): 84 → "84 B", 12_345 → "12.3 KB", 3.4e9 → "3.4 GB";
 * three significant digits, SI units. */
export function formatBytesShort(bytes: number): string {
  return short(bytes, ["B", "KB", "MB", "GB", "TB", "PB"], " ");
}

/** Counts at a glance: 999 → "999", 12_345 → "12.3k", 4_500_000 → "4.5M". */
export function formatCountShort(n: number): string {
  return short(n, ["", "k", "M", "G", "T", "P"], "");
}

function short(n: number, units: string[], sep: string): string {
  let i = 0;
  let v = n;
  while (v >= 999.5 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const text =
    i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  // 12.0 → 12, 1.50 → 1.5: trailing zeros say nothing.
  const trimmed = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  return units[i] ? `${trimmed}${sep}${units[i]}` : trimmed;
}
