// The admin's Overview refreshing live while a real agent comes and goes, the node's plan and
// history with every command, the join token dialog that asks before an uncopied token is lost,
// and no console error on the way (the favicon included). Assumes nothing about the database.
import { expect, type Page, test } from "@playwright/test";
import { kernelUnavailable, nsPrefix, requireKernel } from "../tests/kernel";
import { dialog, E2eAgent, shot, signIn } from "./helpers";

test.describe.configure({ mode: "serial" });

/** Console errors, uncaught exceptions and failed requests (a missing favicon is a 404 here). */
function watchConsole(page: Page) {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

const kernel = requireKernel("dashboard e2e (a real agent)");
const NODE_NS = `${nsPrefix("d")}n1`;
const NODE = `dash-${process.pid}`;
const agent = new E2eAgent(NODE_NS);
let token = "";

test.afterAll(async () => {
  await agent.stop(!!kernel);
});

test("the join token dialog asks before closing when nothing of the token was copied", async ({ page }) => {
  const problems = watchConsole(page);
  await signIn(page);
  await page.goto("/nodes");
  await page.getByRole("button", { name: "Enroll node" }).first().click();
  const d = dialog(page, "Enroll node");
  await d.getByLabel("Node name").fill(NODE);
  await d.getByRole("button", { name: "Enroll" }).click();
  const done = dialog(page, `Node ${NODE} enrolled`);
  token = (await done.getByTestId("join-token").textContent())?.trim() ?? "";
  expect(token).toMatch(/^bhj_/);

  // Esc, ×, Done and a click outside all ask first; "Keep it open" keeps the token on screen.
  const ask = dialog(page, "Close without copying the token?");
  await page.keyboard.press("Escape");
  await expect(ask).toBeVisible();
  await expect(ask).toContainText(`The join token of ${NODE} is shown only once`);
  await shot(page, "join-token-ask");
  await ask.getByRole("button", { name: "Keep it open" }).click();
  await expect(ask).toBeHidden();
  await expect(done).toBeVisible();
  await done.getByRole("button", { name: "Close" }).click();
  await expect(ask).toBeVisible();
  await ask.getByRole("button", { name: "Keep it open" }).click();
  await page.mouse.click(8, 8); // the backdrop, outside the dialog
  await expect(ask).toBeVisible();
  await ask.getByRole("button", { name: "Keep it open" }).click();
  await done.getByRole("button", { name: "Done" }).click();
  await expect(ask).toBeVisible();
  await ask.getByRole("button", { name: "Keep it open" }).click();
  await expect(done).toBeVisible();

  // Copied: Done closes at once.
  await done.getByRole("button", { name: "Copy join token" }).click();
  await expect(done.getByRole("button", { name: "Copy join token" })).toHaveText("Copied");
  await done.getByRole("button", { name: "Done" }).click();
  await expect(done).toBeHidden();
  await expect(ask).toBeHidden();
  expect(problems).toEqual([]);
});

test("the Overview follows a node live; its plan and history show every command", async ({ page }) => {
  test.skip(!kernel, `needs root and network namespaces: ${kernelUnavailable()}`);
  const problems = watchConsole(page);
  await signIn(page);
  const nodes = page.getByRole("list", { name: "Nodes that need attention" });
  // Enrolled, no agent yet: counted as pending.
  await expect(page.getByTestId("nodes-pending")).not.toHaveText(/^0 /);
  const inSync = Number((await page.getByTestId("nodes-in-sync").textContent())?.split(" ")[0]);

  agent.start(token);
  // The page is not reloaded: the Overview polls.
  await expect(page.getByTestId("nodes-in-sync")).toHaveText(`${inSync + 1} in sync`, { timeout: 30_000 });
  await expect(nodes.getByRole("link", { name: NODE })).toBeHidden();
  await shot(page, "dashboard-node-in-sync");

  // The node's first apply is in its history and in the plan dialog, every command of it.
  await page.goto("/nodes");
  const row = page.locator(`tr[data-node="${NODE}"]`);
  await row.getByRole("button", { name: `History of ${NODE}` }).click();
  const h = dialog(page, `History of ${NODE}`);
  const first = h.getByTestId("history-entry").first();
  await expect(first).toHaveAttribute("data-kind", "apply");
  const ops = first.getByTestId("history-ops");
  const lines = (await ops.textContent())?.split("\n") ?? [];
  expect(lines.length).toBeGreaterThan(1);
  await expect(first.getByTestId("history-ops-count")).toHaveText(new RegExp(`^${lines.length} commands`));
  await shot(page, "node-history");
  await h.getByRole("button", { name: "Done" }).click();

  await row.getByRole("button", { name: `Plan of ${NODE}` }).click();
  const plan = dialog(page, `Plan of ${NODE}`);
  await expect(plan.getByTestId("plan-applied")).toHaveText(lines.join("\n"));
  await expect(plan.getByRole("button", { name: "Copy commands of the last apply" })).toBeVisible();
  await shot(page, "node-plan");
  await plan.getByRole("button", { name: "Done" }).click();

  // The agent stops: the Overview, left open, says so without a reload.
  await page.goto("/");
  await expect(page.getByTestId("nodes-in-sync")).not.toHaveText(/^0 /);
  await agent.stop(false);
  const item = nodes.getByRole("listitem").filter({ hasText: NODE });
  await expect(item).toContainText("disconnected", { timeout: 40_000 });
  await expect(item.getByRole("link", { name: NODE })).toHaveAttribute(
    "href",
    new RegExp(`/nodes\\?q=${NODE}#node-\\d+$`),
  );
  await shot(page, "dashboard-node-disconnected");
  expect(problems).toEqual([]);
});
