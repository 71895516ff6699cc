"use client";
// The Nodes list's filter box, state filter and pager. The server filters, sorts and pages
// (node.list): a fleet of thousands sends the browser one page, not every node every 2 seconds.
import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState } from "react";
import type { z } from "zod";
import type { NODE_SORTS, NODE_STATES, nodeListInput } from "@/lib/schemas";
import type { AppRouter } from "@/server/routers/root";
import { Button } from "../ui/button";
import type { SortState } from "../ui/data-table";
import { Input, Select } from "../ui/field";

type ListInput = z.input<typeof nodeListInput>;
type ListOutput = inferRouterOutputs<AppRouter>["node"]["list"];
export type NodeStateFilter = "all" | (typeof NODE_STATES)[number];
export type NodeSort = (typeof NODE_SORTS)[number];

export const PAGE_SIZE = 50;
const STATE_LABEL: Record<Exclude<NodeStateFilter, "all">, string> = {
  connected: "Connected",
  disconnected: "Disconnected",
  pending: "Pending",
  revoked: "Revoked",
};

/** The list's query: what is typed in the filter box (applied after a short pause), the state,
 * the order and the page; a new filter or order starts again at the first page. */
export function useNodeListInput() {
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [state, setStateRaw] = useState<NodeStateFilter>("all");
  const [sort, setSortRaw] = useState<SortState>({ key: "name", dir: "asc" });
  const [offset, setOffset] = useState(0);
  // A link from elsewhere (the Overview's node list) names the node: /nodes?q=<name>.
  useEffect(() => {
    const given = new URLSearchParams(window.location.search).get("q");
    if (given) {
      setText(given);
      setQ(given);
    }
  }, []);
  useEffect(() => {
    const t = setTimeout(() => {
      setQ(text.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [text]);
  const input: ListInput = {
    q,
    state,
    sort: sort.key as NodeSort,
    dir: sort.dir,
    offset,
    limit: PAGE_SIZE,
  };
  return {
    input,
    text,
    setText,
    state,
    setState: (s: NodeStateFilter) => {
      setStateRaw(s);
      setOffset(0);
    },
    sort,
    /** A header's sort: the same column again flips the direction. */
    toggleSort: (key: string) => {
      setSortRaw((cur) =>
        cur.key === key ? { key, dir: cur.dir === "asc" ? "desc" : "asc" } : { key, dir: "asc" },
      );
      setOffset(0);
    },
    offset,
    setOffset,
    filtered: q !== "" || state !== "all",
    clear: () => {
      setText("");
      setQ("");
      setStateRaw("all");
      setOffset(0);
    },
  };
}

export type NodeListControls = ReturnType<typeof useNodeListInput>;

/** The filter box and the state filter (with the whole fleet's count in each state). */
export function NodeFilters({ c, data }: { c: NodeListControls; data?: ListOutput }) {
  const all = data ? Object.values(data.counts).reduce((a, b) => a + b, 0) : undefined;
  return (
    <div className="flex flex-wrap items-center gap-2 border-b border-slate-200 px-4 py-3">
      {/* The controls fill their box: the boxes set the widths. */}
      <div className="w-96">
        <Input
          type="search"
          aria-label="Filter nodes"
          placeholder="Filter by name, hostname, cluster or VTEP"
          maxLength={64}
          value={c.text}
          onChange={(e) => c.setText(e.target.value)}
        />
      </div>
      <div className="w-52">
        <Select
          aria-label="Node state"
          value={c.state}
          onChange={(e) => c.setState(e.target.value as NodeStateFilter)}
        >
          <option value="all">All states{all === undefined ? "" : ` (${all})`}</option>
          {(Object.keys(STATE_LABEL) as (keyof typeof STATE_LABEL)[]).map((s) => (
            <option key={s} value={s}>
              {STATE_LABEL[s]}
              {data ? ` (${data.counts[s]})` : ""}
            </option>
          ))}
        </Select>
      </div>
      {c.filtered && (
        <Button size="sm" variant="ghost" onClick={c.clear}>
          Clear filter
        </Button>
      )}
      {data && all !== undefined && (
        <span className="ml-auto text-sm text-slate-500" data-testid="node-count">
          {c.filtered
            ? `${data.total.toLocaleString("en")} of ${all.toLocaleString("en")} nodes`
            : `${all.toLocaleString("en")} node${all === 1 ? "" : "s"}`}
        </span>
      )}
    </div>
  );
}

/** "1–50 of 4,000" with Previous / Next; nothing when everything fits on one page. */
export function NodePager({ c, data }: { c: NodeListControls; data?: ListOutput }) {
  if (!data || data.total <= data.limit) return null;
  const first = data.total === 0 ? 0 : data.offset + 1;
  const last = Math.min(data.offset + data.items.length, data.total);
  const pages = Math.ceil(data.total / data.limit);
  const page = Math.floor(data.offset / data.limit) + 1;
  return (
    <nav
      aria-label="Node pages"
      className="flex items-center justify-between gap-3 border-t border-slate-200 px-4 py-2.5 text-sm text-slate-600"
    >
      <span data-testid="node-range">
        {first.toLocaleString("en")}–{last.toLocaleString("en")} of {data.total.toLocaleString("en")} nodes ·
        page {page} of {pages}
      </span>
      <div className="flex gap-2">
        <Button
          size="sm"
          disabled={data.offset === 0}
          onClick={() => c.setOffset(Math.max(0, data.offset - data.limit))}
        >
          Previous
        </Button>
        <Button
          size="sm"
          disabled={data.offset + data.limit >= data.total}
          onClick={() => c.setOffset(data.offset + data.limit)}
        >
          Next
        </Button>
      </div>
    </nav>
  );
}
