// The SQL permission filter must agree with the pure rule for every combination of bits and roles.

import { and, eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { vnets } from "../db/schema";
import { can, type Level } from "../lib/permissions";
import { permitted } from "./authz";
import { testApp, userCaller } from "./harness.testing";

describe("permitted() in SQL", () => {
  it("matches can() for random permission bits, groups and levels", async () => {
    const app = testApp();
    await userCaller(app, "owner", "user", 1);
    const ownerId = (
      app.db.$client.prepare("SELECT id FROM user WHERE username='owner'").get() as { id: string }
    ).id;
    const subjects = [
      { id: ownerId, role: "user" as const, groupIds: [1] },
      { id: "someone", role: "user" as const, groupIds: [1] },
      { id: "stranger", role: "user" as const, groupIds: [0] },
      { id: "nogroups", role: "user" as const, groupIds: [] },
    ];
    app.db.insert(vnets).values({ name: "v", ownerId, groupId: 1, bridge: "brx", perms: 0 }).run();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0o777 }),
        fc.constantFrom<Level>("use", "manage", "admin"),
        (perms, level) => {
          app.db.update(vnets).set({ perms }).run();
          const row = app.db.select().from(vnets).get()!;
          for (const s of subjects) {
            const sql = app.db
              .select({ id: vnets.id })
              .from(vnets)
              .where(and(eq(vnets.id, row.id), permitted(vnets, s, level)))
              .get();
            expect(Boolean(sql), `${s.id} ${level} ${perms.toString(8)}`).toBe(can(s, row, level));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
