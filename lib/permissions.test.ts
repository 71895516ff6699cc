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
