// Peerings on the VNET page, as an admin meets them: an empty state on a fresh VNET, the
// "Peer with…" dialog refusing an empty choice at the field, the peering listed on both VNETs'
// pages with a link to the other one, and its removal behind a confirmation.
import { expect, type Page, test } from "@playwright/test";
import { dialog, pick, shot, signIn } from "./helpers";

const RUN = Date.now().toString(36).slice(-4);
const A = `peer-a-${RUN}`;
const B = `peer-b-${RUN}`;

/** Creates a VNET through the API with the signed-in session (the create dialog has its own spec). */
async function vnet(page: Page, name: string, n: number): Promise<number> {
  const res = await page.request.post("/api/trpc/vnet.create", {
    data: {
      json: { name, subnet: `10.${n}.0.0/24`, gateway: `10.${n}.0.1`, firstIp: `10.${n}.0.10`, size: 5 },
    },
  });
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json.id;
}

test("an admin peers two VNETs from the VNET page and removes the peering after confirming", async ({
  page,
}) => {
  await signIn(page);
  const a = await vnet(page, A, 151);
  const b = await vnet(page, B, 152);
  await page.goto(`/vnets/${a}?tab=peerings`);
  const panel = page.getByRole("tabpanel");
  await expect(panel.getByText("This VNET is isolated from every other VNET.")).toBeVisible();

  await panel.getByRole("button", { name: "Peer with…" }).click();
  const d = dialog(page, `Peer ${A} with…`);
  await d.getByRole("button", { name: "Peer", exact: true }).click();
  await expect(d.getByText("Pick the VNET to peer with")).toBeVisible();
  await pick(d.getByLabel("VNET"), B);
  await shot(page, "peering-dialog");
  await d.getByRole("button", { name: "Peer", exact: true }).click();
  await expect(d).toBeHidden();
  await expect(page.getByText(`VNETs ${A} and ${B} are peered`)).toBeVisible();
  const table = page.getByRole("table", { name: `Peerings of VNET ${A}` });
  await expect(table.getByRole("link", { name: B })).toBeVisible();
  await expect(table.getByText("active")).toBeVisible();
  await expect(table.getByText("admin")).toBeVisible();

  // Listed on the other VNET's page too, linking back.
  await table.getByRole("link", { name: B }).click();
  await expect(page).toHaveURL(new RegExp(`/vnets/${b}$`));
  await page.getByRole("tab", { name: "Peerings" }).click();
  const other = page.getByRole("table", { name: `Peerings of VNET ${B}` });
  await expect(other.getByRole("link", { name: A })).toBeVisible();
  await shot(page, "peering-tab");

  await other.getByRole("button", { name: `Remove peering with ${A}` }).click();
  const confirm = dialog(page, `Remove the peering with ${A}?`);
  await expect(confirm.getByText("open connections between them are cut")).toBeVisible();
  await confirm.getByRole("button", { name: "Remove peering" }).click();
  await expect(page.getByText(`Peering of ${B} and ${A} removed`)).toBeVisible();
  await expect(
    page.getByRole("tabpanel").getByText("This VNET is isolated from every other VNET."),
  ).toBeVisible();
});
