import type { ReactNode } from "react";
import { Button } from "./button";
import { cx } from "./cx";

export type Tone = "gray" | "green" | "amber" | "red" | "blue";

const TONES: Record<Tone, string> = {
  gray: "bg-slate-100 text-slate-700 ring-slate-500/20",
  green: "bg-emerald-50 text-emerald-800 ring-emerald-600/25",
  amber: "bg-amber-50 text-amber-800 ring-amber-600/25",
  red: "bg-red-50 text-red-700 ring-red-600/25",
  blue: "bg-sky-50 text-sky-800 ring-sky-600/25",
};

/** A short status word in a coloured pill. */
export function Badge({
  tone = "gray",
  children,
  ...rest
}: { tone?: Tone; children: ReactNode } & Omit<React.HTMLAttributes<HTMLSpanElement>, "children">) {
  return (
    <span
      className={cx(
        "inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset",
        TONES[tone],
      )}
      {...rest}
    >
      {children}
    </span>
  );
}

/** A grey placeholder block shown while data loads. */
export function Skeleton({ className }: { className?: string }) {
  return <div aria-hidden className={cx("animate-pulse rounded bg-slate-200", className)} />;
}

/** Title row of a page: heading, one line of context, and the page's main actions. */
export function PageHeader({
  title,
  description,
  actions,
  back,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  back?: ReactNode;
}) {
  return (
    <div className="mb-6">
      {back && <div className="mb-2 text-sm">{back}</div>}
      {/* The page's main action stays top right on every page: a long description wraps beside it
          instead of pushing the buttons onto a line of their own. */}
      <div className="flex items-start justify-between gap-4">
        <div className="min-w-0 flex-1">
          <h1 className="truncate text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
          {description && <p className="mt-1 text-sm text-slate-600">{description}</p>}
        </div>
        {actions && <div className="flex shrink-0 items-center gap-2">{actions}</div>}
      </div>
    </div>
  );
}

/** What a list shows when it has nothing in it, with the way forward. */
export function EmptyState({
  title,
  children,
  action,
}: {
  title: ReactNode;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 px-6 py-14 text-center">
      <div
        aria-hidden
        className="mb-1 grid size-10 place-items-center rounded-full bg-slate-100 text-slate-400"
      >
        <svg
          aria-hidden
          viewBox="0 0 24 24"
          className="size-5"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
        >
          <circle cx="5" cy="12" r="2" />
          <circle cx="19" cy="5" r="2" />
          <circle cx="19" cy="19" r="2" />
          <path d="M7 11l10-5M7 13l10 5" />
        </svg>
      </div>
      <h2 className="text-sm font-semibold text-slate-900">{title}</h2>
      {children && <p className="max-w-md text-sm text-slate-600">{children}</p>}
      {action && <div className="mt-3">{action}</div>}
    </div>
  );
}

/** What a part of a page shows when its data could not be loaded: what failed, the server's
 * message, and Retry (the query's refetch). */
export function LoadFailed({
  what,
  query,
}: {
  /** As the title names it: "Could not load <what>". */
  what: string;
  query: { error: { message: string } | null; refetch: () => unknown };
}) {
  return (
    <EmptyState
      title={`Could not load ${what}`}
      action={<Button onClick={() => query.refetch()}>Retry</Button>}
    >
      {query.error?.message}
    </EmptyState>
  );
}

/** A white box with an optional title, grouping one part of a page. */
export function Panel({
  title,
  actions,
  children,
  className,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section className={cx("rounded-lg bg-white shadow-xs ring-1 ring-slate-200", className)}>
      {title && (
        <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
          <h2 className="text-sm font-semibold text-slate-900">{title}</h2>
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** Used / size with a small bar; amber from 80 %, red when full. */
export function UsageBar({ used, size }: { used: number; size: number }) {
  const pct = size > 0 ? Math.min(100, (used / size) * 100) : 0;
  const color = pct >= 100 ? "bg-red-500" : pct >= 80 ? "bg-amber-500" : "bg-sky-600";
  return (
    <div className="flex items-center gap-2">
      <span className="w-20 text-sm tabular-nums">
        {used} / {size}
      </span>
      <div aria-hidden className="h-1.5 w-20 overflow-hidden rounded-full bg-slate-200">
        <div className={cx("h-full rounded-full", color)} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** The one "not found" page of an object's route: a single heading naming the kind of object, why
 * it may be missing, and the way back to its list. */
export function NotFound({
  what,
  id,
  back,
  children,
}: {
  /** The kind of object as the heading names it ("VNET", "Security group"). */
  what: string;
  id: string;
  /** The link back to the list (shown above the heading and in the panel). */
  back: ReactNode;
  children?: ReactNode;
}) {
  return (
    <>
      <PageHeader title={`${what} not found`} back={back} />
      <Panel>
        <div className="flex flex-col items-center gap-3 px-6 py-14 text-center text-sm text-slate-600">
          <p>
            There is no {what.toLowerCase()} with id {id}, or it is not shared with you. It may have been
            deleted.
          </p>
          {children}
        </div>
      </Panel>
    </>
  );
}
