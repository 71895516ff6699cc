// OpenNebula-style permissions, pure: owner/group/other × USE/MANAGE/ADMIN packed in 9 bits
// (octal digit per class: USE=4, MANAGE=2, ADMIN=1; 0o640 = owner use+manage, group use).
export const LEVEL_BIT = { use: 4, manage: 2, admin: 1 } as const;
export type Level = keyof typeof LEVEL_BIT;

export type Subject = { id: string; role: "admin" | "user"; groupIds: number[] };
export type Owned = { ownerId: string; groupId: number; perms: number };

/** Whether `who` holds `level` on `obj`. Admins hold every level. */
export function can(who: Subject, obj: Owned, level: Level): boolean {
  if (who.role === "admin") return true;
  const bit = LEVEL_BIT[level];
  if (obj.ownerId === who.id && ((obj.perms >> 6) & bit) !== 0) return true;
  if (who.groupIds.includes(obj.groupId) && ((obj.perms >> 3) & bit) !== 0) return true;
  return (obj.perms & bit) !== 0;
}

/** 0o640 → "640" (what users type and read). */
export function permsToOctal(perms: number): string {
  return (perms & 0o777).toString(8).padStart(3, "0");
}

/** "640" → 0o640; null when not three octal digits. */
export function octalToPerms(s: string): number | null {
  return /^[0-7]{3}$/.test(s) ? Number.parseInt(s, 8) : null;
}

// ---------------------------------------------------------------------------
// Locks (OpenNebula): a lock at level L blocks every operation that needs L or a higher level,
// where use < manage < admin. USE locks everything, MANAGE locks manage and admin operations,
// ADMIN locks only admin operations. Unlocking is never blocked by the lock itself.
// ---------------------------------------------------------------------------
const RANK: Record<Level, number> = { use: 0, manage: 1, admin: 2 };

/** Whether an object locked at `lock` refuses an operation that needs `level`. */
export function lockBlocks(lock: Level | null | undefined, level: Level): boolean {
  return lock != null && RANK[level] >= RANK[lock];
}

/** The levels `who` holds on `obj` (what the UI shows and enables). */
export function levelsOf(who: Subject, obj: Owned): Record<Level, boolean> {
  return { use: can(who, obj, "use"), manage: can(who, obj, "manage"), admin: can(who, obj, "admin") };
}

export const CLASSES = ["owner", "group", "other"] as const;
export type PermClass = (typeof CLASSES)[number];
const SHIFT: Record<PermClass, number> = { owner: 6, group: 3, other: 0 };

/** Whether `perms` grants `level` to `cls`. */
export function hasBit(perms: number, cls: PermClass, level: Level): boolean {
  return ((perms >> SHIFT[cls]) & LEVEL_BIT[level]) !== 0;
}

/** `perms` with the `level` bit of `cls` set to `on` (the checkbox grid). */
export function withBit(perms: number, cls: PermClass, level: Level, on: boolean): number {
  const bit = LEVEL_BIT[level] << SHIFT[cls];
  return on ? perms | bit : perms & ~bit & 0o777;
}

/** "um-" per class, e.g. 0o640 → "um- u-- ---" (OpenNebula's listing). */
export function permsToLetters(perms: number): string {
  return CLASSES.map((c) =>
    (["use", "manage", "admin"] as const).map((l) => (hasBit(perms, c, l) ? l[0] : "-")).join(""),
  ).join(" ");
}
