"use client";
// The plain warning shown while the default group (allow all) sits on a VNET next to other groups,
// with the one-click fix: detach the default group from that VNET.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { toast } from "sonner";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { DEFAULT_SG_ID } from "./types";

/** Invalidates every query that shows attachments (groups, VNET pages, the list's counts). */
export function useAttachMutation() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useMutation(
    trpc.sg.setVnet.mutationOptions({
      onError: (err) => toast.error(errorMessage(err)),
      onSuccess: () => queryClient.invalidateQueries(trpc.sg.pathFilter()),
    }),
  );
}

export function DefaultSgWarning({
  vnetId,
  vnetName,
  canManage,
  egressLost = 0,
  children,
}: {
  vnetId: number;
  vnetName: string;
  /** Whether the user may change the VNET's groups (else the fix is not offered). */
  canManage: boolean;
  /** NICs that detaching the default group would leave with no outbound rule. */
  egressLost?: number;
  children?: ReactNode;
}) {
  const detach = useAttachMutation();
  return (
    <div
      role="alert"
      className="flex flex-wrap items-center justify-between gap-3 rounded-md bg-amber-50 px-3 py-2.5 text-sm text-amber-900 ring-1 ring-amber-300"
    >
      <p className="min-w-0 flex-1">
        {children ?? (
          <>
            Default security group is attached to VNET <strong>{vnetName}</strong>: it allows all traffic, so
            this group has no effect there.
          </>
        )}
        {egressLost > 0 && (
          // Said before the click: the remaining groups have inbound rules only.
          <strong className="mt-1 block text-red-800" data-testid="egress-loss">
            Detaching it leaves no outbound rule: all egress from {egressLost} NIC
            {egressLost === 1 ? "" : "s"} will be dropped (no DNS, no updates). Add an outbound rule first.
          </strong>
        )}
      </p>
      {canManage && (
        <Button
          size="sm"
          pending={detach.isPending}
          onClick={() =>
            detach.mutate(
              { vnetId, sgId: DEFAULT_SG_ID, attached: false },
              { onSuccess: () => toast.success(`Default security group detached from VNET ${vnetName}`) },
            )
          }
        >
          Detach default group
        </Button>
      )}
    </div>
  );
}
