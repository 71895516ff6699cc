// Lowest-free allocation against a model: random sequences of allocations (with or without a
// requested address), holds and releases on a small range, and on a larger one where the range's
// stored free hint (moved only every HINT_STRIDE allocations) comes into play. After every step the database agrees
// with the model: a request gets its address if free, else a refusal; no request gets the lowest
// free address; a full range is a CONFLICT; holds are never handed out.
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { immediate } from "../../../db";
import { vnets } from "../../../db/schema";
import { intToIp4, ip4ToInt } from "../../../lib/domain";
import { DomainError } from "../../errors";
import { testApp, userCaller } from "../../harness.testing";
import { allocateLease, holdSpan, releaseNicLease, releaseSpan } from "./ipam";

const FIRST = "10.9.0.10";
const ipAt = (o: number) => intToIp4(ip4ToInt(FIRST) + o);

type Op =
  | { kind: "alloc"; want: number | null }
  | { kind: "hold"; at: number }
  | { kind: "release"; at: number };

/** `lowest` and `wanted` weigh allocations of the lowest free address and of a requested one. */
const opsFor = (size: number, lowest: number, wanted: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: lowest, arbitrary: fc.constant({ kind: "alloc" as const, want: null }) },
    {
      weight: wanted,
      arbitrary: fc.integer({ min: 0, max: size - 1 }).map((want) => ({ kind: "alloc" as const, want })),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 0, max: size - 1 }).map((at) => ({ kind: "hold" as const, at })),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 0, max: size - 1 }).map((at) => ({ kind: "release" as const, at })),
    },
  );

describe("lowest-free allocation (model-based)", () => {
  it.each([
    { SIZE: 12, steps: 40, lowest: 1, wanted: 3 },
    { SIZE: 100, steps: 160, lowest: 10, wanted: 2 },
  ])(
    "matches the model over random allocate / hold / release sequences in a range of $SIZE",
    async ({ SIZE, steps, lowest, wanted }) => {
      const app = testApp();
      const admin = await userCaller(app, "alice", "admin", 0);
      const userId = (
        app.db.$client.prepare("SELECT id FROM user WHERE username = 'alice'").get() as { id: string }
      ).id;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(opsFor(SIZE, lowest, wanted), { minLength: steps / 2, maxLength: steps }),
          async (ops) => {
            run++;
            const v = await admin.vnet.create({
              name: `m${SIZE}-${run}`,
              subnet: "10.9.0.0/24",
              firstIp: FIRST,
              size: SIZE,
              // Every run takes the same addresses in a VNET of its own.
              allowOverlap: true,
            });
            const vnet = app.db.select().from(vnets).where(eq(vnets.id, v.id)).get()!;
            // Model: offset → "used" (with its NIC id) or "hold".
            const model = new Map<number, { state: "used"; nic: number } | { state: "hold" }>();
            let nic = run * 1000;
            const tx = <T>(fn: Parameters<typeof app.db.transaction<T>>[0]) => immediate(app.db, fn);
            const refused = (fn: () => unknown) => {
              try {
                fn();
                return null;
              } catch (e) {
                if (e instanceof DomainError) return e.kind;
                throw e;
              }
            };
            for (const o of ops) {
              if (o.kind === "alloc") {
                nic++;
                const lowest = [...Array(SIZE).keys()].find((i) => !model.has(i));
                const expectAt = o.want === null ? lowest : model.has(o.want) ? undefined : o.want;
                let got: string | null = null;
                const err = refused(() => {
                  got = tx((t) =>
                    allocateLease(t, vnet, {
                      ip: o.want === null ? undefined : ipAt(o.want),
                      nicId: nic,
                      userId,
                    }),
                  ).ip;
                });
                if (expectAt === undefined) expect(err).toBe("conflict");
                else {
                  expect(got).toBe(ipAt(expectAt));
                  model.set(expectAt, { state: "used", nic });
                }
              } else if (o.kind === "hold") {
                const err = refused(() =>
                  tx((t) => holdSpan(t, vnet, { from: ipAt(o.at) }, { userId, reason: "model" })),
                );
                if (model.has(o.at)) expect(err).toBe("conflict");
                else model.set(o.at, { state: "hold" });
              } else {
                const m = model.get(o.at);
                if (m?.state === "used") tx((t) => releaseNicLease(t, m.nic, 0, userId));
                else {
                  const err = refused(() =>
                    tx((t) => releaseSpan(t, vnet, { from: ipAt(o.at) }, { userId })),
                  );
                  expect(err).toBe(m ? null : "invalid");
                }
                model.delete(o.at);
              }
              const rows = app.db.$client
                .prepare("SELECT offset, state FROM leases WHERE vnet_id = ? ORDER BY offset")
                .all(v.id) as { offset: number; state: string }[];
              expect(rows).toEqual(
                [...model.entries()]
                  .sort((a, b) => a[0] - b[0])
                  .map(([offset, x]) => ({ offset, state: x.state })),
              );
            }
          },
        ),
        { numRuns: 40 },
      );
    },
    120_000,
  );
});
