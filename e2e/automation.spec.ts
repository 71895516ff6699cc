// Automation in the browser, the way an admin sets up a script: an API token made on the profile
// page drives the REST API and /metrics, the API page documents the operations, the audit page
// exports what its filters show, and revoking the token stops the script at once.
import { expect, test } from "@playwright/test";
import { accountMenu, dialog, shot, signIn } from "./helpers";

test.describe.configure({ mode: "serial" });

let token = "";

test("a token from the profile page drives the REST API: the VNET it creates is on the VNETs page", async ({
  page,
  request,
}) => {
  await signIn(page);
  await accountMenu(page, "Profile & API tokens");
  await expect(page.getByRole("heading", { name: /^Profile: admin$/ })).toBeVisible();
  await page.getByRole("button", { name: "New API token" }).first().click();
  const d = dialog(page, "New API token");
  await d.getByLabel("Name").fill("e2e-script");
  await d.getByLabel("Read-write: everything you may do yourself").check();
  await d.getByRole("button", { name: "Create token" }).click();
  token = ((await d.getByTestId("new-token").textContent()) ?? "").trim();
  expect(token).toMatch(/^bht_/);
  await shot(page, "profile-token-shown-once");
  await d.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("cell", { name: "e2e-script" }).first()).toBeVisible();
  await expect(page.getByText(token)).toHaveCount(0);

  const auth = { authorization: `Bearer ${token}` };
  const created = await request.post("/api/v1/vnets", {
    headers: auth,
    data: { name: "from-rest", subnet: "10.61.0.0/24", firstIp: "10.61.0.10", size: 8 },
  });
  expect(created.status(), await created.text()).toBe(200);
  const bad = await request.post("/api/v1/vnets", {
    headers: auth,
    data: { name: "x", subnet: "300.1.1.0/24" },
  });
  expect(bad.status()).toBe(400);
  expect(Object.keys((await bad.json()).fieldErrors)).toContain("subnet");
  await page.goto("/vnets");
  await expect(page.getByRole("link", { name: "from-rest" })).toBeVisible();

  const metrics = await request.get("/metrics", { headers: auth });
  expect(metrics.status()).toBe(200);
  expect(await metrics.text()).toMatch(/^bridgehead_vnet_addresses\{vnet="from-rest",kind="size"\} 8$/m);
  expect((await request.get("/metrics")).status()).toBe(401);
});

test("the REST API page lists the operations, filters them, and shows a hold's body fields and curl line", async ({
  page,
}) => {
  await signIn(page);
  await page.getByRole("link", { name: "REST API" }).click();
  await expect(page.getByRole("heading", { name: "REST API" })).toBeVisible();
  await expect(page.getByText("/vnets/{vnetId}/leases/hold")).toBeVisible();
  await page.getByLabel("Filter operations").fill("hold");
  await expect(page.locator("details")).toHaveCount(1);
  const op = page.getByTestId("op-lease-hold");
  await op.locator("summary").focus();
  await page.keyboard.press("Enter");
  const body = op.getByRole("table", { name: "Body of POST /vnets/{vnetId}/leases/hold" });
  await expect(body.getByRole("cell", { name: /^reason/ })).toBeVisible();
  await expect(op.getByText(/curl -sS -X POST '.*\/api\/v1\/vnets\/<vnetId>\/leases\/hold'/)).toBeVisible();
  await shot(page, "api-docs-hold");
  await page.getByLabel("Filter operations").fill("no-such-operation");
  await expect(page.getByText("No operation matches")).toBeVisible();
});

test("the audit page exports what its filters show, as CSV", async ({ page }) => {
  await signIn(page);
  await page.goto("/audit");
  await page.getByLabel("Action starts with").fill("vnet.create");
  const link = page.getByRole("link", { name: "Export CSV" });
  await expect(link).toHaveAttribute("href", /format=csv.*action=vnet\.create/);
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toMatch(/^bridgehead-audit-.*\.csv$/);
  const text = await (await download.createReadStream()).toArray();
  const csv = Buffer.concat(text).toString("utf8");
  const lines = csv.trimEnd().split("\r\n");
  expect(lines[0]).toBe("id,at,actor,via,action,outcome,objectType,objectId,objectName,sourceIp,detail");
  expect(lines.slice(1).length).toBeGreaterThan(0);
  for (const l of lines.slice(1)) expect(l).toContain(",vnet.create,");
  expect(csv).toContain("token:e2e-script");
  await shot(page, "audit-export");
});

test("revoking the token (confirmed) stops the script at once", async ({ page, request }) => {
  await signIn(page);
  await page.goto("/profile");
  await page.getByRole("button", { name: "Revoke token e2e-script" }).first().click();
  await dialog(page, "Revoke token e2e-script?").getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByText("Token e2e-script revoked")).toBeVisible();
  const res = await request.get("/api/v1/vnets", { headers: { authorization: `Bearer ${token}` } });
  expect(res.status()).toBe(401);
  expect((await res.json()).message).toMatch(/revoked/);
});
