// Light pages: the JavaScript a browser downloads for the first load of each route, as its own
// resource timings report it (encodedBodySize: the bytes on the wire, gzip as `next start` sends
// them). The sign-in page stays under 120 kB (or within 10 kB of what Next and React alone cost,
// measured in the same run), every other route under 250 kB, so a change that
// pulls a heavy module into every page fails here instead of slowing every user down.
import { expect, type Page, test } from "@playwright/test";
import { signIn } from "./helpers";

const KB = 1024;
const LOGIN_BUDGET = 120 * KB;
/** What the sign-in page may add to the framework's own floor. */
const LOGIN_OWN_BUDGET = 10 * KB;
const ROUTE_BUDGET = 250 * KB;

/** Every signed-in route a user can open from the sidebar, plus the detail and form pages. */
const ROUTES = [
  "/",
  "/vnets",
  "/instances",
  "/templates",
  "/security-groups",
  "/security-groups/new",
  "/nodes",
  "/users",
  "/groups",
  "/audit",
  "/api-docs",
  "/profile",
  "/self-service",
];

/** Loads `route` in a fresh page (no cached chunks) and sums the gzipped JS it fetched. */
async function jsBytes(page: Page, route: string): Promise<{ total: number; files: string[] }> {
  await page.goto(route);
  await page.waitForLoadState("networkidle");
  const entries = await page.evaluate(() =>
    (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .filter((e) => new URL(e.name).pathname.endsWith(".js"))
      .map((e) => ({ name: new URL(e.name).pathname, bytes: e.encodedBodySize })),
  );
  const total = entries.reduce((s, e) => s + e.bytes, 0);
  const files = entries.map((e) => `${e.name} ${(e.bytes / KB).toFixed(1)} kB`);
  return { total, files };
}

test("the sign-in page loads under 120 kB of gzipped JavaScript, or within 10 kB of Next's own floor", async ({
  browser,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { total, files } = await jsBytes(page, "/login");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  // The floor: what Next and React alone cost, measured on the smallest page Next serves (its 404,
  // which has no code of ours) in a fresh page of the same run.
  const floorPage = await context.newPage();
  const floor = await jsBytes(floorPage, "/no-such-page-bundle-floor");
  const ratio = total / floor.total;
  console.log(
    `/login: ${(total / KB).toFixed(1)} kB; framework floor ${(floor.total / KB).toFixed(1)} kB; ratio ${ratio.toFixed(2)}`,
  );
  // Every chunk really came compressed (a 0 would mean a cached or opaque entry, not a small one).
  expect(total, files.join("\n")).toBeGreaterThan(10 * KB);
  expect(floor.total, floor.files.join("\n")).toBeGreaterThan(10 * KB);
  // 120 kB where the framework leaves room for it; where Next and React alone weigh more, the page's
  // own code must stay within 10 kB of them.
  const budget = Math.max(LOGIN_BUDGET, floor.total + LOGIN_OWN_BUDGET);
  expect(total, `JavaScript of /login:\n${files.join("\n")}`).toBeLessThan(budget);
  await context.close();
});

test("every signed-in route loads under 250 kB of gzipped JavaScript on its first load", async ({
  browser,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  const state = await context.storageState();
  await context.close();
  const over: string[] = [];
  for (const route of ROUTES) {
    // A new context per route: an empty HTTP cache, as a user opening that link first.
    const ctx = await browser.newContext({ storageState: state });
    const p = await ctx.newPage();
    const { total, files } = await jsBytes(p, route);
    await expect(p.getByRole("heading", { level: 1 }).first()).toBeVisible();
    console.log(`${route}: ${(total / KB).toFixed(1)} kB`);
    if (total >= ROUTE_BUDGET) over.push(`${route}: ${(total / KB).toFixed(1)} kB\n  ${files.join("\n  ")}`);
    await ctx.close();
  }
  expect(over, "routes over 250 kB").toEqual([]);
});
