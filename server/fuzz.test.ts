// Property test over every tRPC procedure, enumerated from the router (a new procedure is covered
// without touching this file): malformed inputs of every kind, and valid-looking inputs with one
// field corrupted (derived from the procedure's own zod input schema, so validation below the top
// level and the services behind it are reached), as an admin, a user, anonymous and — for agent
// procedures — with and without a node credential. No call may end in INTERNAL_SERVER_ERROR, and a
// call that was refused must leave every table but the audit log exactly as it was.

import { TRPCError } from "@trpc/server";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../db";
import * as schema from "../db/schema";
import { type App, appOn } from "./app";
import { callerFor, fixtureUser, snapshot, testApp } from "./harness.testing";
import { appRouter, createCaller } from "./routers/root";
import { type Context, loadSessionUser } from "./trpc";

type Proc = {
  _def: { type: "query" | "mutation" | "subscription"; inputs: unknown[] };
};
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Proc>).sort(
  ([a], [b]) => a.localeCompare(b),
);

// ---------------------------------------------------------------------------
// Malformed values of every kind
// ---------------------------------------------------------------------------
const NASTY_STRINGS = [
  "",
  " ",
  "not-an-ip",
  "10.0.0.0/99",
  "10.1.0.999",
  "10.1.0.0/24",
  "10.1.0.1/33",
  "10.1.0",
  "010.001.000.010",
  "0.0.0.0",
  "255.255.255.255",
  "::",
  ":::::",
  "2001:db8::/200",
  "2001:db8::1/64",
  "fe80::1%eth0",
  "::ffff:10.1.0.20",
  "gggg::1",
  "02:00:0a:01:00:zz",
  "ff:ff:ff:ff:ff:ff",
  "02-00-0a-01-00-14",
  "auto",
  "-1",
  "1e400",
  "NaN",
  "0x10",
  "__proto__",
  "constructor",
  "' OR 1=1 --",
  "%_\\",
  "eth0",
  "bhbr1",
  "a-very-long-interface-name",
  "💥🧨",
  "\u0000",
  "\n\t",
  "é".repeat(300),
  "x".repeat(5000),
  "1".repeat(400),
];
const BAD_NUMBERS = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 0];
/** The malformed addresses every string field of an example is tried with. */
const SWEEP = [
  "not-an-ip",
  "10.0.0.0/99",
  "10.1.0.999",
  "010.1.1.1",
  "fe80::1%eth0",
  "02:00:0a:01:00:zz",
  "",
];
const NASTY = [
  undefined,
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  1e308,
  [],
  [null],
  {},
  new Date(Number.NaN),
  ...NASTY_STRINGS,
];

const malformed: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.constantFrom(...NASTY), { maxLength: 4 }),
  fc.dictionary(
    fc.constantFrom("id", "vnetId", "from", "ip", "name", "nics", "extra"),
    fc.constantFrom(...NASTY),
    {
      maxKeys: 3,
    },
  ),
  fc.anything({ maxDepth: 2 }),
);

// ---------------------------------------------------------------------------
// Valid-looking values derived from a zod 4 schema (its `_zod.def`), by field name where a string's
// meaning cannot be read from the schema (refinements are opaque).
// ---------------------------------------------------------------------------
type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

const STRING_BY_KEY: Record<string, string[]> = {
  ip: ["10.1.0.20", "10.1.0.60", "10.2.0.1"],
  firstIp: ["10.1.0.20", "10.7.0.10", ""],
  gateway: ["10.7.0.1", "10.1.0.1", ""],
  from: ["10.1.0.20", "10.1.0.11", "02:00:0a:01:00:14", "2001:db8:1::10"],
  to: ["10.1.0.25", ""],
  address: ["10.1.0.10", "02:00:0a:01:00:0a"],
  subnet: ["10.7.0.0/24", "10.1.0.0/24"],
  mac: ["02:00:0a:07:00:01", ""],
  ip6: ["2001:db8:1::10", ""],
  gateway6: ["2001:db8:1::1", ""],
  globalPrefix: ["2001:db8:1::/64", ""],
  ulaPrefix: ["fd00:1::/64", ""],
  dns: ["10.1.0.1, 1.1.1.1", ""],
  searchDomains: ["lab.example", ""],
  bridge: ["br-fuzz", ""],
  phydev: ["eth9", ""],
  uplink: ["eth9"],
  vtep: ["192.0.2.10"],
  name: ["fuzz-a", "fuzz-b"],
  username: ["fuzzer"],
  password: ["password-password"],
  reason: ["maintenance"],
  perms: ["640", "600"],
  level: ["manage"],
  inboundAvg: ["100 Mbit/s", ""],
  outboundAvg: ["10 MB/s", ""],
  requestId: ["00000000-0000-4000-8000-000000000000"],
  userId: ["u-alice", "u-root"],
  id: ["u-alice"],
  subjectId: ["u-alice", "1"],
  token: ["bhj_0000000000000000"],
  json: [
    '[{"network_name":"hx","network_gateway":"10.9.0.1","network_subnet":"10.9.0.0/24","network_range_start":"10.9.0.10","network_range_end":"10.9.0.20","bridge_interface":"br-hx"}]',
  ],
};
// The seeded objects of each kind have ids 1 and 2 (see seed()); 0 and 3 name none or another's.
const IDS = [1, 1, 2, 2, 0, 3];

function plausible(schema: unknown, key = "", depth = 0): fc.Arbitrary<unknown> {
  const d = defOf(schema);
  if (depth > 6) return fc.constant(undefined);
  const inner = (s: unknown) => plausible(s, key, depth + 1);
  switch (d.type) {
    case "string": {
      const known = STRING_BY_KEY[key];
      return known ? fc.constantFrom(...known) : fc.constantFrom("fuzz", "x", "");
    }
    case "number":
    case "int":
      return /id$/i.test(key) || key === "id"
        ? fc.constantFrom(...IDS)
        : fc.constantFrom(0, 1, 2, 10, 24, 64, 100, 1500);
    case "bigint":
      return fc.constant(1n);
    case "boolean":
      return fc.boolean();
    case "date":
      return fc.constant(new Date(Date.now() + 3_600_000));
    case "null":
    case "undefined":
    case "void":
      return fc.constant(d.type === "null" ? null : undefined);
    case "literal":
      return fc.constantFrom(...(d.values as unknown[]));
    case "enum":
      return fc.constantFrom(...Object.values(d.entries as Record<string, unknown>));
    case "optional":
    case "nonoptional":
    case "readonly":
    case "catch":
      return fc.oneof(inner(d.innerType), fc.constant(undefined));
    case "nullable":
      return fc.oneof({ weight: 3, arbitrary: inner(d.innerType) }, fc.constant(null));
    case "default":
    case "prefault":
      return fc.oneof(inner(d.innerType), fc.constant(undefined));
    case "pipe":
      // A transform's input side says what the caller sends.
      return defOf(d.in).type === "transform" ? inner(d.out) : inner(d.in);
    case "transform":
      return fc.constant(undefined);
    case "lazy":
      return inner((d.getter as () => unknown)());
    case "array":
      return fc.array(plausible(d.element, key, depth + 1), { minLength: 1, maxLength: 2 });
    case "tuple":
      return fc.tuple(...(d.items as unknown[]).map(inner));
    case "record":
      return fc.dictionary(fc.constantFrom("KEY", "A_B"), plausible(d.valueType, "", depth + 1), {
        maxKeys: 2,
      });
    case "union":
      return fc.oneof(...(d.options as unknown[]).map(inner));
    case "intersection":
      return inner(d.left);
    case "object": {
      const shape = d.shape as Record<string, unknown>;
      return fc.record(
        Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, plausible(s, k, depth + 1)])),
      );
    }
    default:
      return fc.constant(undefined);
  }
}

/** Every place in a value where a corrupted value can go (the root, object fields, array items). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  else if (v && typeof v === "object" && !(v instanceof Date))
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

const valueAt = (v: unknown, path: (string | number)[]) =>
  path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], v);

function setAt(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head!] = setAt(copy[head!], rest, value);
  return copy;
}

/** A valid (or valid-looking) input with one place corrupted, or with an unexpected key added. */
function nearValid(bases: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(bases, fc.nat(), malformed, fc.boolean()).map(([base, pick, bad, extraKey]) => {
    const places = paths(base);
    const path = places[pick % places.length]!;
    if (!extraKey) {
      // A string field mostly gets a malformed string (the forms send strings), a number a bad number.
      const old = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], base);
      const sameKind =
        typeof old === "string"
          ? NASTY_STRINGS[pick % NASTY_STRINGS.length]
          : typeof old === "number"
            ? BAD_NUMBERS[pick % BAD_NUMBERS.length]
            : bad;
      return setAt(base, path, pick % 3 === 0 ? bad : sameKind);
    }
    const objects = places.filter((p) => {
      const v = p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], base);
      return v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
    });
    if (objects.length === 0) return setAt(base, path, bad);
    const obj = objects[pick % objects.length]!;
    return setAt(base, [...obj, "unexpected"], bad);
  });
}

// Valid inputs, against the seeded objects, for procedures whose cross-field rules the schema walk
// rarely satisfies (a rule list, a network plan, a report). Each is checked against its schema
// first, so a stale example fails loudly instead of quietly fuzzing less deeply.
const rule = { protocol: "TCP", direction: "INBOUND", ip: "192.0.2.0", size: 16, range: "22,80:90" };
const templateAttrs = {
  driver: "bridge",
  networkType: "internal",
  subnet: "10.200.0.0/24",
  gateway: "10.200.0.1",
};
const EXAMPLES: Record<string, unknown[]> = {
  "agent.report": [
    {
      nodeId: 1,
      revision: 1,
      ok: true,
      operations: 0,
      durationMs: 1,
      networks: [],
      ports: [],
      vtep: "192.0.2.10",
    },
  ],
  "agent.preview": [{ nodeId: 1, requestId: "00000000-0000-4000-8000-000000000000", lines: ["x"] }],
  "instance.create": [{ name: "vm9", nodeId: 1, nics: [{ vnetId: 1, ip: "10.1.0.30" }, { vnetId: 2 }] }],
  "lease.hold": [{ vnetId: 1, from: "10.1.0.20", to: "10.1.0.22", reason: "spare" }],
  "lease.release": [{ vnetId: 1, from: "10.1.0.40" }],
  "range.add": [
    { vnetId: 1, range: { type: "ip4", ip: "10.1.0.100", size: 10, mac: "02:00:0a:01:00:64" } },
    { vnetId: 1, range: { type: "ip6_static", ip6: "2001:db8:9::10", size: 4 } },
    { vnetId: 1, range: { type: "ip4_6", ip: "10.1.0.120", size: 4, globalPrefix: "2001:db8:1::/64" } },
  ],
  "sg.create": [
    { name: "db", description: "", rules: [rule, { protocol: "ICMPv6", direction: "OUTBOUND" }] },
  ],
  "sg.update": [{ id: 1, name: "web", description: "", rules: [rule] }],
  "sg.explain": [{ nicId: 1, direction: "INBOUND", remote: "192.0.2.5", protocol: "tcp", port: 22 }],
  "template.allocate": [{ name: "tpl2", description: "", attrs: templateAttrs, perms: "640" }],
  "template.update": [{ id: 1, name: "Private IPv4", description: "", attrs: templateAttrs }],
  "template.preview": [{ templateId: 1, name: "net9", size: 4, firstIp: "", ipv6: true }],
  "template.instantiate": [{ templateId: 1, name: "net9", size: 4, ipv6: true }],
  "user.update": [{ id: "u-alice", name: "Alice", role: "user", groupIds: [1], primaryGroupId: 1 }],
  "vnet.create": [
    {
      name: "net9",
      subnet: "10.9.0.0/24",
      gateway: "10.9.0.1",
      firstIp: "10.9.0.10",
      size: 20,
      dns: "10.9.0.1",
    },
  ],
  "vnet.update": [{ id: 1, name: "net1", mtu: 1400, bridge: "br-net1", antiSpoofing: true }],
  "vnet.setContext": [
    {
      id: 1,
      context: { gateway6: "2001:db8:1::1", dns: "10.1.0.1, 2001:db8::53", searchDomains: "lab.example" },
    },
  ],
  "vnet.setQos": [
    { id: 1, qos: { inboundAvg: "100 Mbit/s", inboundPeak: "200 Mbit/s", inboundBurst: "64 KB" } },
  ],
  "vnet.setNicQos": [{ nicId: 1, qos: { outboundAvg: "10 Mbit/s" } }],
  "vnet.setNicContext": [{ nicId: 1, context: { dns: "1.1.1.1" } }],
  "vnet.reserve": [{ vnetId: 1, name: "part", size: 4, firstIp: "10.1.0.50" }],
  "vnet.setPools": [{ vlan: { from: 100, to: 200 }, vni: null }],
};

function inputsFor(path: string, proc: Proc): fc.Arbitrary<unknown> {
  const schema = proc._def.inputs[0] as
    | { safeParse(v: unknown): { success: boolean; error?: unknown } }
    | undefined;
  if (!schema) return malformed;
  const examples = EXAMPLES[path] ?? [];
  for (const e of examples) expect(schema.safeParse(e).error, `example input of ${path}`).toBeUndefined();
  const bases = examples.length
    ? fc.oneof(plausible(schema), fc.constantFrom(...examples))
    : plausible(schema);
  return fc.oneof(
    { weight: 1, arbitrary: malformed },
    { weight: 1, arbitrary: bases },
    { weight: 4, arbitrary: nearValid(bases) },
  );
}

// ---------------------------------------------------------------------------
// A seeded database: a VNET with a range, a node with an agent credential, an instance, a security
// group with a rule on the VNET, a hold, and a user's own VNET from the Private IPv4 template.
// ---------------------------------------------------------------------------
async function seed() {
  const app = testApp();
  const admin = fixtureUser(app, "root", "admin", [0]);
  const alice = fixtureUser(app, "alice", "user", [1]);
  const vnet = await admin.caller.vnet.create({
    name: "net1",
    subnet: "10.1.0.0/24",
    gateway: "10.1.0.1",
    firstIp: "10.1.0.10",
    size: 50,
  });
  const node = await admin.caller.node.create({ name: "node1" });
  const { credential } = await callerFor(app, null).agent.join({ token: node.joinToken });
  await admin.caller.instance.create({ name: "vm1", nodeId: node.id, nics: [{ vnetId: vnet.id }] });
  const sg = await admin.caller.sg.create({
    name: "web",
    rules: [{ protocol: "TCP", direction: "INBOUND", range: "22,80" }],
  });
  await admin.caller.sg.setVnet({ vnetId: vnet.id, sgId: sg.id, attached: true });
  await admin.caller.lease.hold({ vnetId: vnet.id, from: "10.1.0.40", reason: "router" });
  const tpl = (await alice.caller.template.list()).find((t) => t.name === "Private IPv4")!;
  const own = await alice.caller.template.instantiate({ templateId: tpl.id, name: "alice-net", size: 8 });
  await alice.caller.instance.create({ name: "alice-vm", nodeId: node.id, nics: [{ vnetId: own.id }] });
  return { app, adminId: admin.id, aliceId: alice.id, credential };
}

type Who = "admin" | "user" | "anonymous" | "node" | "stranger";
type Fixture = Awaited<ReturnType<typeof seed>>;

let seeded: Fixture;
let image: Buffer;
beforeAll(async () => {
  seeded = await seed();
  image = seeded.app.db.$client.serialize();
});

/** A copy of the seeded database in a new App (seeding once and copying is ~30x faster than
 * seeding per procedure), so no procedure sees what another one's successful calls did. */
function fresh(): Fixture {
  const sqlite = new Database(image);
  sqlite.pragma("foreign_keys = ON");
  const db = drizzle(sqlite, { schema }) as Db;
  const app = appOn(seeded.app.env, db);
  return { ...seeded, app };
}

const statements = new WeakMap<object, [string, Database.Statement][]>();
/** Every table but the audit log and sessions (refusals are audited; sessions are better-auth's),
 * as one string: the exact rows, in rowid order. Same tables as snapshot, statements prepared
 * once per database because this runs twice per call. */
function dump(app: App): string {
  const s = app.db.$client;
  let stmts = statements.get(s);
  if (!stmts) {
    stmts = Object.keys(snapshot(app)).map((t) => [t, s.prepare(`SELECT * FROM "${t}" ORDER BY rowid`)]);
    statements.set(s, stmts);
  }
  return JSON.stringify(Object.fromEntries(stmts.map(([t, st]) => [t, st.all()])));
}

/** The context of one caller: a session user, anonymous, or an agent with (or with a forged) credential. */
function contextOf(f: Fixture, who: Who): Context {
  const userId = who === "admin" ? f.adminId : who === "user" ? f.aliceId : null;
  const headers: Record<string, string> =
    who === "node"
      ? { authorization: `Bearer ${f.credential}` }
      : who === "stranger"
        ? { authorization: "Bearer bhc_forged" }
        : {};
  return {
    app: f.app,
    db: f.app.db,
    user: userId ? loadSessionUser(f.app, userId) : null,
    headers: new Headers(headers),
    ip: "127.0.0.1",
  };
}

/** Calls one procedure by its dotted path; a subscription is opened, read once briefly and closed. */
async function call(f: Fixture, who: Who, path: string, input: unknown): Promise<void> {
  const ac = new AbortController();
  const caller = createCaller(contextOf(f, who), { signal: ac.signal });
  const fn = path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (
    i: unknown,
  ) => Promise<unknown>;
  try {
    const out = await fn(input);
    if (out && typeof out === "object" && Symbol.asyncIterator in out) {
      const first = (out as AsyncIterable<unknown>)[Symbol.asyncIterator]().next();
      await Promise.race([first, new Promise((r) => setTimeout(r, 5))]);
      ac.abort();
      await first.catch(() => undefined);
    }
  } finally {
    ac.abort();
  }
}

// Runs per caller role and procedure; FUZZ_RUNS=120 for a deeper hunt (36,000 calls, ~3.5 min).
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const stats = { calls: 0, procedures: new Set<string>(), codes: new Map<string, number>() };
const count = (code: string) => stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);

/** One call: it may succeed or be refused, never fail inside; a refusal leaves every table as it was. */
async function check(f: Fixture, who: Who, path: string, input: unknown): Promise<void> {
  const before = dump(f.app);
  stats.calls++;
  let err: unknown = null;
  await call(f, who, path, input).catch((e: unknown) => {
    err = e;
  });
  if (err === null) {
    count("OK");
    return;
  }
  expect(err, "a non-tRPC error escaped").toBeInstanceOf(TRPCError);
  const e = err as TRPCError;
  count(e.code);
  expect(
    e.code,
    `${path} as ${who} answered ${e.code}: ${e.message}${e.cause ? ` (cause: ${String(e.cause)})` : ""}`,
  ).not.toBe("INTERNAL_SERVER_ERROR");
  const after = dump(f.app);
  if (after !== before)
    expect(JSON.parse(after), `${path} as ${who} was refused (${e.code}) but wrote`).toEqual(
      JSON.parse(before),
    );
}

describe("every tRPC procedure under malformed input", () => {
  afterAll(() => {
    const codes = [...stats.codes.entries()].sort(([, a], [, b]) => b - a);
    console.log(
      `fuzz: ${stats.calls} calls over ${stats.procedures.size} of ${procedures.length} procedures; ` +
        codes.map(([c, n]) => `${c} ${n}`).join(", "),
    );
  });

  it("the router has procedures of every kind to fuzz", () => {
    const kinds = new Set(procedures.map(([, p]) => p._def.type));
    expect([...kinds].sort()).toEqual(["mutation", "query", "subscription"]);
  });

  for (const [path, proc] of procedures) {
    const roles: Who[] = path.startsWith("agent.")
      ? ["node", "stranger", "anonymous"]
      : ["admin", "user", "anonymous"];
    it(`${path} (${proc._def.type}) never answers INTERNAL_SERVER_ERROR, and a refusal writes nothing`, async () => {
      const f = fresh();
      stats.procedures.add(path);
      // A sweep first: every string field of each valid example (or of one input derived from the
      // schema) gets each malformed address, as
      // the most privileged caller (the one whose calls get furthest), so these are never left
      // to chance.
      const schema = proc._def.inputs[0];
      const bases = EXAMPLES[path] ?? (schema ? fc.sample(plausible(schema), { numRuns: 1, seed: 42 }) : []);
      for (const base of bases)
        for (const at of paths(base).filter((p) => typeof valueAt(base, p) === "string"))
          for (const bad of SWEEP) await check(f, roles[0]!, path, setAt(base, at, bad));
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...roles), inputsFor(path, proc), (who, input) =>
          check(f, who, path, input),
        ),
        { numRuns: RUNS * roles.length, endOnFailure: true },
      );
    });
  }
});
