"use client";
// Explain A→B: a new connection from one NIC to another NIC (or an outside address) → every check
// it meets on the node, in order (the source's lease, A's outbound groups, isolation between VNETs,
// B's inbound groups), and the one that decides. Answered by the server from the policies the
// nodes enforce.
import { zodResolver } from "@hookform/resolvers/zod";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useState } from "react";
import { type Resolver, useForm } from "react-hook-form";
import { pathProbeInput } from "@/lib/sg";
import type { AppRouter } from "@/server/routers/root";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";
import { Badge, Panel } from "../ui/misc";
import { L4Fields, toL4 } from "./l4-fields";

type PathInput = inferRouterInputs<AppRouter>["sg"]["explainPath"];
type PathResult = inferRouterOutputs<AppRouter>["sg"]["explainPath"];
type Step = PathResult["steps"][number];

type PathForm = {
  fromNicId: string;
  target: "nic" | "address";
  toNicId: string;
  toAddress: string;
  family: "ip4" | "ip6";
  protocol: PathInput["protocol"];
  port: string;
  icmpType: string;
};

function toInput(f: PathForm): PathInput {
  return {
    fromNicId: (f.fromNicId || undefined) as unknown as number,
    ...(f.target === "nic"
      ? { toNicId: (f.toNicId || undefined) as unknown as number, family: f.family }
      : { toAddress: f.toAddress.trim() }),
    ...toL4(f),
  };
}

const schemaResolver = zodResolver(pathProbeInput, undefined, { raw: true });
const resolver: Resolver<PathForm> = async (values, context, options) => {
  const r = await schemaResolver(toInput(values), context, options as never);
  const errors = { ...r.errors } as Record<string, unknown>;
  // The "which NIC or address" message belongs to whichever of the two the form shows.
  if (values.target === "address" && errors.toNicId) {
    errors.toAddress = errors.toNicId;
    delete errors.toNicId;
  }
  if (!values.fromNicId)
    errors.fromNicId = { type: "required", message: "Pick the NIC the connection starts from" };
  return Object.keys(errors).length ? { values: {}, errors: errors as never } : { values, errors: {} };
};

export function SgExplainPath() {
  const trpc = useTRPC();
  const instances = useQuery(trpc.instance.list.queryOptions());
  const nics =
    instances.data?.flatMap((i) =>
      i.nics.map((n) => ({ nicId: n.nicId, label: `${i.name} eth${n.idx} (${n.vnetName})` })),
    ) ?? [];
  const [input, setInput] = useState<PathInput | null>(null);
  const result = useQuery({
    ...trpc.sg.explainPath.queryOptions(input ?? ({} as PathInput)),
    enabled: input !== null,
    staleTime: 0,
  });
  const form = useForm<PathForm>({
    resolver,
    mode: "onSubmit",
    reValidateMode: "onChange",
    defaultValues: {
      fromNicId: "",
      target: "nic",
      toNicId: "",
      toAddress: "",
      family: "ip4",
      protocol: "tcp",
      port: "",
      icmpType: "",
    },
  });
  const { register, formState, watch } = form;
  const errors = formState.errors;
  const protocol = watch("protocol");
  const target = watch("target");
  const submit = form.handleSubmit((values) => {
    const next = toInput(values);
    if (JSON.stringify(next) === JSON.stringify(input)) void result.refetch();
    setInput(next);
  });
  const options = (
    <>
      <option value="">{instances.isPending ? "Loading…" : "Pick a NIC"}</option>
      {nics.map((n) => (
        <option key={n.nicId} value={String(n.nicId)}>
          {n.label}
        </option>
      ))}
    </>
  );
  const answer = input ? result.data : undefined;

  return (
    <Panel title="Explain a connection from A to B">
      <form noValidate onSubmit={submit} aria-label="Explain a connection from A to B" className="p-4">
        <p className="mb-3 text-sm text-slate-600">
          Can NIC A open a connection to NIC B, or to an address outside? Every check on the way is shown in
          the order the node applies it: A's address, A's outbound groups, isolation between VNETs, B's
          inbound groups. Replies of an accepted connection pass.
        </p>
        {!instances.isPending && nics.length === 0 && (
          <p className="mb-3 text-sm text-slate-600">
            No NICs yet:{" "}
            <Link href="/instances" className="font-medium text-sky-800 hover:underline">
              create an instance
            </Link>{" "}
            with a NIC first.
          </p>
        )}
        <div className="grid grid-cols-12 gap-x-3 gap-y-3">
          <Field label="From NIC (A)" error={errors.fromNicId?.message} className="col-span-4">
            {(c) => (
              <Select {...c} {...register("fromNicId")}>
                {options}
              </Select>
            )}
          </Field>
          <Field label="To" className="col-span-2">
            {(c) => (
              <Select {...c} {...register("target")}>
                <option value="nic">a NIC (B)</option>
                <option value="address">an address</option>
              </Select>
            )}
          </Field>
          {target === "nic" ? (
            <>
              <Field label="To NIC (B)" error={errors.toNicId?.message} className="col-span-4">
                {(c) => (
                  <Select {...c} {...register("toNicId")}>
                    {options}
                  </Select>
                )}
              </Field>
              <Field label="Addresses" className="col-span-2">
                {(c) => (
                  <Select {...c} {...register("family")}>
                    <option value="ip4">IPv4</option>
                    <option value="ip6">IPv6</option>
                  </Select>
                )}
              </Field>
            </>
          ) : (
            <Field label="To address" error={errors.toAddress?.message} className="col-span-6">
              {(c) => (
                <Input {...c} placeholder="198.51.100.7" className="font-mono" {...register("toAddress")} />
              )}
            </Field>
          )}
          <L4Fields register={register as never} errors={errors} protocol={protocol} />
          <div className="col-span-6 flex items-start pt-6">
            <Button type="submit" variant="primary" pending={input !== null && result.isFetching}>
              Explain
            </Button>
          </div>
        </div>
        <FormError message={input && result.isError ? result.error.message : undefined} />
        {answer && <PathVerdict answer={answer} />}
      </form>
    </Panel>
  );
}

const CHECK: Record<Step["check"], string> = {
  source: "A's address",
  destination: "B's address",
  outbound: "A's outbound groups",
  isolation: "Between VNETs",
  inbound: "B's inbound groups",
};

function PathVerdict({ answer }: { answer: PathResult }) {
  const accepted = answer.verdict === "accept";
  const to = "address" in answer.to ? answer.to.address : answer.to.name;
  return (
    <output
      aria-label="Path verdict"
      aria-live="polite"
      className="mt-4 flex flex-col gap-2 rounded-md bg-slate-50 px-3 py-3 text-sm ring-1 ring-slate-200"
    >
      <span className="flex items-center gap-2">
        <Badge tone={accepted ? "green" : "red"} data-testid="path-verdict">
          {accepted ? "reaches" : "dropped"}
        </Badge>
        <span>
          {answer.from.name}
          {answer.source ? ` (${answer.source})` : ""} → {to}
          {answer.destination && !("address" in answer.to) ? ` (${answer.destination})` : ""}
        </span>
      </span>
      <ol className="flex flex-col gap-1" aria-label="Checks on the way">
        {answer.steps.map((step, i) => {
          const ok = ("message" in step ? step.verdict : step.verdict.verdict) === "accept";
          const deciding = answer.decidedBy === i;
          return (
            <li
              key={step.check}
              data-testid={`path-step-${step.check}`}
              aria-current={deciding ? "step" : undefined}
              className={`flex items-baseline gap-2 rounded px-2 py-1 ${deciding ? "bg-red-50 ring-1 ring-red-200" : ""}`}
            >
              <span aria-hidden className={ok ? "text-green-700" : "text-red-700"}>
                {ok ? "✓" : "✗"}
              </span>
              <span className="w-40 shrink-0 font-medium text-slate-700">{CHECK[step.check]}</span>
              <span className="min-w-0">
                {"message" in step ? step.message : <GroupStep step={step} />}
                {deciding && <span className="ml-2 text-xs font-medium text-red-700">decides</span>}
              </span>
            </li>
          );
        })}
      </ol>
    </output>
  );
}

function GroupStep({ step }: { step: Extract<Step, { check: "outbound" | "inbound" }> }) {
  const v = step.verdict;
  const on = `on ${step.nicName}`;
  if (v.by === "default-sg")
    return <>accepted by the default security group {on}, which allows all traffic</>;
  if (v.by === "no-groups") return <>no security group {on}: not filtered</>;
  if (v.by === "default-policy")
    return (
      <>
        no rule of {step.groups.map((g) => g.name).join(", ") || "its groups"} {on} allows it, so the default
        policy drops it; add a rule to one of them
      </>
    );
  return (
    <>
      accepted by rule {step.position} of group{" "}
      <Link href={`/security-groups/${v.sgId}`} className="font-medium text-sky-800 hover:underline">
        {step.sgName ?? v.sgId}
      </Link>{" "}
      {on}
    </>
  );
}
