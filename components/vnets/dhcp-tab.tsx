"use client";
// DHCP & DNS of a VNET: whether the nodes serve it (one dnsmasq per node hosting the VNET), its DNS
// domain, lease time and upstream resolvers, and the host entries every node's server is given
// (only known MACs get an address; every guest resolves as <instance>.<domain>).
import { useMutation, useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import { vnetDhcpInput } from "@/lib/schemas";
import type { AppRouter } from "@/server/routers/root";
import { apiSchema, showServerError } from "../form";
import { formatDateTime } from "../format";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { Field, FormError, Select, TextField } from "../ui/field";
import { Badge, EmptyState, LoadFailed, Panel, Skeleton } from "../ui/misc";
import { mono, useRefreshVnet, type Vnet } from "./shared";

type Dhcp = inferRouterOutputs<AppRouter>["vnet"]["dhcp"];
type Host = Dhcp["hosts"][number];
type DhcpForm = z.input<typeof vnetDhcpInput>;

/** Seconds as the shortest duration the form accepts back ("12h", "90m", "600"). */
export function leaseText(s: number): string {
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return String(s);
}

/** Seconds in words, e.g. "12 hours", "1 day", "90 minutes". */
function leaseWords(s: number): string {
  const [n, unit] =
    s % 86400 === 0
      ? [s / 86400, "day"]
      : s % 3600 === 0
        ? [s / 3600, "hour"]
        : s % 60 === 0
          ? [s / 60, "minute"]
          : [s, "second"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

function toForm(d: Dhcp): DhcpForm {
  return {
    id: d.id,
    enabled: d.setting,
    domain: d.domainSet ? d.domain : "",
    leaseTime: d.leaseSet ? leaseText(d.leaseSeconds) : "",
    upstreams: d.upstreams.join(", "),
  };
}

export function DhcpTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const dhcp = useQuery(trpc.vnet.dhcp.queryOptions({ id: vnet.id }));
  if (dhcp.isError)
    return (
      <Panel title="DHCP & DNS">
        <LoadFailed what="the DHCP & DNS service" query={dhcp} />
      </Panel>
    );
  const d = dhcp.data;
  return (
    <>
      {d ? (
        <DhcpSettings
          key={JSON.stringify([d.setting, d.domain, d.leaseSeconds, d.upstreams, d.domainSet, d.leaseSet])}
          vnet={vnet}
          dhcp={d}
        />
      ) : (
        <Panel title="DHCP & DNS">
          <div className="grid grid-cols-2 gap-4 p-4" aria-busy="true">
            {[0, 1, 2, 3].map((i) => (
              <Skeleton key={i} className="h-14" />
            ))}
          </div>
        </Panel>
      )}
      <HostsPanel dhcp={d} loading={dhcp.isPending} />
    </>
  );
}

function StatusBadge({ d }: { d: Dhcp }) {
  if (!d.enabled) return <Badge tone="gray">off</Badge>;
  if (d.notServed) return <Badge tone="amber">on, not served</Badge>;
  return <Badge tone="green">served by the nodes</Badge>;
}

function DhcpSettings({ vnet, dhcp: d }: { vnet: Vnet; dhcp: Dhcp }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const form = useForm<DhcpForm, unknown, DhcpForm>({
    resolver: apiSchema(vnetDhcpInput),
    mode: "onChange",
    defaultValues: toForm(d),
  });
  const save = useMutation(
    trpc.vnet.setDhcp.mutationOptions({
      onSuccess: (r) => {
        toast.success(
          r.changed.length
            ? `DHCP & DNS saved: ${r.changed.length} change${r.changed.length > 1 ? "s" : ""}; the nodes apply it now`
            : "Nothing changed",
        );
        return refresh();
      },
      onError: (e) => showServerError(e, form),
    }),
  );
  const e = form.formState.errors;
  const editable = d.canManage && !vnet.lockLevel;
  return (
    <Panel
      title="DHCP & DNS"
      actions={
        <div className="flex items-center gap-2">
          {vnet.lockLevel && <Badge tone="amber">locked: read only</Badge>}
          <StatusBadge d={d} />
        </div>
      }
    >
      {d.servedBy && (
        <p className="border-b border-slate-100 px-4 py-3 text-sm text-slate-600" role="note">
          This VNET is a reservation of <strong>{d.servedBy.name}</strong>: its guests get their leases and
          names from that VNET's DHCP & DNS, which is changed there.
        </p>
      )}
      {d.enabled && d.notServed && (
        <p className="border-b border-amber-100 bg-amber-50 px-4 py-3 text-sm text-amber-900" role="status">
          {d.notServed}.
        </p>
      )}
      <form
        noValidate
        aria-label="DHCP & DNS"
        onSubmit={form.handleSubmit((v) => save.mutate(v))}
        className="p-4"
      >
        <p className="mb-4 text-sm text-slate-600">
          Every node hosting this VNET runs its own DHCP & DNS server on the bridge. It answers only the
          VNET's NICs (below) with their leased addresses, router, DNS server, domain and MTU, and resolves
          each instance as <code className="font-mono">&lt;instance&gt;.{d.domain}</code>.
        </p>
        <fieldset disabled={!editable} className="grid grid-cols-2 gap-x-6 gap-y-3">
          <Field
            label="Service"
            error={e.enabled?.message}
            hint="External networks are off by default: the LAN may run its own server"
          >
            {(c) => (
              <Select {...c} {...form.register("enabled")}>
                <option value="auto">
                  By network type ({d.networkType === "internal" ? "on" : "off"} for {d.networkType})
                </option>
                <option value="on">On</option>
                <option value="off">Off (the LAN runs its own)</option>
              </Select>
            )}
          </Field>
          <TextField
            label="DNS domain"
            placeholder={d.defaultDomain}
            hint={`Empty: ${d.defaultDomain}`}
            error={e.domain?.message}
            {...form.register("domain")}
          />
          <TextField
            label="Lease time"
            placeholder="1h (default)"
            hint={`Seconds or 90m, 12h, 1d (2 minutes to a year). Now: ${leaseWords(d.leaseSeconds)}`}
            error={e.leaseTime?.message}
            {...form.register("leaseTime")}
          />
          <TextField
            label="Upstream DNS servers"
            placeholder="the nodes' own resolvers"
            hint="Names outside the domain are forwarded here; up to 4 IPv4 addresses, comma-separated"
            error={e.upstreams?.message}
            {...form.register("upstreams")}
          />
        </fieldset>
        <FormError message={e.root?.server?.message} />
        {editable && (
          <div className="mt-4 flex justify-end gap-2">
            <Button
              onClick={() => form.reset(toForm(d))}
              disabled={!form.formState.isDirty || save.isPending}
            >
              Discard changes
            </Button>
            <Button
              type="submit"
              variant="primary"
              pending={save.isPending}
              disabled={!form.formState.isDirty}
            >
              Save DHCP & DNS
            </Button>
          </div>
        )}
      </form>
    </Panel>
  );
}

const HOST_COLUMNS: Column<Host>[] = [
  { key: "name", header: "Name", cell: (h) => mono(h.name) },
  { key: "ip", header: "IPv4", cell: (h) => mono(h.ip ?? "—") },
  { key: "ip6", header: "IPv6", cell: (h) => mono(h.ip6 ?? "—") },
  { key: "mac", header: "MAC", cell: (h) => mono(h.mac ?? "—") },
  {
    key: "nic",
    header: "Instance · NIC",
    cell: (h) => <span className="whitespace-nowrap">{`${h.instance} · ${h.nic}`}</span>,
  },
  { key: "node", header: "Node", cell: (h) => <span className="whitespace-nowrap">{h.node}</span> },
  {
    key: "taken",
    header: "Lease",
    cell: (h) =>
      h.taken ? (
        <Badge tone="green">taken{h.taken.until ? ` · until ${formatDateTime(h.taken.until)}` : ""}</Badge>
      ) : (
        <Badge tone="gray">not taken yet</Badge>
      ),
  },
];

function HostsPanel({ dhcp: d, loading }: { dhcp: Dhcp | undefined; loading: boolean }) {
  return (
    <Panel
      title={`Host entries${d ? ` (${d.hosts.length})` : ""}`}
      actions={d && !d.enabled && <Badge tone="gray">not served while off</Badge>}
    >
      <DataTable
        label="DHCP host entries"
        // The IPv6 column only where some guest has an IPv6 lease (room for the rest at 1280 px).
        columns={d?.hosts.some((h) => h.ip6) ? HOST_COLUMNS : HOST_COLUMNS.filter((c) => c.key !== "ip6")}
        rows={d?.hosts}
        loading={loading}
        rowKey={(h) => h.nicId}
        empty={
          <EmptyState title="No host entries yet">
            Each NIC on this VNET becomes an entry: its MAC gets its leased address and its instance's name.
            Add a NIC to an instance to see it here.
          </EmptyState>
        }
      />
    </Panel>
  );
}
