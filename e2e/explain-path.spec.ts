// Explain A→B in the browser: from the Security groups page an admin opens "Explain a connection",
// is stopped at the field when a NIC or the port is missing, then sees every check of a connection
// between two NICs in order with the deciding one marked — B's inbound group, and isolation when B
// is on an unpeered VNET — and the outbound rule that lets a connection to an outside address out.
import { expect, type Page, test } from "@playwright/test";
import { pick, shot, signIn } from "./helpers";

const RUN = Date.now().toString(36).slice(-4);

/** A tRPC mutation with the signed-in session (the dialogs that make these have their own specs). */
async function call<T = { id: number }>(page: Page, path: string, json: unknown): Promise<T> {
  const res = await page.request.post(`/api/trpc/${path}`, { data: { json } });
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json;
}

test("an admin explains A→B: the deciding check is marked, isolation between unpeered VNETs included", async ({
  page,
}) => {
  await signIn(page);
  const web = await call(page, "vnet.create", {
    name: `xp-web-${RUN}`,
    subnet: "10.172.0.0/24",
    gateway: "10.172.0.1",
    firstIp: "10.172.0.10",
    size: 5,
  });
  const db = await call(page, "vnet.create", {
    name: `xp-db-${RUN}`,
    subnet: "10.173.0.0/24",
    gateway: "10.173.0.1",
    firstIp: "10.173.0.10",
    size: 5,
  });
  const node = await call(page, "node.create", { name: `xp-node-${RUN}` });
  const nicOf = async (name: string, vnetId: number) =>
    (
      await call<{ nics: { nicId: number }[] }>(page, "instance.create", {
        name,
        nodeId: node.id,
        nics: [{ vnetId }],
      })
    ).nics[0]!.nicId;
  const a = await nicOf(`xp-a-${RUN}`, web.id);
  const b = await nicOf(`xp-b-${RUN}`, web.id);
  const c = await nicOf(`xp-c-${RUN}`, db.id);
  const out = await call(page, "sg.create", {
    name: `xp-out-${RUN}`,
    rules: [{ protocol: "TCP", direction: "OUTBOUND", range: "22,443,5432" }],
  });
  const inb = await call(page, "sg.create", {
    name: `xp-in-${RUN}`,
    rules: [{ protocol: "TCP", direction: "INBOUND", range: "22" }],
  });
  await call(page, "sg.setNic", { nicId: a, sgId: out.id, attached: true });
  for (const nicId of [b, c]) await call(page, "sg.setNic", { nicId, sgId: inb.id, attached: true });
  for (const vnetId of [web.id, db.id]) await call(page, "sg.setVnet", { vnetId, sgId: 0, attached: false });

  await page.goto("/security-groups");
  await page.getByRole("button", { name: "Explain a connection" }).click();
  await expect(page).toHaveURL(/\/security-groups\/explain$/);
  const form = page.getByRole("form", { name: "Explain a connection from A to B" });
  await form.getByRole("button", { name: "Explain" }).click();
  await expect(form.getByText("Pick the NIC the connection starts from")).toBeVisible();
  await pick(form.getByLabel("From NIC (A)"), `xp-a-${RUN} eth0`);
  await form.getByRole("button", { name: "Explain" }).click();
  await expect(form.getByText("Pick the NIC to reach, or give an outside address")).toBeVisible();
  await expect(form.getByText("A TCP probe needs a port")).toBeVisible();

  // A → B on 5432: out of A by rule 1 of xp-out, stopped by B's inbound group.
  await pick(form.getByLabel("To NIC (B)"), `xp-b-${RUN} eth0`);
  await form.getByLabel("Port").fill("5432");
  await form.getByRole("button", { name: "Explain" }).click();
  const verdict = form.getByRole("status", { name: "Path verdict" });
  await expect(verdict.getByTestId("path-verdict")).toHaveText("dropped");
  await expect(verdict.getByTestId("path-step-outbound")).toContainText(
    `accepted by rule 1 of group xp-out-${RUN}`,
  );
  await expect(verdict.getByTestId("path-step-inbound")).toContainText(`no rule of xp-in-${RUN}`);
  await expect(verdict.getByTestId("path-step-inbound")).toHaveAttribute("aria-current", "step");
  await shot(page, "explain-path-dropped");

  // Port 22 passes every check.
  await form.getByLabel("Port").fill("22");
  await form.getByRole("button", { name: "Explain" }).click();
  await expect(verdict.getByTestId("path-verdict")).toHaveText("reaches");
  await expect(verdict.locator('[aria-current="step"]')).toHaveCount(0);

  // B on another VNET: isolation decides, with the way out.
  await pick(form.getByLabel("To NIC (B)"), `xp-c-${RUN} eth0`);
  await form.getByRole("button", { name: "Explain" }).click();
  await expect(verdict.getByTestId("path-verdict")).toHaveText("dropped");
  await expect(verdict.getByTestId("path-step-isolation")).toContainText(
    `xp-web-${RUN} and xp-db-${RUN} are not peered, so the node routes nothing between them; peer them on either VNET's page`,
  );
  await expect(verdict.getByTestId("path-step-isolation")).toHaveAttribute("aria-current", "step");

  // An outside address: only A's checks; the group's link opens it.
  await form.getByLabel("To", { exact: true }).selectOption("address");
  await form.getByLabel("To address").fill("198.51.100.7");
  await form.getByLabel("Port").fill("443");
  await form.getByRole("button", { name: "Explain" }).click();
  await expect(verdict.getByTestId("path-verdict")).toHaveText("reaches");
  await expect(verdict.getByRole("listitem")).toHaveCount(2);
  await shot(page, "explain-path-outside");
  await verdict.getByRole("link", { name: `xp-out-${RUN}` }).click();
  await expect(page).toHaveURL(new RegExp(`/security-groups/${out.id}$`));
});
