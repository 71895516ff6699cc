// Failed sign-ins are limited per account (guessing one user's password from many addresses) and
// per address (trying many accounts from one place). Failures are rows in SQLite, so a restart
// does not hand an attacker a fresh budget.
import { and, asc, count, eq, gt, lt } from "drizzle-orm";
import type { Db } from "../db";
import { signInFailures } from "../db/schema";

export const SIGN_IN_WINDOW_MS = 15 * 60_000;
export const ACCOUNT_LIMIT = 5;
export const ADDRESS_LIMIT = 20;

type Kind = "account" | "address";
const LIMIT: Record<Kind, number> = { account: ACCOUNT_LIMIT, address: ADDRESS_LIMIT };

/** How long `key` is still locked out (ms), or 0 when it may try again. */
function lockedFor(db: Db, kind: Kind, key: string, now: number): number {
  const since = new Date(now - SIGN_IN_WINDOW_MS);
  const where = and(eq(signInFailures.kind, kind), eq(signInFailures.key, key), gt(signInFailures.at, since));
  const n = db.select({ n: count() }).from(signInFailures).where(where).get()?.n ?? 0;
  if (n < LIMIT[kind]) return 0;
  // The lock lifts when the oldest failure that still counts leaves the window.
  const oldest = db
    .select({ at: signInFailures.at })
    .from(signInFailures)
    .where(where)
    .orderBy(asc(signInFailures.at))
    .limit(1)
    .offset(n - LIMIT[kind])
    .get();
  return oldest ? Math.max(0, oldest.at.getTime() + SIGN_IN_WINDOW_MS - now) : 0;
}

/** The message to refuse a sign-in with, or null when neither the account nor the address is locked. */
export function signInRefusal(
  db: Db,
  username: string,
  address: string | null,
  now = Date.now(),
): string | null {
  const minutes = (ms: number) => {
    const m = Math.max(1, Math.ceil(ms / 60_000));
    return `${m} minute${m === 1 ? "" : "s"}`;
  };
  const account = lockedFor(db, "account", username, now);
  if (account > 0) return `Too many failed sign-ins for ${username}; try again in ${minutes(account)}`;
  const byAddress = address ? lockedFor(db, "address", address, now) : 0;
  if (byAddress > 0) return `Too many failed sign-ins from ${address}; try again in ${minutes(byAddress)}`;
  return null;
}

/** Records one failed sign-in against the account and the address, and forgets old rows. */
export function recordSignInFailure(db: Db, username: string, address: string | null, now = Date.now()) {
  const at = new Date(now);
  db.transaction((tx) => {
    tx.insert(signInFailures).values({ kind: "account", key: username, at }).run();
    if (address) tx.insert(signInFailures).values({ kind: "address", key: address, at }).run();
    tx.delete(signInFailures)
      .where(lt(signInFailures.at, new Date(now - SIGN_IN_WINDOW_MS)))
      .run();
  });
}

/** A successful sign-in clears the account's failures (the address's stay: it may be guessing others). */
export function clearAccountFailures(db: Db, username: string) {
  db.delete(signInFailures)
    .where(and(eq(signInFailures.kind, "account"), eq(signInFailures.key, username)))
    .run();
}
