// Domain errors and their one mapping to tRPC codes (one place, so every caller answers alike).
// Services throw these;
// messages name the object and the way out; `field` puts the message at the form field.
import { TRPCError } from "@trpc/server";

export type DomainErrorKind = "conflict" | "invalid" | "not_found" | "forbidden" | "precondition";

const CODE = {
  conflict: "CONFLICT",
  invalid: "BAD_REQUEST",
  not_found: "NOT_FOUND",
  forbidden: "FORBIDDEN",
  precondition: "PRECONDITION_FAILED",
} as const;

/** A refusal a user can act on. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const conflict = (msg: string, field?: string) => new DomainError("conflict", msg, field);
export const invalid = (msg: string, field?: string) => new DomainError("invalid", msg, field);
export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);
export const forbidden = (msg: string, field?: string) => new DomainError("forbidden", msg, field);

/** Turns a DomainError into the TRPCError the client sees; other errors pass through. */
export function toTRPCError(err: unknown): unknown {
  if (err instanceof DomainError) {
    return new TRPCError({ code: CODE[err.kind], message: err.message, cause: err });
  }
  return err;
}
