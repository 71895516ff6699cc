"use client";
// The security groups of one VNET, for the VNET's page: attached groups, attach/detach, and the
// default-group warning with its one-click fix.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { toast } from "sonner";
import { can } from "@/lib/permissions";
import { useMe } from "../session";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { type Column, DataTable } from "../ui/data-table";
import { Select } from "../ui/field";
import { Badge, EmptyState, LoadFailed, Panel } from "../ui/misc";
import { DefaultSgWarning, useAttachMutation } from "./default-sg-warning";
import { DEFAULT_SG_ID } from "./types";

type Group = { id: number; name: string; description: string; revision: number; rules: number };

export function VnetSecurityGroups({ vnetId }: { vnetId: number }) {
  const trpc = useTRPC();
  const me = useMe();
  const attached = useQuery(trpc.sg.ofVnet.queryOptions({ id: vnetId }));
  const vnet = useQuery(trpc.vnet.get.queryOptions({ id: vnetId }));
  const all = useQuery(trpc.sg.list.queryOptions());
  const attach = useAttachMutation();
  const [pick, setPick] = useState("");

  const canManage = !!vnet.data && can(me, vnet.data, "manage");
  const data = attached.data;
  const name = data?.vnet.name ?? `VNET ${vnetId}`;
  const ids = new Set(data?.groups.map((g) => g.id));
  const choices = all.data?.filter((g) => !ids.has(g.id)) ?? [];
  const others = data?.groups.filter((g) => g.id !== DEFAULT_SG_ID).length ?? 0;

  const setAttached = (g: { id: number; name: string }, on: boolean) =>
    attach.mutate(
      { vnetId, sgId: g.id, attached: on },
      {
        onSuccess: () => {
          if (on) setPick("");
          toast.success(`Security group ${g.name} ${on ? "attached to" : "detached from"} VNET ${name}`);
        },
      },
    );

  const columns: Column<Group>[] = [
    {
      key: "name",
      header: "Group",
      cell: (g) => (
        <span className="flex items-center gap-2">
          <Link href={`/security-groups/${g.id}`} className="font-medium text-sky-800 hover:underline">
            {g.name}
          </Link>
          {g.id === DEFAULT_SG_ID && <Badge tone="amber">allows all traffic</Badge>}
        </span>
      ),
    },
    { key: "rules", header: "Rules", cell: (g) => <span className="tabular-nums">{g.rules}</span> },
    {
      key: "revision",
      header: "Revision",
      cell: (g) => <span className="font-mono text-[13px]">{g.revision}</span>,
    },
    {
      key: "actions",
      header: "Actions",
      className: "text-right",
      cell: (g) =>
        canManage && (
          <Button
            size="sm"
            variant="ghost"
            aria-label={`Detach security group ${g.name}`}
            disabled={attach.isPending}
            onClick={() => setAttached(g, false)}
          >
            Detach
          </Button>
        ),
    },
  ];

  return (
    <Panel title={`Security groups (${data?.groups.length ?? "…"})`}>
      <div className="flex flex-col gap-3 p-4">
        {data?.defaultAttached && others > 0 && (
          <DefaultSgWarning
            vnetId={vnetId}
            vnetName={name}
            canManage={canManage}
            egressLost={data.egressLostOnDetach}
          >
            Default security group is attached to this VNET: it allows all traffic, so the other{" "}
            {others === 1 ? "group here has" : `${others} groups here have`} no effect.
          </DefaultSgWarning>
        )}
        {data?.defaultAttached && others === 0 && (
          <p className="text-sm text-slate-600">
            Only the default group is attached: every NIC on this VNET may send and receive anything. Attach a
            group and detach the default one to filter traffic.
          </p>
        )}
        {attached.isError ? (
          <LoadFailed what="the security groups" query={attached} />
        ) : (
          <div className="overflow-hidden rounded-md ring-1 ring-slate-200">
            <DataTable
              label="Security groups of this VNET"
              columns={columns}
              rows={data?.groups}
              rowKey={(g) => g.id}
              loading={attached.isPending}
              empty={
                <EmptyState title="No security group attached">
                  Attach a group below to filter the traffic of this VNET's NICs.
                </EmptyState>
              }
            />
          </div>
        )}
        {canManage && (
          <form
            className="flex max-w-lg items-center gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              const g = choices.find((c) => String(c.id) === pick);
              if (g) setAttached(g, true);
            }}
          >
            <Select
              aria-label="Security group to attach"
              value={pick}
              onChange={(e) => setPick(e.target.value)}
              className="flex-1"
            >
              <option value="">
                {all.isPending
                  ? "Loading…"
                  : choices.length
                    ? "Pick a security group"
                    : "No other group to attach"}
              </option>
              {choices.map((g) => (
                <option key={g.id} value={String(g.id)}>
                  {g.name} ({g.rules} rule{g.rules === 1 ? "" : "s"})
                </option>
              ))}
            </Select>
            <Button type="submit" disabled={!pick} pending={attach.isPending}>
              Attach
            </Button>
          </form>
        )}
      </div>
    </Panel>
  );
}
