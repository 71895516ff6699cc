// The topology view at fleet size, on a portal of its own (e2e/portal-process.ts) seeded with 50
// nodes, 20 VNETs (every fourth VXLAN) and 1,000 instances (e2e/topology-seed.ts): the first render
// with every node box drawn is measured (target < 2 s) and printed; boxes group their instances by
// VNET and expand on request; filtering by VNET keeps only its nodes and draws its lines; a click
// on a VNET opens its page. Then an end user of the shared portal sees only their own instance.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { E2E_ADMIN_PASSWORD, E2E_PORT } from "./env";
import { shot } from "./helpers";
import { type Portal, startPortal, stopPortal } from "./portal-process";

const PORT = E2E_PORT + 3;
const NODES = 50;
const INSTANCES = 1000;

test.describe("topology at 50 nodes and 1,000 instances", () => {
  test.describe.configure({ timeout: 180_000 });
  let portal: Portal | null = null;
  let vnets: number[] = [];

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bh-e2e-topology-"));
    const out = execFileSync(
      "npx",
      ["tsx", "e2e/topology-seed.ts", dir, String(NODES), "20", String(INSTANCES)],
      {
        env: { ...process.env, BRIDGEHEAD_LOG_LEVEL: "warn" },
        encoding: "utf8",
      },
    );
    vnets = JSON.parse(out.trim().split("\n").at(-1)!).vnets;
    portal = await startPortal(PORT, { BRIDGEHEAD_TLS: "off" }, dir);
  });
  test.afterAll(() => stopPortal(portal));

  test("first render < 2 s with every node drawn; groups, filters and click-through work", async ({
    page,
  }) => {
    const base = `http://localhost:${PORT}`;
    await page.goto(`${base}/login`);
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill(E2E_ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${base}/`);

    await page.goto(`${base}/topology`);
    // Milliseconds from the start of the navigation until every node box is in the page, checked on
    // every animation frame (Playwright's own polling backs off to a second).
    const firstRenderMs = await page
      .waitForFunction(
        (n) =>
          document.querySelectorAll('[data-testid="topology-node"]').length === n &&
          Math.round(performance.now()),
        NODES,
        { polling: "raf", timeout: 20_000 },
      )
      .then((h) => h.jsonValue() as Promise<number>);
    await expect(page.getByTestId("topology-vnet")).toHaveCount(20);
    // The target is 2 s on a quiet machine; on a busy one (load above its cores) the budget grows with
    // the load, and the line says so.
    const load = Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
    const budget = Math.round(2_000 * Math.max(1, load / os.availableParallelism()));
    console.info(
      `[topology] first render at ${NODES} nodes / ${INSTANCES} instances: ${firstRenderMs} ms (load ${load} on ${os.availableParallelism()} cores, budget ${budget} ms)`,
    );
    expect(firstRenderMs).toBeLessThan(budget);
    await expect(page.getByTestId("topology-counts")).toHaveText(
      `${NODES} nodes · 20 VNETs · ${INSTANCES} instances`,
    );
    await shot(page, "topology-1000");

    // 20 instances per node: grouped by VNET (five rows), expanded on request.
    const first = page.getByTestId("topology-node").filter({ hasText: "topo-node-00" });
    await expect(first.getByRole("listitem")).toHaveCount(5);
    await expect(first.getByRole("listitem").first()).toContainText("×4");
    await first.getByRole("button", { name: "Show all 20 instances" }).click();
    await expect(first.getByRole("listitem")).toHaveCount(20);
    await first.getByRole("button", { name: "Group by VNET" }).click();

    // 250 VNET → node lines are too many at once: none until one VNET is picked.
    await expect(page.getByRole("note")).toContainText("250 VNET-to-node lines are too many");
    await expect(page.locator(".react-flow__edge")).toHaveCount(0);
    await page.getByLabel("VNET", { exact: true }).selectOption(String(vnets[0]));
    // The seed puts the first VNET on 11 nodes (44 instances): one line to each.
    await expect(page.getByTestId("topology-counts")).toHaveText("11 nodes · 1 VNET · 44 instances");
    await expect(page.locator(".react-flow__edge")).toHaveCount(11);
    await expect(page.getByTestId("topology-node")).toHaveCount(11);

    await page.getByTestId("topology-vnet").click();
    await expect(page).toHaveURL(`${base}/vnets/${vnets[0]}`);
  });
});
