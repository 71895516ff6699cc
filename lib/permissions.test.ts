import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { can, octalToPerms, permsToOctal } from "./permissions";

const owner = { id: "u1", role: "user" as const, groupIds: [5] };
const member = { id: "u2", role: "user" as const, groupIds: [5] };
const other = { id: "u3", role: "user" as const, groupIds: [9] };
const admin = { id: "a", role: "admin" as const, groupIds: [] };

describe("permissions", () => {
  it("640 lets the owner use and manage, the group use, and nobody else anything", () => {
    const obj = { ownerId: "u1", groupId: 5, perms: 0o640 };
    expect([can(owner, obj, "use"), can(owner, obj, "manage"), can(owner, obj, "admin")]).toEqual([
      true,
      true,
      false,
    ]);
    expect([can(member, obj, "use"), can(member, obj, "manage")]).toEqual([true, false]);
    expect([can(other, obj, "use"), can(other, obj, "manage"), can(other, obj, "admin")]).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("admins hold every level on everything", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0o777 }), (perms) =>
        can(admin, { ownerId: "x", groupId: 1, perms }, "admin"),
      ),
    );
  });

  it("for any bits, a user with no relation to the object gets exactly the 'other' bits", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0o777 }), (perms) => {
        const obj = { ownerId: "x", groupId: 1, perms };
        return (
          can(other, obj, "use") === ((perms & 4) !== 0) && can(other, obj, "admin") === ((perms & 1) !== 0)
        );
      }),
    );
  });

  it("octal text round-trips and rejects anything but three octal digits", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0o777 }), (p) => octalToPerms(permsToOctal(p)) === p));
    expect(permsToOctal(0o640)).toBe("640");
    expect(["8", "6400", "64", "abc", ""].map(octalToPerms)).toEqual([null, null, null, null, null]);
  });
});

describe("locks and permission bits", () => {
  it("a USE lock blocks everything, MANAGE blocks manage and admin, ADMIN only admin", async () => {
    const { lockBlocks } = await import("./permissions");
    const levels = ["use", "manage", "admin"] as const;
    expect(levels.map((l) => lockBlocks("use", l))).toEqual([true, true, true]);
    expect(levels.map((l) => lockBlocks("manage", l))).toEqual([false, true, true]);
    expect(levels.map((l) => lockBlocks("admin", l))).toEqual([false, false, true]);
    expect(levels.map((l) => lockBlocks(null, l))).toEqual([false, false, false]);
  });

  it("withBit and hasBit agree with can() and round-trip through octal", async () => {
    const { withBit, hasBit, CLASSES, permsToLetters } = await import("./permissions");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0o777 }),
        fc.constantFrom(...CLASSES),
        fc.constantFrom("use" as const, "manage" as const, "admin" as const),
        fc.boolean(),
        (perms, cls, level, on) => {
          const next = withBit(perms, cls, level, on);
          expect(hasBit(next, cls, level)).toBe(on);
          expect(octalToPerms(permsToOctal(next))).toBe(next);
          const subject = cls === "owner" ? owner : cls === "group" ? member : other;
          const obj = { ownerId: "u1", groupId: 5, perms: next };
          if (on) expect(can(subject, obj, level)).toBe(true);
        },
      ),
    );
    expect(permsToLetters(0o640)).toBe("um- u-- ---");
  });
});
