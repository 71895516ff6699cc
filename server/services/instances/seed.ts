// An instance's cloud-init NoCloud seed: the URL a guest boots with (`ds=nocloud;s=<url>`), its
// documents, rotation, and the downloads (cidata ISO, context.sh) for those who may see it.
// The URL's secret is derived, never stored: HMAC-SHA256 of the instance id and its seed
// generation under a server key kept beside the database. So the URL can be shown again, a copy
// of the database alone cannot forge one, and bumping the generation retires every older URL.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { immediate } from "../../../db";
import { instances } from "../../../db/schema";
import { contextSh, type SeedDocument, type SeedInstance, seedDocument } from "../../../lib/cloud-init";
import type { Subject } from "../../../lib/permissions";
import type { App } from "../../app";
import { type Actor, audit } from "../../audit";
import { notFound } from "../../errors";
import { instanceNicContexts } from "../vnets/vnet-config";

/** Where every seed URL starts; the portal serves it to guests without a session. */
export const SEED_BASE = "/seed";

const keys = new WeakMap<App, Buffer>();

/** The server's seed key: 32 random bytes in `seed-key` beside the database (mode 600), made on
 * first use; an in-memory database (tests) gets one per App. */
function seedKey(app: App): Buffer {
  let key = keys.get(app);
  if (key) return key;
  const dbFile = app.env.BRIDGEHEAD_DB;
  if (dbFile === ":memory:") key = crypto.randomBytes(32);
  else {
    const file = path.join(path.dirname(path.resolve(dbFile)), "seed-key");
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString("base64url"), { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    key = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64url");
    if (key.length < 32) throw new Error(`${file} holds fewer than 32 bytes; delete it to make a new key`);
  }
  keys.set(app, key);
  return key;
}

/** The secret of generation `generation` of instance `id`'s seed URL (192 bits, base64url). */
function seedSecret(app: App, id: number, generation: number): string {
  return crypto
    .createHmac("sha256", seedKey(app))
    .update(`bridgehead-seed:${id}:${generation}`)
    .digest("base64url")
    .slice(0, 32);
}

/** The path a guest's NoCloud `s=` points at (cloud-init appends meta-data, user-data, …). */
export function seedPath(id: number, secret: string): string {
  return `${SEED_BASE}/${id}/${secret}/`;
}

/** The instance if the subject may see it (its owner; admins: every one), else NOT_FOUND. */
function visibleInstance(app: App, who: Subject, id: number) {
  const inst = app.db
    .select()
    .from(instances)
    .where(and(eq(instances.id, id), who.role === "admin" ? undefined : eq(instances.ownerId, who.id)))
    .get();
  if (!inst) throw notFound(`Instance ${id}`);
  return inst;
}

function seedInstance(app: App, inst: { id: number; name: string }): SeedInstance {
  return { id: inst.id, name: inst.name, nics: instanceNicContexts(app.db, inst.id) };
}

/** What the instance page shows: the seed path (the browser prefixes the portal's origin), its
 * generation, and the three documents a guest would get now. */
export function instanceSeed(app: App, who: Subject, id: number) {
  const inst = visibleInstance(app, who, id);
  const seed = seedInstance(app, inst);
  return {
    instanceId: inst.id,
    name: inst.name,
    path: seedPath(inst.id, seedSecret(app, inst.id, inst.seedGeneration)),
    generation: inst.seedGeneration,
    documents: {
      "meta-data": seedDocument(seed, "meta-data"),
      "user-data": seedDocument(seed, "user-data"),
      "network-config": seedDocument(seed, "network-config"),
    },
  };
}

/** Retires the instance's seed URL and issues the next one (audited; MANAGE = its owner or an
 * admin, as for deleting it). */
export function rotateSeed(app: App, actor: Actor, who: Subject, id: number) {
  const row = immediate(app.db, (tx) => {
    const bumped = tx
      .update(instances)
      .set({ seedGeneration: sql`${instances.seedGeneration} + 1` })
      .where(and(eq(instances.id, id), who.role === "admin" ? undefined : eq(instances.ownerId, who.id)))
      .returning()
      .get();
    if (!bumped) throw notFound(`Instance ${id}`);
    audit(tx, actor, {
      action: "instance.seed.rotate",
      objectType: "instance",
      objectId: bumped.id,
      objectName: bumped.name,
      detail: `seed URL generation ${bumped.seedGeneration - 1} → ${bumped.seedGeneration}; the old URL no longer answers`,
    });
    return bumped;
  });
  return {
    instanceId: row.id,
    generation: row.seedGeneration,
    path: seedPath(row.id, seedSecret(app, row.id, row.seedGeneration)),
  };
}

/** A seed document for a guest that presents the instance's current secret; null for anything
 * else (unknown instance, old or wrong secret), so the caller answers all of them alike. */
export function seedDocumentFor(app: App, id: number, secret: string, doc: SeedDocument): string | null {
  const inst = app.db
    .select({ id: instances.id, name: instances.name, seedGeneration: instances.seedGeneration })
    .from(instances)
    .where(eq(instances.id, id))
    .get();
  // An unknown id still pays for one HMAC and comparison: the answer's timing says nothing.
  const expected = Buffer.from(seedSecret(app, id, inst?.seedGeneration ?? 0));
  const given = Buffer.from(secret);
  const same = given.length === expected.length && crypto.timingSafeEqual(given, expected);
  if (!inst || !same) return null;
  return seedDocument(seedInstance(app, inst), doc);
}

/** The instance's seed as files (cidata ISO contents) and its context.sh, for one who may see it. */
export function seedFiles(app: App, who: Subject, id: number) {
  const inst = visibleInstance(app, who, id);
  const seed = seedInstance(app, inst);
  return {
    name: inst.name,
    files: {
      "meta-data": seedDocument(seed, "meta-data"),
      "user-data": seedDocument(seed, "user-data"),
      "network-config": seedDocument(seed, "network-config"),
    } satisfies Record<SeedDocument, string>,
    contextSh: contextSh(seed),
  };
}
