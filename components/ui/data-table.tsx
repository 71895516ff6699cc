"use client";
import type { ReactNode } from "react";
import { cx } from "./cx";
import { Skeleton } from "./misc";

export type Column<T> = {
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string;
  /** The server-side sort this column's header selects (a button; absent: not sortable). */
  sort?: string;
};

/** The order a table is shown in: which column's sort, which way. */
export type SortState = { key: string; dir: "asc" | "desc" };

type DataTableProps<T> = {
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string | number;
  /** Accessible name of the table. */
  label: string;
  loading?: boolean;
  /** Shown instead of the body when there are no rows. */
  empty?: ReactNode;
  /** Clicking anywhere on a row (except its links and buttons) calls this. */
  onRowClick?: (row: T) => void;
  rowProps?: (row: T) => Record<string, string | undefined>;
  /** The current order; a sortable header's button calls onSort with its column's sort. */
  sort?: SortState;
  onSort?: (key: string) => void;
};

function SortHeader({
  label,
  active,
  onClick,
}: {
  label: ReactNode;
  active?: "asc" | "desc";
  onClick(): void;
}) {
  return (
    <button
      type="button"
      onClick={onClick}
      className="-mx-1 inline-flex items-center gap-1 rounded px-1 uppercase hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-600"
    >
      {label}
      <span aria-hidden className={cx("text-[10px]", !active && "text-slate-300")}>
        {active === "desc" ? "▼" : "▲"}
      </span>
    </button>
  );
}

/** A plain table: header, rows, skeleton while loading, an empty state when there is nothing. */
export function DataTable<T>({
  columns,
  rows,
  rowKey,
  label,
  loading,
  empty,
  onRowClick,
  rowProps,
  sort,
  onSort,
}: DataTableProps<T>) {
  if (!loading && rows && rows.length === 0 && empty) return <>{empty}</>;
  return (
    <div className="overflow-x-auto">
      <table aria-label={label} aria-busy={loading || undefined} className="w-full text-left text-sm">
        <thead>
          <tr className="border-b border-slate-200 bg-slate-50/80">
            {columns.map((c) => {
              const active = c.sort && sort?.key === c.sort ? sort.dir : undefined;
              return (
                <th
                  key={c.key}
                  scope="col"
                  aria-sort={
                    c.sort && onSort
                      ? active === "desc"
                        ? "descending"
                        : active
                          ? "ascending"
                          : "none"
                      : undefined
                  }
                  className={cx(
                    "px-3 py-2.5 text-xs font-semibold first:pl-4 last:pr-4 tracking-wide whitespace-nowrap text-slate-500 uppercase",
                    c.className,
                  )}
                >
                  {c.sort && onSort ? (
                    <SortHeader label={c.header} active={active} onClick={() => onSort(c.sort!)} />
                  ) : (
                    c.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {loading || !rows
            ? [0, 1, 2, 3].map((i) => (
                <tr key={i}>
                  {columns.map((c) => (
                    <td key={c.key} className="px-3 py-3.5 first:pl-4 last:pr-4">
                      <Skeleton className="h-4 w-3/4" />
                    </td>
                  ))}
                </tr>
              ))
            : rows.map((row) => (
                <tr
                  key={rowKey(row)}
                  {...rowProps?.(row)}
                  onClick={
                    onRowClick
                      ? (e) => {
                          if ((e.target as HTMLElement).closest("a,button,input,select,textarea,label"))
                            return;
                          onRowClick(row);
                        }
                      : undefined
                  }
                  className={cx("align-top", onRowClick && "cursor-pointer hover:bg-sky-50/60")}
                >
                  {columns.map((c) => (
                    // The first column is the row's name: short names never break over two lines.
                    <td
                      key={c.key}
                      className={cx("px-3 py-3 first:pl-4 first:whitespace-nowrap last:pr-4", c.className)}
                    >
                      {c.cell(row)}
                    </td>
                  ))}
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  );
}
