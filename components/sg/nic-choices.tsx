"use client";
// NICs to pick for the explain tool and the policy preview: the group's own first, then every other
// NIC the user can see (their instances; every instance for admins).
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import type { Sg } from "./types";

export type NicChoice = { nicId: number; label: string };

export function useNicChoices(sg: Sg) {
  const trpc = useTRPC();
  const instances = useQuery(trpc.instance.list.queryOptions());
  const own: NicChoice[] = sg.nics.map((n) => ({ nicId: n.nicId, label: `${n.name} (${n.vnetName})` }));
  const others: NicChoice[] =
    instances.data?.flatMap((i) =>
      i.nics
        .filter((n) => !own.some((o) => o.nicId === n.nicId))
        .map((n) => ({ nicId: n.nicId, label: `${i.name} eth${n.idx} (${n.vnetName})` })),
    ) ?? [];
  return { own, others, loading: instances.isPending };
}

/** The <option>s of a NIC picker, grouped. */
export function NicOptions({ own, others, loading }: ReturnType<typeof useNicChoices>) {
  return (
    <>
      <option value="">{loading ? "Loading…" : "Pick a NIC"}</option>
      {own.length > 0 && (
        <optgroup label="Affected by this group">
          {own.map((n) => (
            <option key={n.nicId} value={String(n.nicId)}>
              {n.label}
            </option>
          ))}
        </optgroup>
      )}
      {others.length > 0 && (
        <optgroup label="Other NICs">
          {others.map((n) => (
            <option key={n.nicId} value={String(n.nicId)}>
              {n.label}
            </option>
          ))}
        </optgroup>
      )}
    </>
  );
}
