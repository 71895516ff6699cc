"use client";
// Address ranges of a live VNET: add (every AR type), resize, per-range context, remove.
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { Resolver } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import { AR_TYPES, intToIp4, ip4ToInt, macFromIp4 } from "@/lib/domain";
import { addressAt, bigToIp6, ip6ToBig } from "@/lib/ipam";
import { arAddInput, arResizeInput } from "@/lib/schemas";
import { apiSchema } from "../form";
import { useMe } from "../session";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { ConfirmDialog } from "../ui/dialog";
import { Field, Select, TextField } from "../ui/field";
import { Badge, EmptyState, Panel } from "../ui/misc";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";
import { RangeContextDialog } from "./context-form";
import { AllowOverlapField, AR_TYPE_LABEL, mono, type Range, useRefreshVnet, type Vnet } from "./shared";

export const lastIp = (r: Range) => (r.ip ? intToIp4((ip4ToInt(r.ip) + r.size - 1) >>> 0) : null);

function ipv6Of(r: Range): string | null {
  if (r.ip6)
    return `${r.ip6} – ${bigToIp6(ip6ToBig(r.ip6) + BigInt(r.size - 1))
      .split(":")
      .at(-1)}`;
  const p = [r.globalPrefix, r.ulaPrefix].filter(Boolean).join(", ");
  return p ? `SLAAC ${p}` : null;
}

function firstMac(r: Range): string {
  try {
    return addressAt(r, 0).mac;
  } catch {
    return r.ip ? macFromIp4(r.ip) : "—";
  }
}

/** The compact read-only table (overview) and the managed one (Address ranges tab). */
export function RangesTable({ vnet, actions }: { vnet: Vnet; actions?: (r: Range) => React.ReactNode }) {
  const columns: Column<Range>[] = [
    { key: "id", header: "AR", cell: (r) => r.id },
    {
      key: "type",
      header: "Type",
      cell: (r) => {
        const n = Object.keys(r.context).length;
        return (
          <div className="flex flex-col items-start gap-1">
            <span className="whitespace-nowrap">{AR_TYPE_LABEL[r.type]}</span>
            {n > 0 && (
              <Badge tone="amber">
                {n} context override{n > 1 ? "s" : ""}
              </Badge>
            )}
          </div>
        );
      },
    },
    {
      key: "ip4",
      header: "IPv4",
      cell: (r) =>
        r.ip ? (
          <div className="flex flex-col font-mono text-[13px] whitespace-nowrap">
            <span>{r.ip}</span>
            <span className="text-slate-500">– {lastIp(r)}</span>
          </div>
        ) : (
          "—"
        ),
    },
    {
      key: "ip6",
      header: "IPv6",
      cell: (r) => <span className="font-mono text-[12px] whitespace-nowrap">{ipv6Of(r) ?? "—"}</span>,
    },
    {
      key: "mac",
      header: "First MAC",
      cell: (r) => <span className="font-mono text-[12px]">{firstMac(r)}</span>,
    },
    {
      key: "usage",
      header: "Used",
      cell: (r) => (
        <span className="whitespace-nowrap tabular-nums" title={`${r.used} used, ${r.held} on hold`}>
          {r.used + r.held} / {r.size}
        </span>
      ),
    },
  ];
  if (actions)
    columns.push({
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: actions,
    });
  return (
    <DataTable
      label="Address ranges"
      columns={columns}
      rows={vnet.ranges}
      rowKey={(r) => r.id}
      empty={
        <EmptyState title="No address ranges">This VNET has no addresses to lease. Add a range.</EmptyState>
      }
    />
  );
}

export function RangesTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const [adding, setAdding] = useState(false);
  const [resizing, setResizing] = useState<Range | null>(null);
  const [context, setContext] = useState<Range | null>(null);
  const [removing, setRemoving] = useState<Range | null>(null);
  const remove = useMutation(
    trpc.range.remove.mutationOptions({
      onSuccess: (r) => {
        toast.success(`Address range ${r.id} removed`);
        setRemoving(null);
        return refresh();
      },
      onError: (e) => {
        setRemoving(null);
        toast.error(errorMessage(e));
      },
    }),
  );
  const locked = Boolean(vnet.lockLevel);
  return (
    <Panel
      title={`Address ranges (${vnet.ranges.length})`}
      actions={
        vnet.canManage && (
          <Button
            variant="primary"
            size="sm"
            onClick={() => setAdding(true)}
            disabled={locked}
            title={locked ? "The VNET is locked" : undefined}
          >
            Add range
          </Button>
        )
      }
    >
      <RangesTable
        vnet={vnet}
        actions={
          vnet.canManage
            ? (r) => (
                <div className="flex justify-end gap-1.5">
                  <Button size="sm" onClick={() => setResizing(r)} aria-label={`Resize range ${r.id}`}>
                    Resize
                  </Button>
                  <Button size="sm" onClick={() => setContext(r)} aria-label={`Context of range ${r.id}`}>
                    Context
                  </Button>
                  <Button
                    size="sm"
                    variant="ghost"
                    className="text-red-700"
                    onClick={() => setRemoving(r)}
                    aria-label={`Remove range ${r.id}`}
                  >
                    Remove
                  </Button>
                </div>
              )
            : undefined
        }
      />
      {adding && <AddRangeDialog vnet={vnet} onClose={() => setAdding(false)} />}
      {resizing && <ResizeDialog range={resizing} onClose={() => setResizing(null)} />}
      {context && (
        <RangeContextDialog
          rangeId={context.id}
          context={context.context}
          inherited={vnet.context}
          onClose={() => setContext(null)}
        />
      )}
      {removing && (
        <ConfirmDialog
          open
          onClose={() => setRemoving(null)}
          title={`Remove address range ${removing.id}?`}
          confirmLabel="Remove range"
          pending={remove.isPending}
          onConfirm={() => remove.mutate({ id: removing.id })}
        >
          The {AR_TYPE_LABEL[removing.type]} range starting at{" "}
          <code className="font-mono">{removing.ip ?? removing.ip6 ?? firstMac(removing)}</code> (
          {removing.size} addresses) is removed from {vnet.name}. A range with used or held leases cannot be
          removed.
        </ConfirmDialog>
      )}
    </Panel>
  );
}

type ArType = (typeof AR_TYPES)[number];
type AddForm = {
  vnetId: number;
  allowOverlap: boolean;
  range: {
    type: ArType;
    ip: string;
    ip6: string;
    prefixLength6: string;
    globalPrefix: string;
    ulaPrefix: string;
    size: string;
    mac: string;
  };
};

const NEEDS: Record<ArType, (keyof AddForm["range"])[]> = {
  ip4: ["ip"],
  ip6: ["globalPrefix", "ulaPrefix"],
  ip6_static: ["ip6", "prefixLength6"],
  ip4_6: ["ip", "ip6", "prefixLength6", "globalPrefix", "ulaPrefix"],
  ether: [],
};

function AddRangeDialog({ vnet, onClose }: { vnet: Vnet; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const add = useMutation(
    trpc.range.add.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      size="lg"
      title="Add address range"
      description={`A new range on ${vnet.name}; it may not share an address or MAC with the VNET's other ranges.`}
      label="Add address range"
      submitLabel="Add range"
      // The form holds every type's fields; the schema reads those of the chosen type.
      resolver={apiSchema(arAddInput) as unknown as Resolver<AddForm>}
      defaultValues={{
        vnetId: vnet.id,
        range: {
          type: "ip4",
          ip: "",
          ip6: "",
          prefixLength6: "64",
          globalPrefix: "",
          ulaPrefix: "",
          size: "",
          mac: "",
        },
        allowOverlap: false,
      }}
      mutation={add}
      success={(r) => `Address range ${r.range.id} added (${r.range.size} addresses)`}
      warnings={(r) => r.warnings}
      toVariables={(v) => v as unknown as z.input<typeof arAddInput>}
    >
      {(form: FormOf<AddForm>) => <AddRangeFields form={form} />}
    </MutationDialog>
  );
}

function AddRangeFields({ form }: { form: FormOf<AddForm> }) {
  const me = useMe();
  const type = form.watch("range.type");
  const err = (k: keyof AddForm["range"]) => form.formState.errors.range?.[k]?.message;
  const reg = (k: keyof AddForm["range"]) => form.register(`range.${k}`);
  const shows = (k: keyof AddForm["range"]) => NEEDS[type].includes(k);
  return (
    <div className="grid grid-cols-2 gap-x-4 gap-y-3">
      <Field label="Type" error={err("type")} className="col-span-2">
        {(c) => (
          <Select {...c} {...reg("type")}>
            {AR_TYPES.map((t) => (
              <option key={t} value={t}>
                {AR_TYPE_LABEL[t]}
              </option>
            ))}
          </Select>
        )}
      </Field>
      {shows("ip") && (
        <TextField label="First IPv4" placeholder="10.0.0.100" error={err("ip")} {...reg("ip")} />
      )}
      <TextField label="Size" inputMode="numeric" placeholder="50" error={err("size")} {...reg("size")} />
      {shows("ip6") && (
        <TextField
          label="First IPv6"
          placeholder={type === "ip4_6" ? "static, or use prefixes" : "2001:db8::100"}
          error={err("ip6")}
          {...reg("ip6")}
        />
      )}
      {shows("prefixLength6") && (
        <TextField
          label="IPv6 prefix length"
          inputMode="numeric"
          error={err("prefixLength6")}
          {...reg("prefixLength6")}
        />
      )}
      {shows("globalPrefix") && (
        <TextField
          label="Global /64 prefix (SLAAC)"
          placeholder="2001:db8:1::/64"
          error={err("globalPrefix")}
          {...reg("globalPrefix")}
        />
      )}
      {shows("ulaPrefix") && (
        <TextField
          label="ULA /64 prefix (SLAAC)"
          placeholder="fd00:1::/64"
          error={err("ulaPrefix")}
          {...reg("ulaPrefix")}
        />
      )}
      <TextField
        label="First MAC"
        placeholder={shows("ip") ? "02:00 + IPv4 bytes" : "random, locally administered"}
        hint="Optional"
        error={err("mac")}
        {...reg("mac")}
      />
      <AllowOverlapField
        admin={me.role === "admin"}
        error={form.formState.errors.allowOverlap?.message}
        {...form.register("allowOverlap")}
      />
    </div>
  );
}

type ResizeForm = z.input<typeof arResizeInput>;

function ResizeDialog({ range, onClose }: { range: Range; onClose: () => void }) {
  const me = useMe();
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const resize = useMutation(
    trpc.range.resize.mutationOptions({
      onSuccess: () => refresh(),
    }),
  );
  return (
    <MutationDialog
      onClose={onClose}
      title={`Resize range ${range.id}`}
      label="Resize range"
      submitLabel="Resize"
      resolver={apiSchema(arResizeInput)}
      defaultValues={{ id: range.id, size: String(range.size), allowOverlap: false }}
      mutation={resize}
      success={(r) => `Range ${r.id} now has ${r.size} addresses`}
      warnings={(r) => r.warnings}
    >
      {(form: FormOf<ResizeForm>) => (
        <>
          <p className="mb-3 text-sm text-slate-600">
            {AR_TYPE_LABEL[range.type]} range from {mono(range.ip ?? range.ip6 ?? firstMac(range))},{" "}
            {range.size} addresses, {range.used} used and {range.held} on hold. Shrinking below a lease is
            refused.
          </p>
          <TextField
            label="New size"
            inputMode="numeric"
            autoFocus
            error={form.formState.errors.size?.message}
            {...form.register("size")}
          />
          <div className="mt-3">
            <AllowOverlapField
              admin={me.role === "admin"}
              error={form.formState.errors.allowOverlap?.message}
              {...form.register("allowOverlap")}
            />
          </div>
        </>
      )}
    </MutationDialog>
  );
}
