"use client";
// Putting server refusals where the user looks: at the form field they concern, else at the form.
import { zodResolver } from "@hookform/resolvers/zod";
import { type FieldValues, get, type Path, type Resolver, type UseFormReturn } from "react-hook-form";
import type { z } from "zod";
import { errorMessage, fieldErrors } from "./trpc";

/**
 * Validates a form with the API's own input schema as you type, keeping the values as typed (raw):
 * the server parses the very same values again, so they are sent as the user wrote them.
 */
export function apiSchema<S extends z.ZodType<unknown, FieldValues>>(
  schema: S,
): Resolver<z.input<S>, unknown, z.input<S>> {
  return zodResolver(schema, undefined, { raw: true });
}

/** A refusal from outside tRPC (the auth client) that names the form field it concerns. */
export class FieldRefusal extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sets each server field error (paths like "name" or "nics.0.ip") on the matching form field and
 * focuses the first; a refusal with no field of its own becomes the form's `root.server` error
 * (shown by <FormError> inside the dialog: a toast would sit behind the modal's backdrop).
 */
export function showServerError<T extends FieldValues, C, O>(
  err: unknown,
  form: UseFormReturn<T, C, O>,
): void {
  const values = form.getValues();
  let placed = 0;
  const elsewhere: string[] = [];
  const fields = err instanceof FieldRefusal ? { [err.field]: [err.message] } : fieldErrors(err);
  for (const [path, messages] of Object.entries(fields)) {
    if (get(values, path) !== undefined) {
      form.setError(
        path as Path<T>,
        { type: "server", message: messages.join(" ") },
        { shouldFocus: placed === 0 },
      );
      placed++;
    } else elsewhere.push(...messages);
  }
  const rest = placed === 0 ? errorMessage(err) : elsewhere.join(" ");
  if (rest) form.setError("root.server", { type: "server", message: rest });
}

/**
 * Re-validates the other fields of a cross-field rule when one of them changes (only those the
 * user already filled in, so empty fields do not light up red before they are reached).
 */
export function revalidateTogether<T extends FieldValues>(form: UseFormReturn<T>, group: Path<T>[]) {
  return form.watch((_values, { name, type }) => {
    if (type !== "change" || !name || !group.includes(name as Path<T>)) return;
    const others = group.filter((f) => f !== name && form.getFieldState(f).isDirty);
    if (others.length) void form.trigger(others);
  });
}
