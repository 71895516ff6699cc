"use client";
// The VNETs a group is attached to: attach to another (select), detach, and the default-group
// warning with its one-click fix for every VNET where the default group makes this one moot.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { toast } from "sonner";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Select } from "../ui/field";
import { Badge, EmptyState, Panel } from "../ui/misc";
import { useAttachMutation } from "./default-sg-warning";
import { DEFAULT_SG_ID, type Sg } from "./types";

export function SgVnetsPanel({ sg, className }: { sg: Sg; className?: string }) {
  const trpc = useTRPC();
  const vnets = useQuery(trpc.vnet.list.queryOptions());
  const attach = useAttachMutation();
  const [pick, setPick] = useState("");
  const attachedIds = new Set(sg.vnets.map((v) => v.id));
  const choices = vnets.data?.filter((v) => !attachedIds.has(v.id)) ?? [];
  const isDefault = sg.id === DEFAULT_SG_ID;

  const doAttach = () => {
    const v = choices.find((c) => String(c.id) === pick);
    if (!v) return;
    attach.mutate(
      { vnetId: v.id, sgId: sg.id, attached: true },
      {
        onSuccess: () => {
          setPick("");
          toast.success(`Security group ${sg.name} attached to VNET ${v.name}`);
        },
      },
    );
  };

  return (
    <Panel title={`Attached VNETs (${sg.vnets.length})`} className={className}>
      <div className="flex flex-col gap-3 p-4">
        {sg.vnets.length === 0 ? (
          <EmptyState title="Not attached to any VNET">
            A group takes effect on the NICs of the VNETs it is attached to. Pick a VNET below.
          </EmptyState>
        ) : (
          <ul
            aria-label="Attached VNETs"
            className="divide-y divide-slate-100 rounded-md ring-1 ring-slate-200"
          >
            {sg.vnets.map((v) => (
              <li key={v.id} className="flex items-center justify-between gap-3 px-3 py-2 text-sm">
                <span className="flex items-center gap-2">
                  <Link href={`/vnets/${v.id}`} className="font-medium text-sky-800 hover:underline">
                    {v.name}
                  </Link>
                  {v.defaultAttached && (
                    <Badge
                      tone="amber"
                      title="The default group is attached here too: this group has no effect"
                    >
                      no effect: default group attached
                    </Badge>
                  )}
                </span>
                {v.canManage && (
                  <Button
                    size="sm"
                    variant="ghost"
                    aria-label={`Detach from VNET ${v.name}`}
                    disabled={attach.isPending}
                    onClick={() =>
                      attach.mutate(
                        { vnetId: v.id, sgId: sg.id, attached: false },
                        {
                          onSuccess: () =>
                            toast.success(`Security group ${sg.name} detached from VNET ${v.name}`),
                        },
                      )
                    }
                  >
                    Detach
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
        <form
          className="flex items-center gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            doAttach();
          }}
        >
          <Select
            aria-label="VNET to attach to"
            value={pick}
            onChange={(e) => setPick(e.target.value)}
            className="flex-1"
          >
            <option value="">
              {vnets.isPending ? "Loading…" : choices.length ? "Pick a VNET" : "No other VNET to attach to"}
            </option>
            {choices.map((v) => (
              <option key={v.id} value={String(v.id)}>
                {v.name}
              </option>
            ))}
          </Select>
          <Button type="submit" disabled={!pick} pending={attach.isPending}>
            Attach
          </Button>
        </form>
        {isDefault && (
          <p className="text-xs text-slate-500">
            This is the built-in default group: every new VNET gets it, and while it is attached the other
            groups of that VNET have no effect.
          </p>
        )}
      </div>
    </Panel>
  );
}
