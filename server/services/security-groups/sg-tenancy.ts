// The tenancy side of security groups: clone (a copy of the rules owned by the caller). The
// group's lifecycle and rules live in security-groups.ts; ownership operations are generic.
import { asc, eq } from "drizzle-orm";
import { securityGroups, sgRules } from "../../../db/schema";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { assertNameFree, type Owner, ownedFor } from "../ownership";
import { mutate } from "../revision";

/** Copies a security group (USE on it) with its rules, owned by the caller and attached nowhere. */
export function cloneSg(app: App, actor: Actor, owner: Owner, id: number, name: string) {
  return mutate(app, (tx) => {
    const src = ownedFor(tx, "sg", owner, id, "use", { doing: "clone it" });
    assertNameFree(tx, "sg", name);
    const admin = owner.role === "admin";
    const row = tx
      .insert(securityGroups)
      .values({
        name,
        description: String(src.description ?? ""),
        ownerId: owner.id,
        groupId: admin ? src.groupId : owner.primaryGroupId,
        perms: admin ? src.perms : 0o600,
      })
      .returning()
      .get();
    const rules = tx.select().from(sgRules).where(eq(sgRules.sgId, id)).orderBy(asc(sgRules.position)).all();
    if (rules.length)
      tx.insert(sgRules)
        .values(rules.map(({ id: _id, ...r }) => ({ ...r, sgId: row.id })))
        .run();
    audit(tx, actor, {
      action: "sg.clone",
      objectType: "sg",
      objectId: row.id,
      objectName: name,
      detail: `from ${src.name} (#${src.id}), ${rules.length} rules`,
    });
    return { id: row.id, name };
  });
}
