"use client";
// Every address of a VNET, free ones included, in a virtualized list that fetches only the windows
// in view (a /16 is 65k rows): search, filter by state, hold or release from the row, and the lease
// history below ("who had 10.0.105.12 last Tuesday?").
import { useMutation, useQueries, useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState } from "react";
import { toast } from "sonner";
import type { z } from "zod";
import { holdInput, LEASE_FILTERS, spanInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { formatDateTime } from "../format";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { ConfirmDialog } from "../ui/dialog";
import { Field, Input, Select, TextField } from "../ui/field";
import { Badge, EmptyState, LoadFailed, Panel, Skeleton } from "../ui/misc";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";
import { type LeaseRow, useRefreshVnet, type Vnet } from "./shared";

const PAGE = 200;
const ROW = 40;
const GRID =
  "grid grid-cols-[7.5rem_minmax(0,1.5fr)_8.5rem_5rem_minmax(0,1fr)_8.5rem_7.5rem] items-center gap-3";
const FILTER_LABEL: Record<(typeof LEASE_FILTERS)[number], string> = {
  all: "All addresses",
  leased: "Used or on hold",
  used: "Used",
  hold: "On hold",
  free: "Free",
};

/** The address a lease is named by in API calls (MACs locate every range type). */
const keyOf = (l: LeaseRow) => l.ip ?? l.mac;
const shownAddr = (l: LeaseRow) => l.ip ?? l.ip6 ?? l.mac;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function LeasesTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 250);
  const [state, setState] = useState<(typeof LEASE_FILTERS)[number]>("all");
  const [holding, setHolding] = useState<{ from: string; to: string } | null>(null);
  const [releasing, setReleasing] = useState<LeaseRow | null>(null);
  const [releasingSpan, setReleasingSpan] = useState(false);
  const [historyOf, setHistoryOf] = useState("");
  const historyRef = useRef<HTMLDivElement>(null);

  const scrollRef = useRef<HTMLDivElement>(null);
  const base = { vnetId: vnet.id, state, q, limit: PAGE };
  const first = useQuery({
    ...trpc.lease.list.queryOptions({ ...base, offset: 0 }),
    placeholderData: (p) => p,
  });
  const total = first.data?.total ?? 0;
  const virt = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  const items = virt.getVirtualItems();
  const pages = useMemo(() => {
    const set = new Set<number>();
    for (const it of items) set.add(Math.floor(it.index / PAGE));
    set.delete(0);
    return [...set].sort((a, b) => a - b);
  }, [items]);
  const more = useQueries({
    queries: pages.map((p) => trpc.lease.list.queryOptions({ ...base, offset: p * PAGE })),
  });
  const rowAt = (i: number): LeaseRow | undefined => {
    const p = Math.floor(i / PAGE);
    const data = p === 0 ? first.data : more[pages.indexOf(p)]?.data;
    return data?.rows[i - p * PAGE];
  };
  // Back to the top when the filter changes (the old scroll offset means nothing in the new list).
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on filter change only
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [q, state]);

  const release = useMutation(
    trpc.lease.release.mutationOptions({
      onSuccess: (_r, v) => {
        toast.success(`${v.from} released; it can be leased again`);
        setReleasing(null);
        return refresh();
      },
      onError: (e) => {
        setReleasing(null);
        toast.error(errorMessage(e));
      },
    }),
  );
  const manage = vnet.canManage && !vnet.lockLevel;

  return (
    <>
      <Panel
        title="Addresses"
        actions={
          manage && (
            <div className="flex gap-2">
              <Button size="sm" onClick={() => setReleasingSpan(true)} disabled={vnet.held === 0}>
                Release addresses…
              </Button>
              <Button size="sm" variant="primary" onClick={() => setHolding({ from: "", to: "" })}>
                Hold addresses…
              </Button>
            </div>
          )
        }
      >
        <div className="flex flex-wrap items-center gap-3 border-b border-slate-200 px-4 py-3">
          <Input
            type="search"
            aria-label="Search addresses"
            placeholder="Address, MAC, instance or reason"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            className="max-w-xs"
          />
          <Select
            aria-label="State"
            value={state}
            onChange={(e) => setState(e.target.value as typeof state)}
            className="w-44!"
          >
            {LEASE_FILTERS.map((f) => (
              <option key={f} value={f}>
                {FILTER_LABEL[f]}
              </option>
            ))}
          </Select>
          <span className="ml-auto text-sm text-slate-500" data-testid="address-count">
            {first.isPending ? "…" : `${total.toLocaleString("en")} ${total === 1 ? "address" : "addresses"}`}{" "}
            · {vnet.used} used, {vnet.held} on hold of {vnet.size.toLocaleString("en")}
          </span>
        </div>
        {first.isError ? (
          <LoadFailed what="the addresses" query={first} />
        ) : !first.isPending && total === 0 ? (
          <EmptyState
            title={
              q
                ? "No address matches"
                : state === "all"
                  ? "No addresses"
                  : `No ${FILTER_LABEL[state].toLowerCase()} addresses`
            }
          >
            {q
              ? `Nothing matches “${q}”. Search by IPv4, IPv6, MAC, instance or hold reason.`
              : "Add an address range to lease addresses from."}
          </EmptyState>
        ) : (
          <div ref={scrollRef} className="h-[30rem] overflow-auto" data-testid="address-scroller">
            <table aria-label="Addresses" aria-rowcount={total} className="grid w-full text-sm">
              <thead className="sticky top-0 z-10 grid bg-slate-50">
                <tr
                  className={`${GRID} border-b border-slate-200 px-4 py-2.5 text-left text-xs font-semibold tracking-wide text-slate-500 uppercase`}
                >
                  <th scope="col">Address</th>
                  <th scope="col">IPv6</th>
                  <th scope="col">MAC</th>
                  <th scope="col">State</th>
                  <th scope="col">Instance / reason</th>
                  <th scope="col">Since / until</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="relative grid" style={{ height: virt.getTotalSize() }}>
                {items.map((it) => {
                  const l = rowAt(it.index);
                  return (
                    <tr
                      key={it.key}
                      aria-rowindex={it.index + 2}
                      className={`${GRID} absolute inset-x-0 border-b border-slate-100 px-4`}
                      style={{ height: ROW, transform: `translateY(${it.start}px)` }}
                    >
                      {l ? (
                        <LeaseCells
                          l={l}
                          manage={manage}
                          onHold={() => setHolding({ from: keyOf(l), to: "" })}
                          onRelease={() => setReleasing(l)}
                          onHistory={() => {
                            setHistoryOf(l.ip ?? l.mac);
                            historyRef.current?.scrollIntoView({ behavior: "smooth" });
                          }}
                        />
                      ) : (
                        <td className="col-span-7">
                          <Skeleton className="h-4 w-2/3" />
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      <div ref={historyRef}>
        <HistoryPanel vnetId={vnet.id} address={historyOf} onAddress={setHistoryOf} />
      </div>
      {holding && <HoldDialog vnet={vnet} initial={holding} onClose={() => setHolding(null)} />}
      {releasingSpan && <ReleaseSpanDialog vnet={vnet} onClose={() => setReleasingSpan(false)} />}
      {releasing && (
        <ConfirmDialog
          open
          tone="primary"
          onClose={() => setReleasing(null)}
          title={`Release ${shownAddr(releasing)}?`}
          confirmLabel="Release"
          pending={release.isPending}
          onConfirm={() => release.mutate({ vnetId: vnet.id, from: keyOf(releasing) })}
        >
          {shownAddr(releasing)} is on hold{releasing.reason ? ` (“${releasing.reason}”)` : ""}. Released, it
          becomes free and the next NIC may get it.
        </ConfirmDialog>
      )}
    </>
  );
}

function LeaseCells({
  l,
  manage,
  onHold,
  onRelease,
  onHistory,
}: {
  l: LeaseRow;
  manage: boolean;
  onHold: () => void;
  onRelease: () => void;
  onHistory: () => void;
}) {
  const addr = shownAddr(l);
  return (
    <>
      <td className="truncate font-mono text-[13px]">{l.ip ?? "—"}</td>
      <td
        className="truncate font-mono text-[11.5px]"
        title={[l.ip6, l.ip6Ula].filter(Boolean).join(" ") || undefined}
      >
        {l.ip6 ?? l.ip6Ula ?? "—"}
      </td>
      <td className="font-mono text-[11.5px]">{l.mac}</td>
      <td>
        <Badge tone={l.state === "used" ? "green" : l.state === "hold" ? "amber" : "gray"}>
          {l.state === "hold" ? "on hold" : l.state}
        </Badge>
      </td>
      <td className="truncate" title={l.reason ?? undefined}>
        {l.state === "used"
          ? `${l.instance ?? "a NIC"}${l.nicIdx !== null ? ` eth${l.nicIdx}` : ""}`
          : (l.reason ?? "")}
        {l.state === "hold" && l.by && <span className="text-slate-400"> · {l.by}</span>}
      </td>
      <td className="truncate text-xs text-slate-600">
        {l.state === "hold" && l.expiresAt
          ? `until ${formatDateTime(l.expiresAt)}`
          : l.since
            ? formatDateTime(l.since)
            : ""}
      </td>
      <td className="flex justify-end gap-1">
        {manage && l.state === "free" && (
          <Button size="sm" onClick={onHold} aria-label={`Hold ${addr}`}>
            Hold
          </Button>
        )}
        {manage && l.state === "hold" && (
          <Button size="sm" onClick={onRelease} aria-label={`Release ${addr}`}>
            Release
          </Button>
        )}
        <Button size="sm" variant="ghost" onClick={onHistory} aria-label={`History of ${addr}`}>
          History
        </Button>
      </td>
    </>
  );
}

type HoldForm = z.input<typeof holdInput>;

function HoldDialog({
  vnet,
  initial,
  onClose,
}: {
  vnet: Vnet;
  initial: { from: string; to: string };
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const hold = useMutation(
    trpc.lease.hold.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      title="Hold addresses"
      description={`Held addresses stay part of ${vnet.name} but are never handed out until released.`}
      label="Hold addresses"
      submitLabel="Hold"
      resolver={apiSchema(holdInput)}
      defaultValues={{
        vnetId: vnet.id,
        from: initial.from,
        to: initial.to,
        reason: "",
        expiresAt: undefined,
      }}
      mutation={hold}
      success={(r, v) =>
        r.held === 1
          ? `${v.from} is on hold: ${v.reason}`
          : `${r.held} addresses from ${v.from} to ${v.to} are on hold: ${v.reason}`
      }
    >
      {(form: FormOf<HoldForm>) => {
        const e = form.formState.errors;
        return (
          <div className="grid grid-cols-2 gap-x-4 gap-y-3">
            <TextField
              label="From"
              placeholder="10.0.0.20"
              autoFocus={!initial.from}
              error={e.from?.message}
              {...form.register("from")}
            />
            <TextField
              label="To (optional)"
              placeholder="same as From"
              error={e.to?.message}
              {...form.register("to")}
            />
            <TextField
              label="Reason"
              placeholder="e.g. router VIP, printer"
              autoFocus={Boolean(initial.from)}
              fieldClassName="col-span-2"
              error={e.reason?.message}
              {...form.register("reason")}
            />
            <TextField
              label="Expires (optional)"
              type="datetime-local"
              hint="Released automatically after this time"
              fieldClassName="col-span-2"
              error={e.expiresAt?.message}
              {...form.register("expiresAt", { setValueAs: (v: string) => (v ? new Date(v) : undefined) })}
            />
          </div>
        );
      }}
    </MutationDialog>
  );
}

type SpanForm = z.input<typeof spanInput>;

/** Releases every hold between two addresses (used addresses in the span are refused, named). */
function ReleaseSpanDialog({ vnet, onClose }: { vnet: Vnet; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const release = useMutation(
    trpc.lease.release.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      title="Release held addresses"
      description={`Every hold from the first to the last address is released; ${vnet.held} address${vnet.held === 1 ? " is" : "es are"} on hold in ${vnet.name}.`}
      label="Release held addresses"
      submitLabel="Release"
      resolver={apiSchema(spanInput)}
      defaultValues={{ vnetId: vnet.id, from: "", to: "" }}
      mutation={release}
      success={(r) => `${r.released} held address${r.released === 1 ? "" : "es"} released`}
    >
      {(form: FormOf<SpanForm>) => (
        <div className="grid grid-cols-2 gap-x-4 gap-y-3">
          <TextField
            label="From"
            autoFocus
            placeholder="10.0.0.20"
            error={form.formState.errors.from?.message}
            {...form.register("from")}
          />
          <TextField
            label="To (optional)"
            placeholder="same as From"
            error={form.formState.errors.to?.message}
            {...form.register("to")}
          />
        </div>
      )}
    </MutationDialog>
  );
}

type HistoryRow = {
  id: number;
  at: Date;
  action: string;
  ip: string | null;
  ip6: string | null;
  mac: string | null;
  instance: string | null;
  user: string | null;
  reason: string | null;
};

const ACTION_LABEL: Record<string, [string, "green" | "gray" | "amber" | "blue"]> = {
  allocate: ["allocated", "green"],
  release: ["released", "gray"],
  hold: ["held", "amber"],
  unhold: ["hold released", "blue"],
};

const HISTORY_COLUMNS: Column<HistoryRow>[] = [
  {
    key: "at",
    header: "When",
    cell: (h) => <span className="whitespace-nowrap">{formatDateTime(h.at)}</span>,
  },
  {
    key: "action",
    header: "What",
    cell: (h) => {
      const [label, tone] = ACTION_LABEL[h.action] ?? [h.action, "gray"];
      return <Badge tone={tone}>{label}</Badge>;
    },
  },
  {
    key: "addr",
    header: "Address",
    cell: (h) => <span className="font-mono text-[13px]">{h.ip ?? h.ip6 ?? h.mac}</span>,
  },
  { key: "mac", header: "MAC", cell: (h) => <span className="font-mono text-[12px]">{h.mac}</span> },
  { key: "instance", header: "Instance", cell: (h) => h.instance ?? "—" },
  { key: "user", header: "By", cell: (h) => h.user ?? "—" },
  { key: "reason", header: "Reason", cell: (h) => h.reason ?? "" },
];

function HistoryPanel({
  vnetId,
  address,
  onAddress,
}: {
  vnetId: number;
  address: string;
  onAddress: (a: string) => void;
}) {
  const trpc = useTRPC();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const addr = useDebounced(address.trim(), 250);
  const history = useQuery(
    trpc.lease.history.queryOptions({
      vnetId,
      address: addr || undefined,
      from: from ? new Date(`${from}T00:00:00`) : undefined,
      to: to ? new Date(`${to}T23:59:59.999`) : undefined,
      limit: 200,
    }),
  );
  return (
    <Panel title="Lease history">
      <div className="flex flex-wrap items-end gap-3 border-b border-slate-200 px-4 py-3">
        <Field label="Address or MAC">
          {(c) => (
            <Input
              {...c}
              value={address}
              onChange={(e) => onAddress(e.target.value)}
              placeholder="10.0.105.12"
              className="w-56"
            />
          )}
        </Field>
        <Field label="From day">
          {(c) => (
            <Input
              {...c}
              type="date"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
              className="w-44!"
            />
          )}
        </Field>
        <Field label="To day">
          {(c) => (
            <Input {...c} type="date" value={to} onChange={(e) => setTo(e.target.value)} className="w-40" />
          )}
        </Field>
        {(address || from || to) && (
          <Button
            onClick={() => {
              onAddress("");
              setFrom("");
              setTo("");
            }}
          >
            Clear
          </Button>
        )}
      </div>
      {history.isError ? (
        <LoadFailed what="the history" query={history} />
      ) : (
        <DataTable
          label="Lease history"
          columns={HISTORY_COLUMNS}
          rows={history.data}
          loading={history.isPending}
          rowKey={(h) => h.id}
          empty={
            <EmptyState title="No lease events">
              {addr || from || to
                ? "Nothing was allocated, held or released matching this filter."
                : "Allocations, holds and releases show here."}
            </EmptyState>
          }
        />
      )}
    </Panel>
  );
}
