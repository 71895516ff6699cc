"use client";
// An instance's cloud-init seed: the NoCloud URL (with the QEMU and libvirt lines that hand it to a
// guest), the cidata ISO and context.sh downloads, the documents the guest gets, and rotation.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { toast } from "sonner";
import { errorMessage, useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { ConfirmDialog } from "../ui/dialog";
import { EmptyState, Panel, Skeleton } from "../ui/misc";
import { Snippet } from "../ui/snippet";

/** The portal's origin as the browser reached it (empty until mounted, so the server render and
 * the first client render agree). */
function useOrigin(): string {
  const [origin, setOrigin] = useState("");
  useEffect(() => setOrigin(window.location.origin), []);
  return origin;
}

export function SeedPanel({ instanceId, name }: { instanceId: number; name: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const seed = useQuery(trpc.instance.seed.queryOptions({ id: instanceId }));
  const origin = useOrigin();
  const [plain, setPlain] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const rotate = useMutation(
    trpc.instance.rotateSeed.mutationOptions({
      onSuccess: () => {
        toast.success(`New seed URL for ${name}; the old one no longer answers`);
        setConfirming(false);
        return queryClient.invalidateQueries(trpc.instance.seed.queryFilter({ id: instanceId }));
      },
      onError: (err) => {
        setConfirming(false);
        toast.error(errorMessage(err));
      },
    }),
  );

  if (seed.isError)
    return (
      <Panel title="Cloud-init seed">
        <EmptyState
          title="Could not load the seed"
          action={<Button onClick={() => seed.refetch()}>Retry</Button>}
        >
          {seed.error.message}
        </EmptyState>
      </Panel>
    );

  const https = origin.startsWith("https:");
  const base = plain && https ? origin.replace(/^https:/, "http:") : origin;
  const url = seed.data && origin ? `${base}${seed.data.path}` : "";
  const iso = `/api/instances/${instanceId}/seed/cidata.iso`;
  const ctx = `/api/instances/${instanceId}/seed/context.sh`;
  const isoFile = `${name.replace(/[^A-Za-z0-9._-]+/g, "_")}-cidata.iso`;

  return (
    <Panel
      title="Cloud-init seed"
      actions={
        <Button size="sm" onClick={() => setConfirming(true)} disabled={!seed.data}>
          Rotate seed URL…
        </Button>
      }
    >
      <div className="flex flex-col gap-4 p-4 text-sm">
        <p className="text-slate-600">
          A NoCloud seed for {name}: meta-data (instance id, host name), user-data (#cloud-config) and a
          version 2 network-config keyed by each NIC&apos;s MAC. Anyone holding the URL can read it: hand it
          to this guest only, and rotate it if it leaked.
        </p>
        {!url ? (
          <div className="flex flex-col gap-2" role="status" aria-label="Loading the seed">
            <Skeleton className="h-8" />
            <Skeleton className="h-8" />
            <Skeleton className="h-8" />
          </div>
        ) : (
          <>
            <Snippet label="Seed URL" text={url} testId="seed-url" />
            {https && (
              <label className="flex items-start gap-2 text-xs text-slate-600">
                <input
                  type="checkbox"
                  className="mt-0.5"
                  checked={plain}
                  onChange={(e) => setPlain(e.target.checked)}
                />
                <span>
                  Use plain http (same port). cloud-init cannot verify a self-signed certificate; the portal
                  answers seed URLs over http too.
                </span>
              </label>
            )}
            <div className="grid grid-cols-2 gap-4">
              <Snippet
                label="QEMU (SMBIOS serial)"
                text={`-smbios 'type=1,serial=ds=nocloud;s=${url}'`}
                testId="seed-qemu"
              />
              <Snippet
                label="libvirt (domain XML)"
                testId="seed-libvirt"
                text={`<os>\n  <smbios mode='sysinfo'/>\n</os>\n<sysinfo type='smbios'>\n  <system>\n    <entry name='serial'>ds=nocloud;s=${url}</entry>\n  </system>\n</sysinfo>`}
              />
            </div>
            <div className="flex flex-col gap-2 border-t border-slate-200 pt-4">
              <p className="text-slate-600">
                Without network access to the portal: attach the seed as a CD-ROM (volume label cidata), or
                hand context.sh to OpenNebula&apos;s one-context packages.
              </p>
              <div className="flex flex-wrap items-center gap-2">
                <a
                  href={iso}
                  download
                  className="inline-flex items-center rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-sky-600"
                >
                  Download cidata ISO
                </a>
                <a
                  href={ctx}
                  download
                  className="inline-flex items-center rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-sky-600"
                >
                  Download context.sh
                </a>
              </div>
              <Snippet label="QEMU (ISO)" text={`-drive file=${isoFile},media=cdrom,readonly=on`} />
            </div>
            <details className="text-xs">
              <summary className="cursor-pointer text-sky-800">What the guest gets</summary>
              <div className="mt-2 grid grid-cols-3 gap-3">
                {Object.entries(seed.data!.documents).map(([doc, text]) => (
                  <div key={doc} className="min-w-0">
                    <div className="mb-1 font-mono text-slate-600">{doc}</div>
                    <pre className="max-h-64 overflow-auto rounded bg-slate-50 p-2 font-mono text-[11px] text-slate-800">
                      {text}
                    </pre>
                  </div>
                ))}
              </div>
            </details>
          </>
        )}
      </div>
      <ConfirmDialog
        open={confirming}
        onClose={() => setConfirming(false)}
        title={`Rotate the seed URL of ${name}?`}
        confirmLabel="Rotate seed URL"
        pending={rotate.isPending}
        onConfirm={() => rotate.mutate({ id: instanceId })}
      >
        The current URL stops answering at once: a guest that has not fetched its seed yet, or that fetches it
        on every boot, needs the new one in its SMBIOS serial or domain XML.
      </ConfirmDialog>
    </Panel>
  );
}
