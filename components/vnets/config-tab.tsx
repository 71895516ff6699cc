"use client";
// Configuration of a live VNET (driver, devices, VLAN ID / VNI, MTU, type), its lock, and its clusters.
// Saving bumps the revision of every node the VNET touches, so agents apply it at once.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { toast } from "sonner";
import type { z } from "zod";
import { VXLAN_OVERHEAD } from "@/lib/context";
import { DRIVERS, LOCK_LEVELS } from "@/lib/domain";
import { RESTRICTED_NOTE, withoutRestrictedVnetAttrs } from "@/lib/restricted";
import { vnetUpdateInput } from "@/lib/schemas";
import { showServerError } from "../form";
import { useMe } from "../session";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Select, TextField } from "../ui/field";
import { Badge, Panel } from "../ui/misc";
import { useRefreshVnet, type Vnet } from "./shared";

type ConfigForm = z.input<typeof vnetUpdateInput>;

const DRIVER_HELP: Record<(typeof DRIVERS)[number], string> = {
  bridge: "Plain Linux bridge, optionally with an uplink device",
  vlan: "Bridge + 802.1Q device <physical>.<VLAN ID>",
  vxlan: "Bridge + VXLAN device (UDP 4789) between the nodes hosting it",
  routed: "Host-routed: /32 routes and proxy ARP, guest gateway 169.254.0.1",
};

function toForm(v: Vnet): ConfigForm {
  return {
    id: v.id,
    name: v.name,
    description: v.description,
    driver: v.driver,
    networkType: v.networkType,
    bridge: v.bridge === `bhbr${v.id}` ? "" : v.bridge,
    phydev: v.phydev ?? "",
    vlanId: v.vlanId === null ? "" : String(v.vlanId),
    vni: v.vni === null ? "" : String(v.vni),
    mtu: String(v.mtu),
    applyBridgeAddress: v.applyBridgeAddress,
    antiSpoofing: v.antiSpoofing,
  } as ConfigForm;
}

export function ConfigTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const pools = useQuery(trpc.vnet.pools.queryOptions());
  const form = useForm<ConfigForm, unknown, ConfigForm>({
    resolver: zodResolver(vnetUpdateInput, undefined, { raw: true }),
    mode: "onChange",
    defaultValues: toForm(vnet),
  });
  const save = useMutation(
    trpc.vnet.update.mutationOptions({
      onSuccess: async (r) => {
        toast.success(
          r.changed.length
            ? `Saved: ${r.changed.length} change${r.changed.length > 1 ? "s" : ""}`
            : "Nothing changed",
        );
        await refresh();
        form.reset(form.getValues());
      },
      onError: (e) => showServerError(e, form),
    }),
  );
  const driver = form.watch("driver");
  const mtu = Number(form.watch("mtu"));
  const e = form.formState.errors;
  const editable = vnet.canManage && !vnet.lockLevel;
  // Driver, type, devices, IDs, bridge and MTU decide what nodes do with their physical NICs:
  // cloud admins only (the server refuses anyone else); others see them read-only.
  const restricted = useMe().role !== "admin";
  const note = (hint?: string) => (restricted ? RESTRICTED_NOTE : hint);
  const poolHint = (p: { from: number; to: number } | null | undefined) =>
    p
      ? `"auto" takes the lowest free from ${p.from}–${p.to}`
      : 'No pool set: give a number ("auto" needs a pool)';
  return (
    <>
      <Panel title="Configuration" actions={vnet.lockLevel && <Badge tone="amber">locked: read only</Badge>}>
        <form
          noValidate
          aria-label="Configuration"
          onSubmit={form.handleSubmit((v) =>
            save.mutate(restricted ? { ...withoutRestrictedVnetAttrs(v), id: v.id } : v),
          )}
          className="p-4"
        >
          <fieldset disabled={!editable} className="grid grid-cols-3 gap-x-4 gap-y-3">
            <TextField label="Name" error={e.name?.message} {...form.register("name")} />
            <TextField
              label="Description"
              fieldClassName="col-span-2"
              error={e.description?.message}
              {...form.register("description")}
            />
            <Field
              label="Driver"
              error={e.driver?.message}
              hint={note(driver ? DRIVER_HELP[driver] : undefined)}
            >
              {(c) => (
                <Select {...c} {...form.register("driver")} disabled={restricted}>
                  {DRIVERS.map((d) => (
                    <option key={d} value={d}>
                      {d}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Network type" error={e.networkType?.message} hint={note()}>
              {(c) => (
                <Select {...c} {...form.register("networkType")} disabled={restricted}>
                  <option value="internal">Internal (isolated, NAT)</option>
                  <option value="external">External (bridged to the LAN)</option>
                </Select>
              )}
            </Field>
            <TextField
              label="Bridge name"
              placeholder={`generated (bhbr${vnet.id})`}
              hint={note("Leave empty for the generated, collision-free name")}
              error={e.bridge?.message}
              {...form.register("bridge")}
              disabled={restricted}
            />
            <TextField
              label="Physical device"
              placeholder={driver === "vlan" ? "required, e.g. eth1" : "optional uplink, e.g. eth1"}
              hint={note()}
              error={e.phydev?.message}
              {...form.register("phydev")}
              disabled={restricted}
            />
            {driver === "vlan" && (
              <TextField
                label="VLAN ID"
                placeholder='1–4094 or "auto"'
                hint={note(poolHint(pools.data?.vlan))}
                error={e.vlanId?.message}
                {...form.register("vlanId")}
                disabled={restricted}
              />
            )}
            {driver === "vxlan" && (
              <TextField
                label="VNI"
                placeholder='1–16777215 or "auto"'
                hint={note(poolHint(pools.data?.vni))}
                error={e.vni?.message}
                {...form.register("vni")}
                disabled={restricted}
              />
            )}
            <TextField
              label="MTU"
              inputMode="numeric"
              hint={note(
                driver === "vxlan" && mtu > 0
                  ? `Underlay MTU; guests get ${vnet.context.guestMtu ?? mtu - VXLAN_OVERHEAD} (−${VXLAN_OVERHEAD} for VXLAN) unless the context sets one`
                  : undefined,
              )}
              error={e.mtu?.message}
              {...form.register("mtu")}
              disabled={restricted}
            />
            <div className="col-span-3 flex flex-wrap gap-6 pt-1">
              <label className="flex items-center gap-2 text-sm text-slate-700">
                <input type="checkbox" {...form.register("applyBridgeAddress")} />
                Put the gateway address on the bridge (apply_bridge_address)
              </label>
              <label className="flex items-center gap-2 text-sm text-slate-700">
                <input type="checkbox" {...form.register("antiSpoofing")} />
                Anti-spoofing (ports send only from their own MAC and addresses)
              </label>
            </div>
          </fieldset>
          <FormError message={e.root?.server?.message} />
          {editable && (
            <div className="mt-4 flex justify-end gap-2">
              <Button
                onClick={() => form.reset(toForm(vnet))}
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
                Save configuration
              </Button>
            </div>
          )}
        </form>
      </Panel>
      {vnet.canManage && <LockPanel vnet={vnet} />}
    </>
  );
}

const LOCK_HELP: Record<(typeof LOCK_LEVELS)[number], string> = {
  use: "Everything: no changes, no deletion, no new NICs",
  manage: "Changes and deletion (NICs may still join)",
  admin: "Deletion only",
};

function LockPanel({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const [level, setLevel] = useState<(typeof LOCK_LEVELS)[number]>("manage");
  const opts = {
    onSuccess: (r: { lockLevel: string | null }) => {
      toast.success(r.lockLevel ? `VNET ${vnet.name} locked (${r.lockLevel})` : `VNET ${vnet.name} unlocked`);
      return refresh();
    },
    onError: (err: unknown) => toast.error(errorMessage(err)),
  };
  const lock = useMutation(trpc.vnet.lock.mutationOptions(opts));
  const unlock = useMutation(trpc.vnet.unlock.mutationOptions(opts));
  return (
    <Panel title="Lock">
      <div className="flex flex-wrap items-center gap-3 p-4 text-sm">
        {vnet.lockLevel ? (
          <>
            <Badge tone="amber">locked: {vnet.lockLevel}</Badge>
            <span className="text-slate-600">{LOCK_HELP[vnet.lockLevel]} is refused until unlocked.</span>
            <Button
              className="ml-auto"
              onClick={() => unlock.mutate({ id: vnet.id })}
              pending={unlock.isPending}
            >
              Unlock
            </Button>
          </>
        ) : (
          <>
            <span className="text-slate-600">A lock protects the VNET from accidental changes.</span>
            <Select
              aria-label="Lock level"
              value={level}
              onChange={(e) => setLevel(e.target.value as typeof level)}
              className="ml-auto w-96!"
            >
              {LOCK_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}: {LOCK_HELP[l]}
                </option>
              ))}
            </Select>
            <Button onClick={() => lock.mutate({ id: vnet.id, level })} pending={lock.isPending}>
              Lock
            </Button>
          </>
        )}
      </div>
    </Panel>
  );
}

export function ClustersTab({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const refresh = useRefreshVnet();
  const all = useQuery(trpc.user.clusters.queryOptions());
  const [chosen, setChosen] = useState<number[]>(vnet.clusters.map((c) => c.id));
  const save = useMutation(
    trpc.vnet.update.mutationOptions({
      onSuccess: () => {
        toast.success("Clusters saved");
        return refresh();
      },
      onError: (err) => toast.error(errorMessage(err)),
    }),
  );
  const dirty =
    [...chosen].sort().join() !==
    vnet.clusters
      .map((c) => c.id)
      .sort()
      .join();
  const editable = vnet.canManage && !vnet.lockLevel;
  return (
    <Panel title="Clusters">
      <div className="p-4">
        <p className="mb-3 text-sm text-slate-600">
          Instances on nodes of these clusters may use {vnet.name}; a VXLAN VNET spans the nodes that host it.
        </p>
        <fieldset disabled={!editable} className="flex flex-col gap-2" aria-label="Clusters of the VNET">
          {(all.data ?? vnet.clusters).map((c) => (
            <label key={c.id} className="flex items-center gap-2 text-sm">
              <input
                type="checkbox"
                checked={chosen.includes(c.id)}
                onChange={(e) =>
                  setChosen((s) => (e.target.checked ? [...s, c.id] : s.filter((x) => x !== c.id)))
                }
              />
              {c.id}: {c.name}
            </label>
          ))}
        </fieldset>
        {chosen.length === 0 && <p className="mt-2 text-xs text-red-600">Pick at least one cluster</p>}
        {editable && (
          <div className="mt-4 flex justify-end">
            <Button
              variant="primary"
              disabled={!dirty || chosen.length === 0}
              pending={save.isPending}
              onClick={() => save.mutate({ id: vnet.id, clusterIds: chosen })}
            >
              Save clusters
            </Button>
          </div>
        )}
      </div>
    </Panel>
  );
}
