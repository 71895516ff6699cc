"use client";
// The one shape of a form that sends a mutation: validated as you type, server refusals at the
// field they concern (else under the form), Cancel and a submit button that shows progress and
// holds the dialog open while the request is pending, then the success toast and closing. The
// caller's mutation options keep only the cache side (invalidate, returning its promise): the
// mutation is pending until the refetch landed, so the dialog closes on fresh data.
import type { ReactNode } from "react";
import {
  type DefaultValues,
  type FieldValues,
  type Mode,
  type Resolver,
  type UseFormReturn,
  useForm,
} from "react-hook-form";
import { toast } from "sonner";
import { showServerError } from "../form";
import { Button } from "./button";
import { Dialog, DialogFooter } from "./dialog";
import { FormError } from "./field";

/** What the shell needs of a TanStack mutation (any `useMutation` result fits). */
export type MutationLike<TVars, TData = unknown> = {
  isPending: boolean;
  mutate: (
    vars: TVars,
    options: { onSuccess: (data: TData, vars: TVars) => void; onError: (err: unknown) => void },
  ) => void;
};

/** Sends variables through the mutation with the form's server-error handling (for extra buttons). */
export type Send<TVars> = (vars: TVars) => void;

/**
 * The form a MutationForm hands its children. Name it on the children's parameter: TypeScript
 * does not infer a form's types from its resolver while a callback in the same props needs them.
 */
export type FormOf<TIn extends FieldValues, TOut = TIn> = UseFormReturn<TIn, unknown, TOut>;

export type MutationFormProps<TIn extends FieldValues, TOut, TVars, TData = unknown> = {
  /** The form's accessible name (none where it would repeat a field's label: "Rename" ~ "Name"). */
  label?: string;
  submitLabel: ReactNode;
  /** Validation as you type (none: the server's refusals are all there is). */
  resolver?: Resolver<TIn, unknown, TOut>;
  defaultValues: NoInfer<DefaultValues<TIn>>;
  /** When fields are validated; as you type unless said otherwise. */
  mode?: Mode;
  mutation: MutationLike<TVars, TData>;
  /** The success toast; the form closes (onClose) after it. */
  success?: (data: TData, vars: TVars) => string;
  /** Warnings the server returned with a success, one toast each. */
  warnings?: (data: TData) => string[];
  /** What a success leads to instead of closing (a result to show, a page to open). */
  onSuccess?: (data: TData, vars: TVars) => void;
  /** The mutation's variables from the form's values (the values themselves if not given);
   * undefined sends nothing (it may set a field error instead). */
  toVariables?: (values: TOut, form: FormOf<TIn, TOut>) => TVars | undefined;
  /** Buttons between Cancel and submit (e.g. "Inherit"), sending through the same mutation. */
  extraButtons?: (send: Send<TVars>) => ReactNode;
  /** Cancel, and the end of a success unless onSuccess is given. */
  onClose: () => void;
  /** The fields, given the form. */
  children: (form: FormOf<TIn, TOut>) => ReactNode;
};

/**
 * A form whose submit sends `toVariables(values)` (or the values) through `mutation`; returning
 * undefined from `toVariables` sends nothing (it may set a field error instead).
 */
export function MutationForm<TIn extends FieldValues, TOut, TVars, TData = unknown>(
  props: MutationFormProps<TIn, TOut, TVars, TData>,
) {
  const {
    label,
    submitLabel,
    resolver,
    defaultValues,
    mode = "onChange",
    mutation,
    extraButtons,
    onClose,
  } = props;
  const form = useForm<TIn, unknown, TOut>({ resolver, mode, defaultValues });
  const succeeded = (data: TData, vars: TVars) => {
    const message = props.success?.(data, vars);
    if (message) toast.success(message);
    for (const w of props.warnings?.(data) ?? []) toast.warning(w);
    if (props.onSuccess) props.onSuccess(data, vars);
    else onClose();
  };
  const send: Send<TVars> = (vars) =>
    mutation.mutate(vars, { onSuccess: succeeded, onError: (err) => showServerError(err, form) });
  const pending = mutation.isPending;
  return (
    <form
      noValidate
      aria-label={label}
      onSubmit={form.handleSubmit((values) => {
        const vars = props.toVariables ? props.toVariables(values, form) : (values as unknown as TVars);
        if (vars !== undefined) send(vars);
      })}
    >
      {props.children(form)}
      <FormError message={form.formState.errors.root?.server?.message} />
      <DialogFooter>
        <Button onClick={onClose} disabled={pending}>
          Cancel
        </Button>
        {extraButtons?.(send)}
        <Button type="submit" variant="primary" pending={pending}>
          {submitLabel}
        </Button>
      </DialogFooter>
    </form>
  );
}

type DialogProps = {
  /** Defaults to true, for dialogs that are mounted only while shown. */
  open?: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  size?: "md" | "lg" | "xl";
};

/**
 * A dialog around a MutationForm: it cannot be dismissed while the request is pending, and the
 * form starts fresh every time it opens (the dialog mounts its content only while open).
 */
export function MutationDialog<TIn extends FieldValues, TOut, TVars, TData = unknown>(
  props: DialogProps & MutationFormProps<TIn, TOut, TVars, TData>,
) {
  const { open = true, onClose, title, description, size, ...form } = props;
  return (
    <Dialog
      open={open}
      onClose={onClose}
      dismissable={!props.mutation.isPending}
      size={size}
      title={title}
      description={description}
    >
      <MutationForm {...form} onClose={onClose} />
    </Dialog>
  );
}
