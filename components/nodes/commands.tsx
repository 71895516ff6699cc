"use client";
// A list of agent commands as they ran or would run: every line, wrapped (a long nft or ip line
// stays readable), scrolled inside its box when long, with its count and a Copy button for all.
import { CopyButton } from "../ui/copy-button";

export function Commands({
  lines,
  testId,
  label,
  total,
}: {
  lines: string[];
  testId: string;
  /** What the list is, for the Copy button's name ("Copy commands of the last apply"). */
  label: string;
  /** How many operations there were, when the agent sent only the first ones. */
  total?: number;
}) {
  const more = total !== undefined && total > lines.length ? total - lines.length : 0;
  return (
    <div className="space-y-1">
      <div className="flex items-center justify-between text-xs text-slate-500">
        <span data-testid={`${testId}-count`}>
          {lines.length} command{lines.length === 1 ? "" : "s"}
          {more > 0 &&
            ` (the first ${lines.length} of ${total} operations; the agent sends at most that many)`}
        </span>
        <CopyButton text={lines.join("\n")} label={`Copy ${label}`} />
      </div>
      <pre
        className="max-h-72 overflow-y-auto rounded-md bg-slate-950 p-3 font-mono text-xs leading-5 break-all whitespace-pre-wrap text-slate-100"
        data-testid={testId}
        // Scrollable content must be reachable by keyboard.
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolled region is focusable so arrow keys scroll it
        tabIndex={0}
      >
        {lines.join("\n")}
      </pre>
    </div>
  );
}
