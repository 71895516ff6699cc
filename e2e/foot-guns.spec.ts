// Foot-guns a new admin meets in the VNET forms, as the browser shows them: addresses another VNET
// of the shared cluster uses are refused at the field (create and resize) naming that VNET, with an
// explicit "allow overlap" for admins; a subnet typed with host bits shows what is saved; an
// internal (NAT) network without a gateway is warned; the network_config.json export names what the
// file cannot carry; import errors name the file's network; a security group without outbound rules
// says, before the default group is detached, how many NICs lose all egress, and offers the rule;
// names may be Unicode, device names stay ASCII with the reason at the field.
import { expect, type Page, test } from "@playwright/test";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "../server/routers/root";
import { E2E_PORT } from "./env";
import { dialog, enroll, newInstance, pick, shot, signIn } from "./helpers";

/** The agent channel as a node calls it: joining makes the node pickable for instances. */
const agentApi = () =>
  createTRPCClient<AppRouter>({
    links: [httpLink({ url: `http://localhost:${E2E_PORT}/api/trpc`, transformer: superjson })],
  });

test.describe.configure({ mode: "serial" });

const STATE = "test-results/.auth/foot-guns-admin.json";

/** Fills the New VNET dialog (it stays open: the caller submits and checks). */
async function newVnet(page: Page, fields: Record<string, string>) {
  await page.goto("/vnets");
  await page.getByRole("button", { name: "New VNET" }).first().click();
  const d = dialog(page, "New VNET");
  for (const [label, value] of Object.entries(fields)) await d.getByLabel(label, { exact: true }).fill(value);
  return d;
}

const vnetRow = (page: Page, name: string) =>
  page
    .getByRole("table")
    .getByRole("row")
    .filter({ has: page.getByRole("link", { name, exact: true }) });

test("sign in once for this spec", async ({ page }) => {
  await signIn(page);
  await page.context().storageState({ path: STATE });
});

test.describe("foot-guns", () => {
  test.use({ storageState: STATE });

  test("a VNET with IPv6 and a gateway to overlap with", async ({ page }) => {
    const d = await newVnet(page, {
      Name: "fg-a",
      "Subnet (CIDR)": "10.60.0.0/24",
      Gateway: "10.60.0.1",
      "IPv6 ULA prefix": "fd00:60::/64",
      "First IP": "10.60.0.10",
      Size: "50",
    });
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();
    await expect(vnetRow(page, "fg-a")).toBeVisible();
  });

  test("names may be Unicode where the kernel never sees them; a device name stays ASCII, and says so", async ({
    page,
  }) => {
    const d = await newVnet(page, {
      Name: "Büro-Netz 東京",
      Description: "Réseau du bureau — 会議室",
      "Subnet (CIDR)": "10.66.0.0/24",
      Gateway: "10.66.0.1",
      "First IP": "10.66.0.10",
      Size: "5",
      "Bridge name": "brücke",
    });
    await d.getByRole("button", { name: "Create VNET" }).click();
    // Refused at the bridge field, with the reason; the Unicode name itself is fine.
    await expect(d.getByLabel("Bridge name", { exact: true })).toHaveAccessibleDescription(
      /Device names stay ASCII \(they are kernel interface names\)/,
    );
    await expect(d.getByLabel("Name", { exact: true })).not.toHaveAttribute("aria-invalid", "true");
    await shot(page, "foot-guns-unicode-refused");
    await d.getByLabel("Bridge name", { exact: true }).fill("");
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();
    await expect(vnetRow(page, "Büro-Netz 東京")).toBeVisible();
    await expect(vnetRow(page, "Büro-Netz 東京")).toContainText("Réseau du bureau — 会議室");
    await shot(page, "foot-guns-unicode-listed");
  });

  test("host bits are shown cleared, a NAT VNET without gateway is warned, an overlap is refused at First IP", async ({
    page,
  }) => {
    const d = await newVnet(page, {
      Name: "fg-b",
      "Subnet (CIDR)": "10.60.0.5/24",
      "First IP": "10.60.0.20",
      Size: "10",
    });
    await expect(d.getByTestId("subnet-normalised")).toHaveText("Saved as 10.60.0.0/24 (host bits cleared)");
    await expect(d.getByTestId("nat-no-gateway")).toHaveText(
      /guests of an internal \(NAT\) network cannot reach the outside/,
    );
    await d.getByRole("button", { name: "Create VNET" }).click();
    await d.getByLabel("First IP", { exact: true }).scrollIntoViewIfNeeded();
    // The refusal stays under the field and names the other VNET and its span; the dialog stays open.
    const firstIp = d.getByLabel("First IP", { exact: true });
    await expect(firstIp).toHaveAttribute("aria-invalid", "true");
    await expect(d.getByText(/overlaps VNET fg-a \(10\.60\.0\.20.10\.60\.0\.29\)/)).toBeVisible();
    await expect(d.getByText(/tick .Allow overlap./)).toBeVisible();
    await shot(page, "foot-guns-overlap-refused");
    await expect(d).toBeVisible();
    // Nothing was written: the list (re-read from the server) has no fg-b.
    await page.keyboard.press("Escape");
    await page.reload();
    await expect(vnetRow(page, "fg-a")).toBeVisible();
    await expect(vnetRow(page, "fg-b")).toHaveCount(0);
  });

  test("an admin may overlap on purpose; the audit log records it", async ({ page }) => {
    const d = await newVnet(page, {
      Name: "fg-b",
      "Subnet (CIDR)": "10.60.0.0/24",
      "First IP": "10.60.0.20",
      Size: "10",
    });
    await d.getByLabel("Allow overlap with another VNET's addresses").check();
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();
    await expect(vnetRow(page, "fg-b")).toBeVisible();
    await page.goto("/audit");
    await expect(page.getByText(/overlap with VNET fg-a .* allowed/).first()).toBeVisible();
    await shot(page, "foot-guns-overlap-audited");
  });

  test("growing a range into another VNET's addresses is refused at New size", async ({ page }) => {
    for (const [name, first] of [
      ["fg-c", "10.67.0.10"],
      ["fg-d", "10.67.0.30"],
    ] as const) {
      const d = await newVnet(page, {
        Name: name,
        "Subnet (CIDR)": "10.67.0.0/24",
        Gateway: "10.67.0.1",
        "First IP": first,
        Size: "10",
      });
      await d.getByRole("button", { name: "Create VNET" }).click();
      await expect(d).toBeHidden();
    }
    await page.goto("/vnets");
    await vnetRow(page, "fg-c").getByRole("link", { name: "fg-c", exact: true }).click();
    await page.getByRole("tab", { name: /Address ranges/ }).click();
    await page
      .getByRole("button", { name: /^Resize range / })
      .first()
      .click();
    const d = dialog(page, /^Resize range /);
    await d.getByLabel("New size").fill("30");
    await d.getByRole("button", { name: "Resize" }).click();
    await expect(d.getByLabel("New size")).toHaveAttribute("aria-invalid", "true");
    await expect(d.getByText(/overlaps VNET fg-d \(10\.67\.0\.30.10\.67\.0\.39\)/)).toBeVisible();
    await shot(page, "foot-guns-resize-refused");
    await page.keyboard.press("Escape");
    // Re-read: the range kept its 10 addresses.
    await page.reload();
    await page.getByRole("tab", { name: /Address ranges/ }).click();
    await expect(page.getByRole("table", { name: "Address ranges" })).toContainText("/ 10");
  });

  test("export names what network_config.json cannot carry", async ({ page }) => {
    await page.goto("/vnets");
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export", exact: true }).click();
    expect((await download).suggestedFilename()).toBe("network_config.json");
    const d = dialog(page, "What network_config.json cannot carry");
    const list = d.getByRole("list", { name: "Not carried" });
    await expect(list).toContainText("VNET fg-a: the IPv6 addresses (fd00:60::/64)");
    await expect(list).toContainText("VNET fg-b is left out: it has no gateway");
    await shot(page, "foot-guns-export-not-carried");
    await d.getByRole("button", { name: "OK" }).click();
    await expect(d).toBeHidden();
  });

  test("an import error names the file's network and field; nothing is created", async ({ page }) => {
    const good = {
      network_name: "imp-ok",
      network_gateway: "10.62.0.254",
      network_subnet: "10.62.0.0/24",
      network_range_start: "10.62.0.10",
      network_range_end: "10.62.0.20",
      bridge_interface: "None",
      apply_bridge_address: true,
      comment: "",
    };
    const { network_gateway: _gw, ...bad } = {
      ...good,
      network_name: "imp-bad",
      network_subnet: "10.63.0.0/24",
    };
    await page.goto("/vnets");
    await page.getByRole("button", { name: "Import network_config.json" }).click();
    const d = dialog(page, "Import network_config.json");
    await d.getByLabel("Content").fill(JSON.stringify([good, bad], null, 2));
    await d.getByRole("button", { name: "Import" }).click();
    await expect(d.getByText("Network 2 (imp-bad): gateway is missing")).toBeVisible();
    await shot(page, "foot-guns-import-error");
    await page.keyboard.press("Escape");
    await page.reload();
    await expect(vnetRow(page, "fg-a")).toBeVisible();
    await expect(vnetRow(page, "imp-ok")).toHaveCount(0);
  });

  test("detaching the default group says which NICs lose all egress; the editor offers an outbound rule", async ({
    page,
  }) => {
    const d = await newVnet(page, {
      Name: "fg-sg",
      "Subnet (CIDR)": "10.64.0.0/24",
      Gateway: "10.64.0.1",
      "First IP": "10.64.0.10",
      Size: "20",
    });
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();
    const token = await enroll(page, "fg-node");
    await agentApi().agent.join.mutate({ token, hostname: "fg-node" });
    await newInstance(page, "fg-vm1", "fg-node", "fg-sg");
    await newInstance(page, "fg-vm2", "fg-node", "fg-sg");

    // A new group with SSH in only: the editor says it sends nothing and offers the rule.
    await page.goto("/security-groups/new");
    await page.getByLabel("Name", { exact: true }).fill("ssh-only");
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Ports of rule 1").fill("22");
    const noOut = page.getByTestId("no-outbound");
    await expect(noOut).toContainText("No outbound rule: NICs filtered only by this group can send nothing");
    await expect(noOut.getByRole("button", { name: "Add “allow all outbound” rule" })).toBeVisible();
    await page.getByRole("button", { name: "Create group" }).click();
    await expect(page.getByText("Security group ssh-only created")).toBeVisible();
    await pick(page.getByLabel("VNET to attach to"), "fg-sg");
    await page.getByRole("button", { name: "Attach", exact: true }).click();
    await expect(page.getByText("Security group ssh-only attached to VNET fg-sg")).toBeVisible();
    // Before the click: the banner and the editor count the NICs whose egress would be dropped.
    await expect(page.getByTestId("egress-loss")).toHaveText(
      "Detaching it leaves no outbound rule: all egress from 2 NICs will be dropped (no DNS, no updates). Add an outbound rule first.",
    );
    await expect(noOut).toContainText("No outbound rule: all egress from 2 NICs will be dropped");
    await shot(page, "foot-guns-sg-egress-warning");

    // One click adds the rule; saved, the warnings go.
    await noOut.getByRole("button", { name: "Add “allow all outbound” rule" }).click();
    await expect(page.getByLabel("Direction of rule 2")).toHaveValue("OUTBOUND");
    await expect(page.getByLabel("Protocol of rule 2")).toHaveValue("ALL");
    await expect(noOut).toBeHidden();
    await page.getByRole("button", { name: /^Save/ }).click();
    await expect(page.getByTestId("egress-loss")).toBeHidden();
    await shot(page, "foot-guns-sg-outbound-added");
  });
});
