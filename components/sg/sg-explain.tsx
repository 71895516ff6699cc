"use client";
// The explain tool: a new connection seen from one NIC (direction, remote address, protocol, port
// or ICMP type) → which rule of which group decides it, or the default. Answered by the server from
// the same compiled policy the node enforces.
import { zodResolver } from "@hookform/resolvers/zod";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useState } from "react";
import { type Resolver, useForm } from "react-hook-form";
import { probeInput } from "@/lib/sg";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";
import { Badge, Panel } from "../ui/misc";
import { L4Fields, toL4 } from "./l4-fields";
import { NicOptions, useNicChoices } from "./nic-choices";
import type { ExplainResult, ProbeInput, Sg } from "./types";

type ProbeForm = {
  nicId: string;
  direction: "INBOUND" | "OUTBOUND";
  remote: string;
  protocol: ProbeInput["protocol"];
  port: string;
  icmpType: string;
};

function toProbe(f: ProbeForm): ProbeInput {
  return {
    nicId: f.nicId as unknown as number,
    direction: f.direction,
    remote: f.remote,
    ...toL4(f),
  };
}

const probeResolver = zodResolver(probeInput, undefined, { raw: true });
const resolver: Resolver<ProbeForm> = async (values, context, options) => {
  const r = await probeResolver(toProbe(values), context, options as never);
  return Object.keys(r.errors).length ? { values: {}, errors: r.errors as never } : { values, errors: {} };
};

export function SgExplain({ sg, onDecided }: { sg: Sg; onDecided: (ruleId: number | null) => void }) {
  const trpc = useTRPC();
  const choices = useNicChoices(sg);
  const own = choices.own;
  const [probe, setProbe] = useState<ProbeInput | null>(null);
  const result = useQuery({
    ...trpc.sg.explain.queryOptions(probe ?? ({} as ProbeInput)),
    enabled: probe !== null,
    staleTime: 0,
  });

  const form = useForm<ProbeForm>({
    resolver,
    mode: "onChange",
    defaultValues: {
      nicId: own[0] ? String(own[0].nicId) : "",
      direction: "INBOUND",
      remote: "",
      protocol: "tcp",
      port: "",
      icmpType: "",
    },
  });
  const { register, formState, watch } = form;
  // The group's first NIC is the likely question; pick it once one exists (e.g. right after attaching).
  const firstOwn = own[0]?.nicId;
  useEffect(() => {
    if (firstOwn !== undefined && form.getValues("nicId") === "") form.setValue("nicId", String(firstOwn));
  }, [firstOwn, form]);
  const protocol = watch("protocol");
  const errors = formState.errors;

  const submit = form.handleSubmit((values) => {
    const next = toProbe(values);
    if (JSON.stringify(next) === JSON.stringify(probe)) void result.refetch();
    setProbe(next);
  });

  const answer = probe ? result.data : undefined;
  // Tell the editor which of its rows decided the last answer (or none), to highlight it.
  const decided = answer?.by === "rule" && answer.sgId === sg.id ? answer.ruleId : null;
  useEffect(() => onDecided(decided), [decided, onDecided]);
  return (
    <Panel title="Explain">
      <form noValidate onSubmit={submit} aria-label="Explain a connection" className="p-4">
        <p className="mb-3 text-sm text-slate-600">
          Which rule decides a new connection of one NIC? Answered from the NIC's compiled policy: every group
          on it, not only this one.
        </p>
        <div className="grid grid-cols-12 gap-x-3 gap-y-3">
          <Field label="NIC" error={errors.nicId?.message} className="col-span-4">
            {(c) => (
              <Select {...c} {...register("nicId")}>
                <NicOptions {...choices} />
              </Select>
            )}
          </Field>
          <Field label="Direction" error={errors.direction?.message} className="col-span-2">
            {(c) => (
              <Select {...c} {...register("direction")}>
                <option value="INBOUND">Inbound</option>
                <option value="OUTBOUND">Outbound</option>
              </Select>
            )}
          </Field>
          <Field
            label="Remote address"
            error={errors.remote?.message}
            hint="Source if inbound, destination if outbound"
            className="col-span-4"
          >
            {(c) => <Input {...c} placeholder="198.51.100.7" className="font-mono" {...register("remote")} />}
          </Field>
          <L4Fields register={register as never} errors={errors} protocol={protocol} />
          <div className="col-span-8 flex items-start pt-6">
            <Button type="submit" variant="primary" pending={probe !== null && result.isFetching}>
              Explain
            </Button>
          </div>
        </div>
        <FormError message={probe && result.isError ? result.error.message : undefined} />
        {answer && <Verdict answer={answer} sg={sg} />}
      </form>
    </Panel>
  );
}

function Verdict({ answer, sg }: { answer: ExplainResult; sg: Sg }) {
  const accepted = answer.verdict === "accept";
  const ruleHere = answer.by === "rule" && answer.sgId === sg.id;
  return (
    <output
      aria-label="Verdict"
      aria-live="polite"
      className="mt-4 flex flex-col gap-1.5 rounded-md bg-slate-50 px-3 py-3 text-sm ring-1 ring-slate-200"
    >
      <span className="flex items-center gap-2">
        <Badge tone={accepted ? "green" : "red"} data-testid="verdict">
          {accepted ? "accepted" : "dropped"}
        </Badge>
        <span data-testid="verdict-reason">
          {answer.by === "default-sg" &&
            "by the default security group, which allows all traffic (attached to this NIC's VNET)"}
          {answer.by === "rule" &&
            (ruleHere ? (
              `by rule ${answer.position} of this group (highlighted above)`
            ) : (
              <>
                by rule {answer.position} of group{" "}
                <Link
                  href={`/security-groups/${answer.sgId}`}
                  className="font-medium text-sky-800 hover:underline"
                >
                  {answer.sgName ?? answer.sgId}
                </Link>
              </>
            ))}
          {answer.by === "no-groups" &&
            "because no security group is attached to this NIC or its VNET, so it is not filtered (anti-spoofing still applies)"}
          {answer.by === "default-policy" && "no rule allows it, so the default policy drops it"}
        </span>
      </span>
      <span className="text-xs text-slate-500">
        Groups on this NIC: {answer.groups.map((g) => g.name).join(", ") || "none"}
        {answer.by === "rule" && (
          <>
            {" "}
            · counter <code className="font-mono">{answer.counter}</code>
          </>
        )}
      </span>
    </output>
  );
}
