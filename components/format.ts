// Display helpers for dates and durations.

const dateTime = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

const dateOnly = new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "short", day: "2-digit" });

/** "22 Nov 2026, 15:04:05" */
export function formatDateTime(d: Date | string | number | null | undefined): string {
  if (d === null || d === undefined) return "—";
  return dateTime.format(new Date(d));
}

/** "22 Nov 2026" */
export function formatDate(d: Date | string | number | null | undefined): string {
  if (d === null || d === undefined) return "—";
  return dateOnly.format(new Date(d));
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago" (or "in 40 min" for the future). */
export function timeAgo(d: Date | string | number | null | undefined, now = Date.now()): string {
  if (d === null || d === undefined) return "never";
  const diff = Math.round((now - new Date(d).getTime()) / 1000);
  const abs = Math.abs(diff);
  const fmt = (v: number, unit: string) => (diff >= 0 ? `${v} ${unit} ago` : `in ${v} ${unit}`);
  if (abs < 5) return "just now";
  if (abs < 60) return fmt(abs, "s");
  if (abs < 3600) return fmt(Math.floor(abs / 60), "min");
  if (abs < 86400) return fmt(Math.floor(abs / 3600), "h");
  return fmt(Math.floor(abs / 86400), "d");
}
