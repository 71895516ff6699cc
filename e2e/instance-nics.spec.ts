// An instance's own page as an admin meets it: its NICs with their state on a real node (a real
// agent in a namespace), a hypervisor (tap) NIC hot-plugged with the exact QEMU and libvirt lines
// to start the VM with, a refused address at its field (nothing added), a NIC moved to another
// address and one removed after a confirmation, live. Subnets 10.185/10.186 belong to this spec.
import { expect, type Page, test } from "@playwright/test";
import { kernelUnavailable, nsPrefix, requireKernel } from "../tests/kernel";
import { dialog, E2eAgent, pick, shot, signIn } from "./helpers";

test.describe.configure({ mode: "serial" });

const RUN = Date.now().toString(36).slice(-4);
const kernel = requireKernel("instance NICs e2e (a real agent)");
const agent = new E2eAgent(`${nsPrefix("hp")}n1`);

test.afterAll(async () => {
  await agent.stop(!!kernel);
});

async function call(page: Page, proc: string, json: unknown) {
  const res = await page.request.post(`/api/trpc/${proc}`, { data: { json } });
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json;
}
async function query(page: Page, proc: string, json: unknown) {
  const res = await page.request.get(
    `/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json }))}`,
  );
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json;
}

test("an instance's page: NIC states from the node, a tap NIC hot-plugged with its QEMU/libvirt lines, changed and removed", async ({
  page,
}) => {
  test.skip(!kernel, `needs root and network namespaces: ${kernelUnavailable()}`);
  await signIn(page);
  const [a, b] = [`nics-a-${RUN}`, `nics-b-${RUN}`];
  for (const [name, n] of [
    [a, 185],
    [b, 186],
  ] as const)
    await call(page, "vnet.create", {
      name,
      subnet: `10.${n}.0.0/24`,
      gateway: `10.${n}.0.1`,
      firstIp: `10.${n}.0.10`,
      size: 5,
    });
  const nodeName = `nics-node-${RUN}`;
  const node = await call(page, "node.create", { name: nodeName });
  agent.start(node.joinToken);

  // Created from the Instances page with a lab guest NIC, then opened from its name.
  const name = `vm-${RUN}`;
  await page.goto("/instances");
  await page.getByRole("button", { name: "New instance" }).first().click();
  const create = dialog(page, "New instance");
  await create.getByLabel("Name", { exact: true }).fill(name);
  await pick(create.getByLabel("Node"), `${nodeName} (`);
  await pick(create.getByLabel("VNET of eth0"), `${a} —`);
  await expect(create.getByLabel("Port of eth0")).toHaveValue("guest");
  await shot(page, "instance-create-port");
  await create.getByRole("button", { name: "Create instance" }).click();
  await expect(create).toBeHidden();
  await page.getByRole("link", { name, exact: true }).click();
  await expect(page.getByRole("heading", { name, exact: true })).toBeVisible();
  const nicsTable = page.getByRole("table", { name: `NICs of ${name}` });
  const eth0 = nicsTable.locator('tr[data-nic="eth0"]');
  await expect(eth0).toContainText("10.185.0.10");
  await expect(eth0).toContainText("Lab guest");
  // The page is not reloaded: it follows the node's reports.
  await expect(page.getByTestId("nic-state-eth0")).toHaveText("Applied", { timeout: 30_000 });
  await expect(page.getByText("the node has applied every change")).toBeVisible();

  // Hot-plug a hypervisor port; a malformed address is refused as typed.
  await page.getByRole("button", { name: "Add NIC" }).first().click();
  let add = dialog(page, `Add a NIC to ${name}`);
  await pick(add.getByLabel("VNET"), `${b} —`);
  await add.getByLabel("IPv4 (optional)").fill("10.186.0.999");
  await expect(add.getByLabel("IPv4 (optional)")).toHaveAttribute("aria-invalid", "true");
  await add.getByLabel("IPv4 (optional)").fill("10.186.0.11");
  await add.getByLabel("Port").selectOption("tap");
  await add.getByRole("button", { name: "Add NIC" }).click();
  await expect(add).toBeHidden();
  await expect(page.getByText(`eth1 added to ${name}: ${b} 10.186.0.11 (hypervisor port)`)).toBeVisible();
  const eth1 = nicsTable.locator('tr[data-nic="eth1"]');
  await expect(eth1).toContainText("10.186.0.11");
  const inst = await query(page, "instance.get", { id: Number(page.url().split("/").pop()) });
  const tap = inst.nics.find((n: { idx: number }) => n.idx === 1);
  expect(tap.dev).toMatch(/^bhvt\d+$/);
  await expect(eth1).toContainText(`Hypervisor tap ${tap.dev}`);
  await expect(page.getByTestId("nic-state-eth1")).toHaveText("Applied", { timeout: 30_000 });
  await expect(page.getByTestId("qemu-eth1")).toHaveText(
    `-netdev tap,id=bh1,ifname=${tap.dev},script=no,downscript=no -device virtio-net-pci,netdev=bh1,mac=${tap.mac}`,
  );
  await expect(page.getByTestId("libvirt-eth1")).toContainText(`<target dev='${tap.dev}'/>`);
  await expect(page.getByTestId("libvirt-eth1")).toContainText(`<mac address='${tap.mac}'/>`);
  await shot(page, "instance-nics");

  // An address another NIC holds is refused at its field, and nothing is added.
  await page.getByRole("button", { name: "Add NIC" }).first().click();
  add = dialog(page, `Add a NIC to ${name}`);
  await pick(add.getByLabel("VNET"), `${b} —`);
  await add.getByLabel("IPv4 (optional)").fill("10.186.0.11");
  await add.getByRole("button", { name: "Add NIC" }).click();
  await expect(add.getByLabel("IPv4 (optional)")).toHaveAttribute("aria-invalid", "true");
  await expect(add.getByText(/10\.186\.0\.11/).first()).toBeVisible();
  await shot(page, "instance-nics-refused");
  await add.getByRole("button", { name: "Cancel" }).click();
  expect((await query(page, "instance.get", { id: inst.id })).nics).toHaveLength(2);

  // Moved to another address, live.
  await eth1.getByRole("button", { name: "Change eth1" }).click();
  const change = dialog(page, `Change eth1 of ${name}`);
  await change.getByLabel("IPv4 (optional)").fill("10.186.0.12");
  await change.getByRole("button", { name: "Apply change" }).click();
  await expect(change).toBeHidden();
  await expect(eth1).toContainText("10.186.0.12");
  await expect(page.getByTestId("nic-state-eth1")).toHaveText("Applied", { timeout: 30_000 });

  // Removed after a confirmation; its attach panel goes with it.
  await eth1.getByRole("button", { name: "Remove eth1" }).click();
  const confirm = dialog(page, `Remove eth1 from ${name}?`);
  await expect(confirm).toContainText("10.186.0.12");
  await confirm.getByRole("button", { name: "Remove NIC" }).click();
  await expect(page.getByText(`eth1 removed from ${name}; its address is free again`)).toBeVisible();
  await expect(eth1).toBeHidden();
  await expect(page.getByTestId("hypervisor-lines-eth1")).toBeHidden();
  expect((await query(page, "instance.get", { id: inst.id })).nics).toHaveLength(1);
});
