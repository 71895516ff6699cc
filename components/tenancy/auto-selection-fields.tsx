"use client";
// The requirements of a NIC that asks for "any VNET": labels the VNET must carry, free addresses
// it must have, and how candidates are ranked. The VNET is chosen when the instance is placed on
// its node, among those in the node's cluster the owner may use.
import type { useForm } from "react-hook-form";
import type { InstanceCreateInput } from "@/lib/schemas";
import { RANK_LABELS, RANKS } from "@/lib/tenancy";
import { Field, Input, Select } from "../ui/field";

type FormApi = ReturnType<typeof useForm<InstanceCreateInput, unknown, InstanceCreateInput>>;

export function AutoSelectionFields({ index: i, form }: { index: number; form: FormApi }) {
  const { register } = form;
  const e = form.formState.errors.nics?.[i]?.auto;
  return (
    <div className="flex w-64 shrink-0 flex-col gap-2">
      <Field label="Required labels" error={e?.labels?.message} hint="Comma-separated; empty: any">
        {(c) => (
          <Input
            {...c}
            aria-label={`Labels of eth${i}`}
            placeholder="prod"
            {...register(`nics.${i}.auto.labels`)}
          />
        )}
      </Field>
      <div className="flex gap-2">
        <Field label="Free at least" error={e?.minFree?.message} className="w-24">
          {(c) => (
            <Input
              {...c}
              aria-label={`Free addresses of eth${i}`}
              placeholder="1"
              {...register(`nics.${i}.auto.minFree`)}
            />
          )}
        </Field>
        <Field label="Prefer" className="flex-1">
          {(c) => (
            <Select {...c} aria-label={`Rank of eth${i}`} {...register(`nics.${i}.auto.rank`)}>
              {RANKS.map((r) => (
                <option key={r} value={r}>
                  {RANK_LABELS[r]}
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>
    </div>
  );
}
