"use client";
// The two optional quota limits (empty: unlimited), shared by the user and group dialogs.
import type { FieldErrors, UseFormRegister } from "react-hook-form";
import { TextField } from "../ui/field";

export type QuotaText = { maxVnets: string; maxLeases: string };

export function QuotaFields<T extends { quota: QuotaText }>({
  register,
  errors,
}: {
  register: UseFormRegister<T>;
  errors?: FieldErrors<QuotaText>;
}) {
  const reg = register as unknown as UseFormRegister<{ quota: QuotaText }>;
  return (
    <fieldset className="col-span-2 mt-2">
      <legend className="text-sm font-semibold text-slate-900">Quota</legend>
      <div className="mt-1 grid grid-cols-2 gap-x-4">
        <TextField
          label="Networks (VNETs) at most"
          placeholder="unlimited"
          inputMode="numeric"
          error={errors?.maxVnets?.message}
          {...reg("quota.maxVnets")}
        />
        <TextField
          label="Addresses (leases) at most"
          placeholder="unlimited"
          inputMode="numeric"
          error={errors?.maxLeases?.message}
          {...reg("quota.maxLeases")}
        />
      </div>
    </fieldset>
  );
}

/** "" → null (unlimited), else a whole number ≥ 0; a message when it is neither. */
export function parseLimit(s: string): number | null | string {
  const t = s.trim();
  if (t === "") return null;
  if (!/^\d+$/.test(t)) return "A whole number, or empty for unlimited";
  return Number(t);
}

export const limitText = (n: number | null) => (n === null ? "" : String(n));
