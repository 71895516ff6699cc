// The instance page's cloud-init seed, as an admin meets it: an instance with a hypervisor tap NIC
// made in the New instance dialog, from the instances list to its page,
// the tap NIC's QEMU and libvirt lines, the seed URL that a guest (no session) reads its documents
// from, the ISO and context.sh downloads, and rotation behind a confirmation with a toast, after which
// the old URL answers 404. Subnet 10.193 belongs to this spec.
import { expect, type Page, test } from "@playwright/test";
import { pick, shot, signIn } from "./helpers";

const RUN = Date.now().toString(36).slice(-4);

async function call(page: Page, proc: string, json: unknown) {
  const res = await page.request.post(`/api/trpc/${proc}`, { data: { json } });
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json;
}

test("an admin copies an instance's seed URL, downloads its ISO and rotates the URL", async ({
  page,
  browser,
}) => {
  await signIn(page);
  await call(page, "vnet.create", {
    name: `seed-net-${RUN}`,
    subnet: "10.193.0.0/24",
    gateway: "10.193.0.1",
    dns: "10.193.0.1",
    firstIp: "10.193.0.10",
    size: 5,
  });
  const node = await call(page, "node.create", { name: `seed-node-${RUN}` });
  const name = `seed-vm-${RUN}`;
  // Created from the dialog, its NIC a hypervisor tap port.
  await page.goto("/instances");
  await page.getByRole("button", { name: "New instance" }).first().click();
  const create = page.getByRole("dialog", { name: "New instance" });
  await create.getByLabel("Name", { exact: true }).fill(name);
  await pick(create.getByLabel("Node"), `${node.name} (`);
  await pick(create.getByLabel("VNET of eth0"), `seed-net-${RUN} —`);
  await create.getByLabel("Port of eth0").selectOption("tap");
  await expect(create.getByText("QEMU/libvirt tap")).toBeVisible();
  await shot(page, "instance-create-tap");
  await create.getByRole("button", { name: "Create instance" }).click();
  await expect(create).toBeHidden();

  await page.getByRole("link", { name }).click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await expect(page.locator('tr[data-nic="eth0"]')).toContainText("10.193.0.10");
  await expect(page.getByTestId("qemu-eth0")).toHaveText(
    /^-netdev tap,id=bh0,ifname=bhvt\d+,script=no,downscript=no -device virtio-net-pci,netdev=bh0,mac=/,
  );
  await expect(page.getByTestId("libvirt-eth0")).toContainText(/<target dev='bhvt\d+'\/>/);

  const urlBox = page.getByTestId("seed-url");
  await expect(urlBox).toHaveText(/^http:\/\/localhost:\d+\/seed\/\d+\/[A-Za-z0-9_-]{32}\/$/);
  const url = (await urlBox.textContent())!;
  await expect(page.getByTestId("seed-qemu")).toHaveText(`-smbios 'type=1,serial=ds=nocloud;s=${url}'`);
  await expect(page.getByTestId("seed-libvirt")).toContainText(
    `<entry name='serial'>ds=nocloud;s=${url}</entry>`,
  );
  await shot(page, "instance-seed");

  // A guest has no session: a fresh context reads the documents with the URL alone.
  const guest = await browser.newContext();
  const meta = await guest.request.get(`${url}meta-data`);
  expect(meta.status()).toBe(200);
  expect(await meta.text()).toContain(`local-hostname: "${name}"`);
  expect(await (await guest.request.get(`${url}network-config`)).text()).toContain('- "10.193.0.10/24"');
  // The downloads need a session.
  const id = url.split("/")[4];
  expect((await guest.request.get(`/api/instances/${id}/seed/cidata.iso`)).status()).toBe(401);

  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download cidata ISO" }).click();
  expect((await download).suggestedFilename()).toBe(`${name}-cidata.iso`);
  const ctx = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download context.sh" }).click();
  expect((await ctx).suggestedFilename()).toBe(`${name}-context.sh`);

  await page.getByRole("button", { name: "Rotate seed URL…" }).click();
  const dialog = page.getByRole("dialog", { name: `Rotate the seed URL of ${name}?` });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(urlBox).toHaveText(url);
  await page.getByRole("button", { name: "Rotate seed URL…" }).click();
  await dialog.getByRole("button", { name: "Rotate seed URL" }).click();
  await expect(page.getByText(`New seed URL for ${name}; the old one no longer answers`)).toBeVisible();
  await expect(urlBox).not.toHaveText(url);
  expect((await guest.request.get(`${url}meta-data`)).status()).toBe(404);
  const fresh = (await urlBox.textContent())!;
  expect((await guest.request.get(`${fresh}meta-data`)).status()).toBe(200);
  await guest.close();
});

test("an instance page that does not exist says so", async ({ page }) => {
  await signIn(page);
  await page.goto("/instances/999999");
  await expect(page.getByRole("heading", { name: "Instance not found" })).toBeVisible();
});
