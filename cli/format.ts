// Human output: aligned tables and key/value blocks; --json prints the server's answer as it is.

export type Column<T> = [header: string, value: (row: T) => unknown];

function cell(v: unknown): string {
  if (v === null || v === undefined || v === "") return "-";
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(cell).join(",");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function table<T>(rows: T[], columns: Column<T>[], empty = "(none)"): string {
  if (rows.length === 0) return empty;
  const cells = rows.map((r) => columns.map(([, f]) => cell(f(r))));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (cs: string[]) =>
    cs.map((c, i) => (i === cs.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(columns.map(([h]) => h.toUpperCase())), ...cells.map(line)].join("\n");
}

export function fields(obj: Record<string, unknown>, keys: string[]): string {
  const w = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${`${k}:`.padEnd(w + 1)} ${cell(obj[k])}`).join("\n");
}
