"use client";
// Preview of one NIC's compiled policy: every group on the NIC, merged, in the order the node
// checks them, with each rule's counter. Labelled as a listing (see policy-listing.ts).
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../trpc";
import { CopyButton } from "../ui/copy-button";
import { Field, Select } from "../ui/field";
import { Panel, Skeleton } from "../ui/misc";
import { NicOptions, useNicChoices } from "./nic-choices";
import { policyListing } from "./policy-listing";
import type { Sg } from "./types";

export function SgPolicyPreview({ sg }: { sg: Sg }) {
  const trpc = useTRPC();
  const choices = useNicChoices(sg);
  const [picked, setPicked] = useState("");
  const nicId = picked || (choices.own[0] ? String(choices.own[0].nicId) : "");
  const preview = useQuery({
    ...trpc.sg.preview.queryOptions({ nicId: Number(nicId) }),
    enabled: nicId !== "",
  });
  const text = preview.data ? policyListing(preview.data) : "";
  return (
    <Panel
      title="Compiled policy of one NIC"
      actions={text && <CopyButton text={text} label="Copy compiled policy" />}
    >
      <div className="flex flex-col gap-3 p-4">
        <div className="flex items-end gap-4">
          <Field label="NIC" className="w-96">
            {(c) => (
              <Select
                {...c}
                aria-label="NIC to preview"
                value={nicId}
                onChange={(e) => setPicked(e.target.value)}
              >
                <NicOptions {...choices} />
              </Select>
            )}
          </Field>
          <p className="pb-2 text-xs text-slate-500">
            Saved rules of every group on the NIC, as the node enforces them, in nft match syntax. The node's
            full ruleset adds its tables, chains and anti-spoofing around these.
          </p>
        </div>
        {nicId === "" ? (
          <p className="text-sm text-slate-600">Pick a NIC to see the policy its node applies.</p>
        ) : preview.isError ? (
          <p role="alert" className="text-sm text-red-700">
            {preview.error.message}
          </p>
        ) : preview.data ? (
          <figure>
            <figcaption className="sr-only">Compiled policy</figcaption>
            <pre className="overflow-x-auto rounded-md bg-slate-900 px-4 py-3 font-mono text-[12.5px] leading-relaxed text-slate-100">
              {text}
            </pre>
            {preview.data.nft && (
              <details className="mt-3">
                <summary className="cursor-pointer text-sm font-medium text-slate-700">
                  The nftables script this NIC's node loads for it (anti-spoofing, groups, counters)
                </summary>
                <pre
                  data-testid="sg-nft-script"
                  className="mt-2 max-h-96 overflow-auto rounded-md bg-slate-900 px-4 py-3 font-mono text-[12px] leading-relaxed text-slate-100"
                >
                  {preview.data.nft}
                </pre>
              </details>
            )}
          </figure>
        ) : (
          <Skeleton className="h-40" />
        )}
      </div>
    </Panel>
  );
}
