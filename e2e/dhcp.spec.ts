// The DHCP & DNS tab of a VNET page, as an admin meets it: an empty host list on a fresh VNET, the
// host entry of an instance's NIC with the name it resolves as, a lease time and an upstream refused
// at their fields as typed (nothing saved), then saved with a toast and still there after a reload,
// and switched off with the status saying so. Subnets 10.171/10.172 belong to this spec.
import { expect, type Page, test } from "@playwright/test";
import { shot, signIn } from "./helpers";

const RUN = Date.now().toString(36).slice(-4);

async function call(page: Page, proc: string, json: unknown) {
  const res = await page.request.post(`/api/trpc/${proc}`, { data: { json } });
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json;
}

async function vnet(page: Page, name: string, n: number): Promise<number> {
  const v = await call(page, "vnet.create", {
    name,
    subnet: `10.${n}.0.0/24`,
    gateway: `10.${n}.0.1`,
    firstIp: `10.${n}.0.10`,
    size: 5,
  });
  return v.id;
}

test("an admin sets lease time and upstream DNS of a VNET, sees its host entries and switches it off", async ({
  page,
}) => {
  await signIn(page);
  const empty = await vnet(page, `dhcp-empty-${RUN}`, 172);
  await page.goto(`/vnets/${empty}?tab=dhcp`);
  await expect(page.getByText("No host entries yet")).toBeVisible();

  const id = await vnet(page, `Dhcp Web ${RUN}`, 171);
  const node = await call(page, "node.create", { name: `dhcp-node-${RUN}` });
  await call(page, "instance.create", { name: `web_${RUN}`, nodeId: node.id, nics: [{ vnetId: id }] });
  await page.goto(`/vnets/${id}`);
  // Reached from the tab bar with the keyboard, like the other tabs.
  await page.getByRole("tab", { name: "Overview" }).focus();
  for (const next of ["Configuration", "Address ranges", "Leases", "DHCP & DNS"]) {
    await page.keyboard.press("ArrowRight");
    await expect(page.getByRole("tab", { name: next })).toHaveAttribute("aria-selected", "true");
  }
  await expect(page.getByRole("tab", { name: "DHCP & DNS" })).toHaveAttribute("aria-selected", "true");
  await expect(page).toHaveURL(/tab=dhcp/);

  const domain = `dhcp-web-${RUN}.internal`;
  const hosts = page.getByRole("table", { name: "DHCP host entries" });
  await expect(hosts.getByText(`web-${RUN}.${domain}`)).toBeVisible();
  await expect(hosts.getByText("10.171.0.10")).toBeVisible();
  await expect(hosts.getByText(`dhcp-node-${RUN}`)).toBeVisible();
  // No agent runs for this node: nobody took the lease yet.
  await expect(hosts.getByText("not taken yet")).toBeVisible();
  await expect(page.getByText("served by the nodes")).toBeVisible();

  const form = page.getByRole("form", { name: "DHCP & DNS" });
  const lease = form.getByLabel("Lease time");
  const upstreams = form.getByLabel("Upstream DNS servers");
  const save = form.getByRole("button", { name: "Save DHCP & DNS" });
  await expect(save).toBeDisabled();
  await lease.fill("30s");
  await expect(form.getByText("A lease lasts from 2 minutes (120) to a year (365d)")).toBeVisible();
  await expect(lease).toHaveAttribute("aria-invalid", "true");
  await lease.fill("12h");
  await upstreams.fill("192.0.2.53, resolver.example");
  await expect(form.getByText("Use IPv4 addresses separated by commas")).toBeVisible();
  await save.click();
  await expect(page.getByText(/DHCP & DNS saved/)).toBeHidden();
  await upstreams.fill("192.0.2.53, 198.51.100.53");
  await expect(form.getByText("Use IPv4 addresses separated by commas")).toBeHidden();
  await shot(page, "dhcp-tab-editing");
  await save.click();
  await expect(page.getByText("DHCP & DNS saved: 2 changes; the nodes apply it now")).toBeVisible();
  await expect(form.getByText("Now: 12 hours")).toBeVisible();

  await page.reload();
  await expect(form.getByLabel("Lease time")).toHaveValue("12h");
  await expect(form.getByLabel("Upstream DNS servers")).toHaveValue("192.0.2.53, 198.51.100.53");
  await shot(page, "dhcp-tab");

  await form.getByLabel("Service").selectOption("off");
  await form.getByRole("button", { name: "Save DHCP & DNS" }).click();
  await expect(page.getByText("DHCP & DNS saved: 1 change; the nodes apply it now")).toBeVisible();
  await expect(page.getByText("not served while off")).toBeVisible();
  // The audit page shows who changed what.
  await page.goto("/audit");
  await expect(page.getByText("DHCP: by network type → off").first()).toBeVisible();
  await expect(page.getByText(/lease time: default \(3600 s\) → 43200 s/).first()).toBeVisible();
});
