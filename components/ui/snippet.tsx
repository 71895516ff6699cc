"use client";
import { CopyButton } from "./copy-button";

/** A read-only line of configuration with its Copy button. */
export function Snippet({ label, text, testId }: { label: string; text: string; testId?: string }) {
  return (
    <div className="flex flex-col gap-1">
      <div className="flex items-center justify-between gap-2">
        <span className="text-xs font-medium text-slate-600">{label}</span>
        <CopyButton text={text} label={`Copy ${label}`} />
      </div>
      <pre
        data-testid={testId}
        className="overflow-x-auto rounded bg-slate-50 px-2 py-1.5 font-mono text-[12px] whitespace-pre-wrap break-all text-slate-800 ring-1 ring-slate-200"
      >
        {text}
      </pre>
    </div>
  );
}
