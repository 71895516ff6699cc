"use client";
// "New VNET": the fields of vnetCreateInput, validated as you type with the server's own schema.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { intToIp4, ip4ToInt, ipv4Cidr, networkOf } from "@/lib/domain";
import { type VnetCreateInput, vnetCreateInput } from "@/lib/schemas";
import { apiSchema, revalidateTogether } from "../form";
import { useMe } from "../session";
import { useTRPC } from "../trpc";
import { Field, Select, TextField } from "../ui/field";
import { type FormOf, MutationDialog } from "../ui/mutation-dialog";
import { AllowOverlapField } from "./shared";

const DEFAULTS: VnetCreateInput = {
  name: "",
  description: "",
  networkType: "internal",
  driver: "bridge",
  phydev: "",
  vlanId: "",
  vni: "",
  bridge: "",
  mtu: "1500",
  subnet: "",
  gateway: "",
  dns: "",
  firstIp: "",
  size: "",
  clusterIds: ["0"],
  globalPrefix: "",
  ulaPrefix: "",
  gateway6: "",
  allowOverlap: false,
};

export function VnetCreateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.vnet.create.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.vnet.list.queryFilter()),
    }),
  );
  return (
    <MutationDialog
      open={open}
      onClose={onClose}
      size="lg"
      title="New VNET"
      description="A virtual network with its first address range: IPv4, or dual stack with a /64 prefix."
      label="New VNET"
      submitLabel="Create VNET"
      resolver={apiSchema(vnetCreateInput)}
      defaultValues={DEFAULTS}
      mutation={create}
      success={(v) => `VNET ${v.name} created (bridge ${v.bridge})`}
      warnings={(v) => v.warnings}
    >
      {(form: FormOf<VnetCreateInput>) => <VnetFields form={form} />}
    </MutationDialog>
  );
}

function VnetFields({ form }: { form: FormOf<VnetCreateInput> }) {
  const trpc = useTRPC();
  const clusters = useQuery(trpc.user.clusters.queryOptions());
  const { register, formState } = form;
  const err = (k: keyof VnetCreateInput) => formState.errors[k]?.message as string | undefined;
  const driver = form.watch("driver");
  const me = useMe();
  const saved = normalisedSubnet(form.watch("subnet") ?? "");
  const natWithoutGateway = form.watch("networkType") === "internal" && !form.watch("gateway")?.trim();

  useEffect(() => {
    const sub = revalidateTogether(form, ["subnet", "gateway", "firstIp", "size"]);
    return () => sub.unsubscribe();
  }, [form]);

  return (
    <div className="grid grid-cols-2 gap-x-4 gap-y-3">
      <TextField label="Name" autoFocus placeholder="private-a" error={err("name")} {...register("name")} />
      <Field label="Network type" error={err("networkType")}>
        {(c) => (
          <Select {...c} {...register("networkType")}>
            <option value="internal">Internal (isolated, NAT)</option>
            <option value="external">External (bridged to the LAN)</option>
          </Select>
        )}
      </Field>
      <TextField
        label="Description"
        placeholder="Optional"
        error={err("description")}
        fieldClassName="col-span-2"
        {...register("description")}
      />
      <TextField
        label="Bridge name"
        placeholder="generated"
        title="Leave empty to generate a unique name"
        error={err("bridge")}
        {...register("bridge")}
      />
      <TextField
        label="MTU"
        inputMode="numeric"
        hint={driver === "vxlan" ? "Underlay MTU; guests get 50 bytes less" : undefined}
        error={err("mtu")}
        {...register("mtu")}
      />
      <Field label="Driver" error={err("driver")}>
        {(c) => (
          <Select {...c} {...register("driver")}>
            <option value="bridge">bridge</option>
            <option value="vlan">vlan (802.1Q)</option>
            <option value="vxlan">vxlan</option>
            <option value="routed">routed</option>
          </Select>
        )}
      </Field>
      <TextField
        label="Physical device"
        placeholder={driver === "vlan" ? "eth1" : "optional"}
        error={err("phydev")}
        {...register("phydev")}
      />
      {driver === "vlan" && (
        <TextField
          label="VLAN ID"
          placeholder='1–4094 or "auto"'
          error={err("vlanId")}
          {...register("vlanId")}
        />
      )}
      {driver === "vxlan" && (
        <TextField label="VNI" placeholder='1–16777215 or "auto"' error={err("vni")} {...register("vni")} />
      )}

      <SectionTitle>Addressing</SectionTitle>
      <TextField
        label="Subnet (CIDR)"
        placeholder="10.0.0.0/24"
        error={err("subnet")}
        hint={
          saved ? (
            <span data-testid="subnet-normalised">Saved as {saved} (host bits cleared)</span>
          ) : undefined
        }
        {...register("subnet")}
      />
      <TextField
        label="Gateway"
        placeholder="10.0.0.1"
        error={err("gateway")}
        hint={
          natWithoutGateway ? (
            <span className="text-amber-700" data-testid="nat-no-gateway">
              Without a gateway, guests of an internal (NAT) network cannot reach the outside
            </span>
          ) : undefined
        }
        {...register("gateway")}
      />
      <TextField
        label="DNS servers"
        placeholder="10.0.0.1, 1.1.1.1"
        hint="Comma-separated IPv4 addresses"
        error={err("dns")}
        fieldClassName="col-span-2"
        {...register("dns")}
      />

      <TextField
        label="IPv6 global prefix"
        placeholder="optional, e.g. 2001:db8:1::/64"
        hint="A /64 makes the range dual stack (SLAAC)"
        error={err("globalPrefix")}
        {...register("globalPrefix")}
      />
      <TextField
        label="IPv6 ULA prefix"
        placeholder="optional, e.g. fd00:1::/64"
        error={err("ulaPrefix")}
        {...register("ulaPrefix")}
      />
      <TextField
        label="IPv6 gateway"
        placeholder="optional, e.g. 2001:db8:1::1"
        error={err("gateway6")}
        fieldClassName="col-span-2"
        {...register("gateway6")}
      />

      <SectionTitle>Address range</SectionTitle>
      <TextField label="First IP" placeholder="10.0.0.10" error={err("firstIp")} {...register("firstIp")} />
      <TextField
        label="Size"
        inputMode="numeric"
        placeholder="100"
        error={err("size")}
        {...register("size")}
      />
      <AllowOverlapField
        admin={me.role === "admin"}
        error={err("allowOverlap")}
        {...register("allowOverlap")}
      />

      {clusters.data && clusters.data.length > 1 && (
        <fieldset className="col-span-2 mt-2">
          <legend className="text-xs font-semibold tracking-wide text-slate-500 uppercase">Clusters</legend>
          <div className="mt-2 flex flex-wrap gap-4">
            {clusters.data.map((c) => (
              <label key={c.id} className="flex items-center gap-2 text-sm">
                <input type="checkbox" value={String(c.id)} {...register("clusterIds")} />
                {c.name}
              </label>
            ))}
          </div>
          {err("clusterIds") && <p className="mt-1 text-xs text-red-600">{err("clusterIds")}</p>}
        </fieldset>
      )}
    </div>
  );
}

/** "10.0.0.0/24" when a valid CIDR with host bits set was typed ("10.0.0.5/24"); else null. */
function normalisedSubnet(typed: string): string | null {
  const s = typed.trim();
  if (!ipv4Cidr.safeParse(s).success) return null;
  const [ip, len] = s.split("/") as [string, string];
  const net = `${intToIp4(networkOf(ip4ToInt(ip), Number(len)))}/${len}`;
  return net === s ? null : net;
}

function SectionTitle({ children }: { children: string }) {
  return (
    <h3 className="col-span-2 mt-1 border-t border-slate-100 pt-3 text-xs font-semibold tracking-wide text-slate-500 uppercase">
      {children}
    </h3>
  );
}
