// API token inputs, shared by the profile page's form and the server (one schema, one message).
import { z } from "zod";

/** Every API token starts with this (node credentials are bhc_, join tokens bhj_). */
export const API_TOKEN_PREFIX = "bht_";

/** Lifetimes offered on the profile page; null is "never expires". */
export const TOKEN_LIFETIMES_DAYS = [7, 30, 90, 365] as const;

export const tokenCreateInput = z.object({
  name: z
    .string()
    .trim()
    .min(1, "Give the token a name, e.g. the script that uses it")
    .max(64, "At most 64 characters"),
  /** Days until it expires; null for a token that never expires. */
  expiresInDays: z
    .number()
    .int("Whole days")
    .min(1, "At least 1 day")
    .max(3650, "At most 3650 days (10 years)")
    .nullable(),
  readOnly: z.boolean(),
});

export const tokenIdInput = z.object({ id: z.coerce.number().int().nonnegative() });
