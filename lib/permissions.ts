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
