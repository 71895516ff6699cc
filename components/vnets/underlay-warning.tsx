"use client";
// On a VXLAN VNET's page: the node pairs whose underlay (as their agents measured it with DF pings)
// is smaller than a guest frame plus the 50 bytes of encapsulation, said before anyone wonders why
// large packets between those guests vanish, with the MTU that fits every pair (one click for an
// admin, confirmed: the guests get a smaller MTU).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { toast } from "sonner";
import { useMe } from "../session";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { ConfirmDialog } from "../ui/dialog";
import type { Vnet } from "./shared";

export function UnderlayWarning({ vnet }: { vnet: Vnet }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useMe();
  const u = useQuery({
    ...trpc.vnet.underlay.queryOptions({ id: vnet.id }),
    enabled: vnet.driver === "vxlan",
  });
  const [confirming, setConfirming] = useState(false);
  const setMtu = useMutation(
    trpc.vnet.update.mutationOptions({
      onSuccess: async () => {
        await Promise.all([
          queryClient.invalidateQueries(trpc.vnet.pathFilter()),
          queryClient.invalidateQueries(trpc.node.pathFilter()),
        ]);
        toast.success(`VNET ${vnet.name}: MTU ${u.data?.fitsAll}, guests ${(u.data?.fitsAll ?? 0) - 50}`);
        setConfirming(false);
      },
      onError: (err) => {
        setConfirming(false);
        toast.error(errorMessage(err));
      },
    }),
  );
  const d = u.data;
  if (!d?.vxlan) return null;
  const small = d.pairs.filter((p) => !p.fits);
  if (small.length === 0) return null;
  const fits = d.fitsAll;
  // The VNET's MTU is the underlay's; a context guest MTU override is changed on the Context tab.
  const offer = fits !== null && fits - 50 >= 576 && !vnet.context.guestMtu && me.role === "admin";
  return (
    <div
      role="alert"
      data-testid="underlay-warning"
      className="flex flex-wrap items-start justify-between gap-3 rounded-md bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-300"
    >
      <div className="min-w-0 flex-1">
        <p className="font-medium">
          The underlay is smaller than this VNET's VXLAN frames ({d.guestMtu} guest MTU + 50 = {d.needed}{" "}
          bytes): large packets between these nodes' guests are dropped.
        </p>
        <ul className="mt-1 list-disc pl-5" data-testid="underlay-pairs">
          {small.map((p) => (
            <li key={`${p.fromNodeId}-${p.toNodeId}`}>
              {p.from} → {p.to}:{" "}
              {p.mtu === null
                ? "no answer to any ping (is the peer's VTEP reachable?)"
                : `carries ${p.mtu} bytes`}
            </li>
          ))}
        </ul>
        {fits !== null && (
          <p className="mt-1">
            MTU {fits} fits every measured pair (guests get {fits - 50}).
            {vnet.context.guestMtu ? " The guest MTU is set on the Context tab: lower it there." : ""}
          </p>
        )}
      </div>
      {offer && (
        <Button size="sm" onClick={() => setConfirming(true)}>
          Use MTU {fits}
        </Button>
      )}
      <ConfirmDialog
        open={confirming}
        onClose={() => setConfirming(false)}
        title={`Set the MTU of ${vnet.name} to ${fits}?`}
        confirmLabel={`Use MTU ${fits}`}
        tone="primary"
        pending={setMtu.isPending}
        onConfirm={() => fits !== null && setMtu.mutate({ id: vnet.id, mtu: fits })}
      >
        The nodes lower the VXLAN and bridge MTU to {(fits ?? 0) - 50} at once; guests learn their new MTU{" "}
        {(fits ?? 0) - 50} from DHCP at their next lease renewal (or from their context at the next boot).
      </ConfirmDialog>
    </div>
  );
}
