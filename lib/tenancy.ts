// API input schemas of multi-tenancy: ownership operations (chown, chgrp, chmod, lock, rename,
// clone), groups, users, quotas, reservations and automatic network selection. Shared by the
// server (tRPC .input) and the forms, like lib/schemas.ts.
import { z } from "zod";
import {
  blankOr,
  descriptionText,
  displayName,
  ipv4,
  LOCK_LEVELS,
  QUOTA_SUBJECTS,
  USER_ROLES,
} from "./domain";
import { octalToPerms } from "./permissions";
import { labelSchema } from "./templates";

const id = z.coerce.number().int().nonnegative();

export const chownInput = z.object({ id, userId: z.string().min(1, "Pick a user") });
export const chgrpInput = z.object({ id, groupId: id });
/** Permissions as octal text ("640") or the 9-bit number. */
export const chmodInput = z.object({
  id,
  perms: z.union([
    z.number().int().min(0).max(0o777),
    z
      .string()
      .trim()
      .refine((s) => octalToPerms(s) !== null, "Three octal digits, e.g. 640")
      .transform((s) => octalToPerms(s)!),
  ]),
});
export const lockInput = z.object({ id, level: z.enum(LOCK_LEVELS) });
// VNETs, templates and security groups: names people read, in any script.
export const renameInput = z.object({ id, name: displayName() });
export const cloneInput = z.object({ id, name: displayName() });

export const groupInput = z.object({
  name: displayName(32, 2),
  description: descriptionText(200).default(""),
});
export const groupUpdateInput = groupInput.extend({ id });

export const userUpdateInput = z
  .object({
    id: z.string().min(1),
    name: z.string().trim().min(1, "Name is required").max(100),
    role: z.enum(USER_ROLES),
    groupIds: z.array(id).min(1, "A user belongs to at least one group"),
    primaryGroupId: id,
  })
  .refine((u) => u.groupIds.includes(u.primaryGroupId), {
    message: "The primary group must be one of the user's groups",
    path: ["primaryGroupId"],
  });

const limit = z
  .union([z.literal("").transform(() => null), z.null(), z.coerce.number().int().min(0).max(1_000_000)])
  .default(null);
export const quotaSetInput = z.object({
  subjectType: z.enum(QUOTA_SUBJECTS),
  subjectId: z.string().min(1),
  maxVnets: limit,
  maxLeases: limit,
});

/** Reserve N addresses of a VNET the caller may USE into a new VNET of their own. */
export const reserveInput = z.object({
  vnetId: id,
  name: displayName(),
  size: z.coerce
    .number({ error: "Size must be a number" })
    .int("Size must be a whole number")
    .min(1, "Reserve at least 1 address")
    .max(65536, "At most 65536 addresses"),
  firstIp: blankOr(ipv4),
});

export const labelsInput = z.object({ id, labels: z.array(labelSchema).max(16) });

export const RANKS = ["most_free", "least_free", "newest", "oldest"] as const;
export const RANK_LABELS: Record<(typeof RANKS)[number], string> = {
  most_free: "Most free",
  least_free: "Fewest free",
  newest: "Newest",
  oldest: "Oldest",
};

/** What a NIC asking for "any VNET" requires of it, and how candidates are ranked. */
export const selectionSchema = z.object({
  labels: z
    .union([z.array(labelSchema), z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean))])
    .pipe(z.array(labelSchema).max(8))
    .default([]),
  templateId: z
    .union([z.literal("").transform(() => undefined), z.coerce.number().int().nonnegative()])
    .optional(),
  minFree: z.preprocess(
    (v) => (v === "" || v === null ? undefined : v),
    z.coerce.number().int("A whole number").min(1, "At least 1").max(65536).default(1),
  ),
  ownedOnly: z.boolean().default(false),
  rank: z.enum(RANKS).default("most_free"),
});
export type Selection = z.output<typeof selectionSchema>;

const since = z.coerce.date().optional();
export const auditListInput = z.object({
  actor: z.string().trim().max(100).optional(),
  action: z.string().trim().max(100).optional(),
  outcome: z.enum(["ok", "refused", "error"]).optional(),
  objectType: z.string().trim().max(32).optional(),
  object: z.string().trim().max(100).optional(),
  from: since,
  to: since,
  before: z.number().int().optional(),
  limit: z.number().int().min(1).max(500).default(100),
});
