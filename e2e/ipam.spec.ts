// Address management as an admin does it in the portal: a dual-stack VNET whose held address
// allocation skips until it is released, Hoster's network_config.json imported, a small range
// filled until the exhaustion message, a /16 scrolled to its last address. The spec cleans up
// after itself (portal.spec.ts, which runs after it, starts from an empty installation).
import { expect, type Page, test } from "@playwright/test";
import { shot, signIn } from "./helpers";

test.describe.configure({ mode: "serial" });

const STATE = "test-results/.auth/ipam-admin.json";
const dialog = (page: Page, name: string | RegExp) => page.getByRole("dialog", { name });

/** Calls a tRPC procedure with the page's session (setup and cleanup only; flows use the UI). */
async function api<T>(
  page: Page,
  path: string,
  input?: unknown,
  kind: "query" | "mutation" = "mutation",
): Promise<T> {
  const res =
    kind === "query"
      ? await page.request.get(
          `/api/trpc/${path}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`}`,
        )
      : await page.request.post(`/api/trpc/${path}`, { data: { json: input } });
  expect(res.ok(), `${path}: ${await res.text()}`).toBeTruthy();
  return (await res.json()).result.data.json as T;
}

async function newInstance(page: Page, name: string, nodeId: number, vnetIds: number[]) {
  await page.goto("/instances");
  await page.getByRole("button", { name: "New instance" }).first().click();
  const d = dialog(page, "New instance");
  await d.getByLabel("Name", { exact: true }).fill(name);
  await d.getByLabel("Node").selectOption(String(nodeId));
  for (const [i, id] of vnetIds.entries()) {
    if (i > 0) await d.getByRole("button", { name: "+ Add NIC" }).click();
    await d.getByLabel(`VNET of eth${i}`).selectOption(String(id));
  }
  await d.getByRole("button", { name: "Create instance" }).click();
  return d;
}

const vnetIdFromUrl = (page: Page) => Number(/\/vnets\/(\d+)/.exec(page.url())![1]);

test("sign in for the IPAM flows", async ({ page }) => {
  await signIn(page);
  await page.context().storageState({ path: STATE });
});

test.describe("IPAM as admin", () => {
  test.use({ storageState: STATE });
  let nodeId = 0;

  test.beforeAll(async ({ browser }) => {
    const page = await browser.newPage({ storageState: STATE });
    nodeId = (await api<{ id: number }>(page, "node.create", { name: "ipam-node" })).id;
    await page.close();
  });

  test.afterAll(async ({ browser }) => {
    const page = await browser.newPage({ storageState: STATE });
    for (const i of await api<{ id: number }[]>(page, "instance.list", undefined, "query"))
      await api(page, "instance.remove", { id: i.id });
    for (const v of await api<{ id: number }[]>(page, "vnet.list", undefined, "query"))
      await api(page, "vnet.remove", { id: v.id });
    await api(page, "node.remove", { id: nodeId });
    await page.close();
  });

  test("a dual-stack VNET: hold an address with a reason, allocation skips it, release makes it leasable again", async ({
    page,
  }) => {
    await page.goto("/vnets");
    await page.getByRole("button", { name: "New VNET" }).first().click();
    const d = dialog(page, "New VNET");
    for (const [label, value] of Object.entries({
      Name: "ds-net",
      "Subnet (CIDR)": "10.77.0.0/24",
      Gateway: "10.77.0.1",
      "IPv6 global prefix": "2001:db8:77::/64",
      "IPv6 gateway": "2001:db8:77::1",
      "First IP": "10.77.0.10",
      Size: "20",
    }))
      await d.getByLabel(label, { exact: true }).fill(value);
    await shot(page, "ipam-vnet-form-dual-stack");
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();
    await page.getByRole("link", { name: "ds-net" }).click();
    await expect(page.getByRole("heading", { name: "ds-net" })).toBeVisible();
    const vnetId = vnetIdFromUrl(page);
    await expect(page.getByRole("table", { name: "Address ranges" })).toContainText("Dual stack");
    await expect(page.getByRole("table", { name: "Address ranges" })).toContainText("SLAAC 2001:db8:77::/64");
    await shot(page, "ipam-vnet-overview");

    // Leases tab: every address, free ones too; hold .10 from its row with a reason.
    await page.getByRole("tab", { name: "Leases" }).click();
    await expect(page).toHaveURL(/tab=leases/);
    const table = page.getByRole("table", { name: "Addresses" });
    const row10 = table.getByRole("row", { name: /10\.77\.0\.10 / });
    await expect(row10).toContainText("free");
    await expect(row10).toContainText("2001:db8:77::aff:fe4d:a");
    await row10.getByRole("button", { name: "Hold 10.77.0.10" }).click();
    const hold = dialog(page, "Hold addresses");
    await hold.getByRole("button", { name: "Hold" }).click();
    await expect(hold.getByLabel("Reason")).toHaveAccessibleDescription("Say why the address is held");
    await hold.getByLabel("Reason").fill("router VIP");
    await shot(page, "ipam-hold-dialog");
    await hold.getByRole("button", { name: "Hold" }).click();
    await expect(hold).toBeHidden();
    await expect(page.getByText("10.77.0.10 is on hold: router VIP")).toBeVisible();
    await expect(row10).toContainText("on hold");
    await expect(row10).toContainText("router VIP");
    await page.getByLabel("State").selectOption("hold");
    await expect(table.getByRole("row")).toHaveCount(2);
    await shot(page, "ipam-leases-held");

    // A new NIC skips the held address.
    const inst = await newInstance(page, "ipam-a", nodeId, [vnetId]);
    await expect(inst).toBeHidden();
    await expect(page.getByRole("row", { name: /ipam-a/ }).getByTestId("instance-nic")).toContainText(
      "10.77.0.11",
    );

    // Release it from its row; the next NIC gets it.
    await page.goto(`/vnets/${vnetId}?tab=leases`);
    await page.getByRole("button", { name: "Release 10.77.0.10" }).click();
    const confirm = dialog(page, "Release 10.77.0.10?");
    await expect(confirm).toContainText("router VIP");
    await confirm.getByRole("button", { name: "Release" }).click();
    await expect(page.getByText("10.77.0.10 released")).toBeVisible();
    await expect(table.getByRole("row", { name: /10\.77\.0\.10 / })).toContainText("free");
    await newInstance(page, "ipam-b", nodeId, [vnetId]);
    await expect(page.getByRole("row", { name: /ipam-b/ }).getByTestId("instance-nic")).toContainText(
      "10.77.0.10",
    );

    // The history answers "who had 10.77.0.10?".
    await page.goto(`/vnets/${vnetId}?tab=leases`);
    await table
      .getByRole("row", { name: /10\.77\.0\.10 / })
      .getByRole("button", { name: /History of/ })
      .click();
    const history = page.getByRole("table", { name: "Lease history" });
    await expect(history.getByRole("row")).toHaveCount(4);
    await expect(history.getByRole("row").nth(1)).toContainText("allocated");
    await expect(history.getByRole("row").nth(1)).toContainText("ipam-b");
    await expect(history.getByRole("row").nth(3)).toContainText("router VIP");
    await shot(page, "ipam-leases-history");

    // A whole span is held and released in one go.
    await page.getByRole("button", { name: "Hold addresses…" }).click();
    const span = dialog(page, "Hold addresses");
    await span.getByLabel("From").fill("10.77.0.15");
    await span.getByLabel("To (optional)").fill("10.77.0.17");
    await span.getByLabel("Reason").fill("spare for the VIPs");
    await span.getByRole("button", { name: "Hold" }).click();
    await expect(page.getByText("3 addresses from 10.77.0.15 to 10.77.0.17 are on hold")).toBeVisible();
    await expect(table.getByRole("row", { name: /10\.77\.0\.16 / })).toContainText("spare for the VIPs");
    await page.getByRole("button", { name: "Release addresses…" }).click();
    const rel = dialog(page, "Release held addresses");
    await rel.getByLabel("From").fill("10.77.0.15");
    await rel.getByLabel("To (optional)").fill("10.77.0.17");
    await rel.getByRole("button", { name: "Release" }).click();
    await expect(page.getByText("3 held addresses released")).toBeVisible();
    await expect(table.getByRole("row", { name: /10\.77\.0\.16 / })).toContainText("free");

    // The other tabs, as an admin sees them.
    for (const tab of ["Configuration", "Address ranges", "QoS", "Context", "Security groups", "Clusters"]) {
      await page.getByRole("tab", { name: tab }).click();
      await expect(page.getByRole("tab", { name: tab })).toHaveAttribute("aria-selected", "true");
      await shot(page, `ipam-tab-${tab.toLowerCase().replaceAll(" ", "-")}`);
    }
  });

  test("QoS is typed with units, shown in bits and bytes, and a peak below the average is refused at the field", async ({
    page,
  }) => {
    await page.goto("/vnets");
    await page.getByRole("link", { name: "ds-net" }).click();
    await page.getByRole("tab", { name: "QoS" }).click();
    const form = page.getByRole("form", { name: "VNET QoS" });
    await form.getByLabel("Inbound average").fill("1000 KB/s");
    await form.getByLabel("Inbound peak").fill("1 Mbit/s");
    await expect(form.getByLabel("Inbound peak")).toHaveAccessibleDescription(
      "Peak rate must be at least the average rate",
    );
    await form.getByLabel("Inbound peak").fill("100 Mbit/s");
    await form.getByLabel("Outbound average").fill("12.5 MB/s");
    await form.getByRole("button", { name: "Save QoS" }).click();
    await expect(page.getByText("QoS caps saved")).toBeVisible();
    await expect(page.getByTestId("qos-current")).toContainText("8 Mbit/s (1 MB/s)");
    await expect(page.getByTestId("qos-current")).toContainText("100 Mbit/s (12.5 MB/s)");
    await expect(
      page.getByRole("table", { name: "NIC QoS" }).getByRole("row", { name: /ipam-a/ }),
    ).toContainText("8 Mbit/s, peak 100 Mbit/s");
    await shot(page, "ipam-qos");

    await page.getByRole("tab", { name: "Context" }).click();
    const ctx = page.getByRole("form", { name: "Guest context" });
    await ctx.getByLabel("DNS servers").fill("10.77.0.1, 2001:db8:77::53");
    await ctx.getByLabel("Guest MTU").fill("1400");
    await ctx.getByRole("button", { name: "Save context" }).click();
    await expect(page.getByText("Guest context saved")).toBeVisible();
    const nic = page.getByRole("table", { name: "NIC context" }).getByRole("row", { name: /ipam-a/ });
    await expect(nic.getByTestId("nic-context")).toContainText("DNS10.77.0.1 2001:db8:77::53");
    await expect(nic.getByTestId("nic-context")).toContainText("MTU1400");
    await shot(page, "ipam-context");
  });

  test("importing Hoster's network_config.json yields its network", async ({ page }) => {
    await page.goto("/vnets");
    await page.getByRole("button", { name: "Import network_config.json" }).click();
    const d = dialog(page, "Import network_config.json");
    await d.getByLabel("File").setInputFiles({
      name: "network_config.json",
      mimeType: "application/json",
      buffer: Buffer.from(
        JSON.stringify([
          {
            network_name: "internal",
            network_gateway: "10.0.100.254",
            network_subnet: "10.0.100.0/24",
            network_range_start: "10.0.100.10",
            network_range_end: "10.0.100.200",
            bridge_interface: "None",
            apply_bridge_address: true,
            comment: "Internal Network",
          },
        ]),
      ),
    });
    await expect(d.getByLabel("Content")).toHaveValue(/"network_name":"internal"/);
    await shot(page, "ipam-hoster-import");
    await d.getByRole("button", { name: "Import" }).click();
    await expect(d).toBeHidden();
    await expect(page.getByText("Imported 1 network: internal")).toBeVisible();
    const row = page.getByRole("table", { name: "VNETs" }).getByRole("row", { name: /^internal / });
    await expect(row).toContainText("10.0.100.0/24");
    await expect(row).toContainText("10.0.100.254");
    await expect(row).toContainText("0 / 191");
    await expect(row).toContainText("Internal Network");
    await shot(page, "ipam-vnets-after-import");
  });

  test("filling a small range ends in the exhaustion message; resizing the range makes room", async ({
    page,
  }) => {
    const tiny = await api<{ id: number }>(page, "vnet.create", {
      name: "tiny-net",
      subnet: "10.78.0.0/24",
      gateway: "10.78.0.1",
      firstIp: "10.78.0.10",
      size: 2,
    });
    const full = await newInstance(page, "ipam-c", nodeId, [tiny.id, tiny.id]);
    await expect(full).toBeHidden();
    const d = await newInstance(page, "ipam-d", nodeId, [tiny.id]);
    await expect(d.getByLabel("VNET of eth0")).toHaveAccessibleDescription(
      "No free address left in VNET tiny-net (2 of 2 used); add or resize an address range",
    );
    await shot(page, "ipam-exhausted");
    await d.getByRole("button", { name: "Cancel" }).click();

    await page.goto("/vnets");
    await expect(page.getByRole("row", { name: /tiny-net/ })).toContainText("2 / 2");
    await page.getByRole("link", { name: "tiny-net" }).click();
    await page.getByRole("tab", { name: "Address ranges" }).click();
    await page.getByRole("button", { name: /Resize range/ }).click();
    const resize = dialog(page, /Resize range/);
    await resize.getByLabel("New size").fill("1");
    await resize.getByRole("button", { name: "Resize" }).click();
    await expect(resize.getByLabel("New size")).toHaveAccessibleDescription(
      /10\.78\.0\.11 \(used by ipam-c\) would fall outside/,
    );
    await shot(page, "ipam-shrink-refused");
    await resize.getByLabel("New size").fill("3");
    await resize.getByRole("button", { name: "Resize" }).click();
    await expect(resize).toBeHidden();
    await expect(page.getByRole("table", { name: "Address ranges" })).toContainText("10.78.0.12");
    const again = await newInstance(page, "ipam-d", nodeId, [tiny.id]);
    await expect(again).toBeHidden();
    await expect(page.getByRole("row", { name: /ipam-d/ }).getByTestId("instance-nic")).toContainText(
      "10.78.0.12",
    );
  });

  test("a /16's 65,534 addresses scroll smoothly to the last one and can be searched", async ({ page }) => {
    const big = await api<{ id: number }>(page, "vnet.create", {
      name: "big-net",
      subnet: "10.79.0.0/16",
      firstIp: "10.79.0.1",
      size: 65534,
    });
    await page.goto(`/vnets/${big.id}?tab=leases`);
    await expect(page.getByTestId("address-count")).toContainText("65,534 addresses");
    const table = page.getByRole("table", { name: "Addresses" });
    // Only a window of rows is in the page, however long the list.
    expect(await table.getByRole("row").count()).toBeLessThan(80);
    await page.getByTestId("address-scroller").evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect(table.getByRole("row", { name: /10\.79\.255\.254 / })).toBeVisible();
    await shot(page, "ipam-leases-16-bottom");
    await page.getByLabel("Search addresses").fill("10.79.200.7");
    await expect(table.getByRole("row", { name: /10\.79\.200\.7 / })).toContainText("free");
    await expect(page.getByTestId("address-count")).toContainText("1 address");
  });
});
