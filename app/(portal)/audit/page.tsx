"use client";
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState } from "react";
import { formatDateTime } from "@/components/format";
import { AdminOnly } from "@/components/session";
import { useTRPCClient } from "@/components/trpc";
import { Button } from "@/components/ui/button";
import { type Column, DataTable } from "@/components/ui/data-table";
import { Field, Input, Select } from "@/components/ui/field";
import { Badge, EmptyState, LoadFailed, PageHeader, Panel, type Tone } from "@/components/ui/misc";
import { AUDIT_OUTCOMES } from "@/lib/domain";
import type { AppRouter } from "@/server/routers/root";

type Entry = inferRouterOutputs<AppRouter>["audit"]["list"]["rows"][number];
type Outcome = (typeof AUDIT_OUTCOMES)[number];

const PAGE = 50;
const OBJECT_TYPES = [
  "vnet",
  "template",
  "instance",
  "node",
  "user",
  "group",
  "sg",
  "range",
  "lease",
  "quota",
];
const OUTCOME_TONE: Record<Outcome, Tone> = { ok: "green", refused: "amber", error: "red" };

const COLUMNS: Column<Entry>[] = [
  {
    key: "at",
    header: "Time",
    cell: (e) => <span className="whitespace-nowrap">{formatDateTime(e.at)}</span>,
  },
  { key: "actor", header: "Actor", cell: (e) => <span className="font-medium">{e.actor}</span> },
  { key: "action", header: "Action", cell: (e) => <code className="font-mono text-[13px]">{e.action}</code> },
  {
    key: "object",
    header: "Object",
    cell: (e) =>
      e.objectType ? (
        <span className="whitespace-nowrap">
          <span className="text-slate-500">{e.objectType}</span> {e.objectName ?? `#${e.objectId ?? "?"}`}
        </span>
      ) : (
        <span className="text-slate-400">—</span>
      ),
  },
  {
    key: "outcome",
    header: "Outcome",
    cell: (e) => <Badge tone={OUTCOME_TONE[e.outcome]}>{e.outcome}</Badge>,
  },
  {
    key: "detail",
    header: "Detail",
    className: "w-full",
    cell: (e) => (
      <p className="line-clamp-2 max-w-md text-xs break-words text-slate-600" title={e.detail ?? undefined}>
        {e.detail ?? ""}
      </p>
    ),
  },
  {
    key: "ip",
    header: "Source IP",
    cell: (e) => <span className="font-mono text-[13px] whitespace-nowrap">{e.sourceIp ?? "—"}</span>,
  },
];

/** `value`, settled for `ms` (so typing in a filter does not fire a request per key). */
function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/** The export link of the filters shown (the server streams every matching entry). */
function exportHref(format: "csv" | "json", f: Record<string, string | Date | undefined>): string {
  const q = new URLSearchParams({ format });
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v instanceof Date ? v.toISOString() : v);
  return `/api/audit/export?${q}`;
}

export default function AuditPage() {
  return (
    <AdminOnly>
      <Audit />
    </AdminOnly>
  );
}

function Audit() {
  const client = useTRPCClient();
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [outcome, setOutcome] = useState<Outcome | "">("");
  const [objectType, setObjectType] = useState("");
  const [object, setObject] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const filters = {
    actor: useDebounced(actor.trim()) || undefined,
    action: useDebounced(action.trim()) || undefined,
    outcome: outcome || undefined,
    objectType: objectType || undefined,
    object: useDebounced(object.trim()) || undefined,
    // datetime-local is local time; the server compares instants.
    from: from ? new Date(from) : undefined,
    to: to ? new Date(to) : undefined,
  };
  const badRange = Boolean(from && to && new Date(from) > new Date(to));
  const log = useInfiniteQuery({
    queryKey: ["audit-log", filters],
    queryFn: ({ pageParam }) => client.audit.list.query({ ...filters, before: pageParam, limit: PAGE }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.nextBefore ?? undefined,
    placeholderData: keepPreviousData,
  });
  const rows = log.data?.pages.flatMap((p) => p.rows);
  const filtered = Boolean(
    filters.actor || filters.action || filters.outcome || filters.objectType || filters.object || from || to,
  );

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change and every refused attempt: who, what, when and from where."
        actions={
          <>
            {(["csv", "json"] as const).map((format) => (
              <a
                key={format}
                href={exportHref(format, filters)}
                download
                className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-sky-600"
                title={filtered ? "The entries these filters match" : "The whole audit log"}
              >
                Export {format.toUpperCase()}
              </a>
            ))}
            <Button onClick={() => log.refetch()} pending={log.isRefetching && !log.isFetchingNextPage}>
              Refresh
            </Button>
          </>
        }
      />
      <Panel>
        <search
          aria-label="Filter the audit log"
          className="flex flex-wrap items-end gap-3 border-b border-slate-200 px-4 py-3"
        >
          <Field label="User (actor)" className="w-40">
            {(c) => (
              <Input
                {...c}
                placeholder="e.g. admin"
                value={actor}
                onChange={(e) => setActor(e.target.value)}
              />
            )}
          </Field>
          <Field label="Action starts with" className="w-44">
            {(c) => (
              <Input
                {...c}
                placeholder="e.g. vnet."
                value={action}
                onChange={(e) => setAction(e.target.value)}
              />
            )}
          </Field>
          <Field label="Outcome" className="w-40">
            {(c) => (
              <Select {...c} value={outcome} onChange={(e) => setOutcome(e.target.value as Outcome | "")}>
                <option value="">Any</option>
                {AUDIT_OUTCOMES.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Object type" className="w-36">
            {(c) => (
              <Select {...c} value={objectType} onChange={(e) => setObjectType(e.target.value)}>
                <option value="">Any</option>
                {OBJECT_TYPES.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Object (id or name)" className="w-44">
            {(c) => (
              <Input
                {...c}
                placeholder="e.g. 12 or net-a"
                value={object}
                onChange={(e) => setObject(e.target.value)}
              />
            )}
          </Field>
          <Field label="From" className="w-52">
            {(c) => (
              <Input {...c} type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
            )}
          </Field>
          <Field label="To" className="w-52" error={badRange ? "Before From" : undefined}>
            {(c) => <Input {...c} type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />}
          </Field>
          {filtered && (
            <Button
              variant="ghost"
              onClick={() => {
                setActor("");
                setAction("");
                setOutcome("");
                setObjectType("");
                setObject("");
                setFrom("");
                setTo("");
              }}
            >
              Clear filters
            </Button>
          )}
        </search>
        {log.isError ? (
          <LoadFailed what="the audit log" query={log} />
        ) : (
          <DataTable
            label="Audit log"
            columns={COLUMNS}
            rows={rows}
            rowKey={(e) => e.id}
            loading={log.isPending}
            empty={
              <EmptyState title={filtered ? "No entries match these filters" : "The audit log is empty"}>
                {filtered ? "Loosen a filter to see more." : "Entries appear as soon as anything changes."}
              </EmptyState>
            }
          />
        )}
        {rows && rows.length > 0 && (
          <div className="flex items-center justify-between border-t border-slate-200 px-4 py-3 text-sm text-slate-500">
            <span>
              {rows.length} entr{rows.length === 1 ? "y" : "ies"}
              {log.hasNextPage ? "" : " (all)"}
            </span>
            {log.hasNextPage && (
              <Button onClick={() => log.fetchNextPage()} pending={log.isFetchingNextPage}>
                Load more
              </Button>
            )}
          </div>
        )}
      </Panel>
    </>
  );
}
