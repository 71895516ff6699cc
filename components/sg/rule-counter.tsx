"use client";
// A rule's hits and bytes beside it in the rules table, from the nodes' reports (sg.counters),
// polled while the page is open. The figure is a total since the rule was created, summed over the
// nodes its group is on; the tooltip says what exactly is counted.
import { useQuery } from "@tanstack/react-query";
import { formatBytesShort, formatCountShort } from "@/lib/units";
import { timeAgo } from "../format";
import { useTRPC } from "../trpc";
import type { SgCounters } from "./types";

/** How often the counters are re-read (the agents report them at most every 2 s). */
export const COUNTER_POLL_MS = 3_000;

/** The group's counters by rule id, refreshed every few seconds; empty for a group not yet saved. */
export function useRuleCounters(sgId: number | null): Map<number, SgCounters["rules"][number]> {
  const trpc = useTRPC();
  const q = useQuery({
    ...trpc.sg.counters.queryOptions({ id: sgId ?? -1 }),
    enabled: sgId !== null,
    refetchInterval: COUNTER_POLL_MS,
  });
  return new Map((q.data?.rules ?? []).map((r) => [r.ruleId, r]));
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

/** The cell's content: "hits / bytes", or a dash with the reason there is no figure yet. */
export function RuleCounter({
  sgId,
  ruleId,
  counter,
  edited,
}: {
  sgId: number | null;
  ruleId: number | undefined;
  counter: SgCounters["rules"][number] | undefined;
  /** The row differs from the saved rule: its figure belongs to the saved one. */
  edited: boolean;
}) {
  const name = sgId !== null && ruleId !== undefined ? `sg${sgId}_r${ruleId}` : undefined;
  if (!name)
    return (
      <Figure muted title="Counted once the rule is saved and applied on a node">
        — / —
      </Figure>
    );
  if (!counter)
    return (
      <Figure
        muted
        title={`Counter ${name}: no node has reported it yet (it counts once a NIC using this group runs on a node)`}
      >
        — / —
      </Figure>
    );
  const title = [
    `Counter ${name}: ${plural(counter.packets, "packet")}, ${plural(counter.bytes, "byte")} accepted by this rule since it was created, summed over ${plural(counter.nodes, "node")}.`,
    "A rule accepts the first packet of each new connection it allows; the rest of the connection and its replies pass as established and are not counted here.",
    counter.resets > 0
      ? `A node's kernel counter restarted ${plural(counter.resets, "time")} (node reboot, or the table reloaded outside Bridgehead); what was counted before is kept.`
      : "",
    `Last reported ${timeAgo(counter.updatedAt)}.`,
    edited ? "Figures are for the saved rule; save to count the edited one." : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <Figure muted={counter.packets === 0} title={title}>
      {formatCountShort(counter.packets)} / {formatBytesShort(counter.bytes)}
    </Figure>
  );
}

function Figure({ muted, title, children }: { muted: boolean; title: string; children: React.ReactNode }) {
  return (
    <span
      className={`mt-1.5 inline-block tabular-nums ${muted ? "text-slate-400" : "font-medium text-slate-800"}`}
      data-testid="rule-counter"
      title={title}
    >
      {children}
    </span>
  );
}
