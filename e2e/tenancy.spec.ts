// Multi-tenancy as admins and end users meet it: an admin makes a VXLAN template from the
// `Private IPv4` one; an end user sees only the self-service area, makes a network of their own and
// puts an instance on it; a second user cannot open it by URL and, the pool being exhausted, is
// told which pool. Runs in order on the run's database (after portal.spec when run together).
import { type Browser, expect, type Page, test } from "@playwright/test";
import { ADMIN, shot } from "./helpers";

test.describe.configure({ mode: "serial" });

const ERIN = { username: "erin", password: "erin-password-123", name: "Erin Example" };
const FRANK = { username: "frank", password: "frank-password-123", name: "Frank Example" };
// Unique per run, so the spec also passes on a database another spec already used.
const VXLAN = "Private VXLAN";
let erinVnetUrl = "";

const dialog = (page: Page, name: string | RegExp) => page.getByRole("dialog", { name });

/** Signs in through the form; waits out better-auth's sign-in rate limit if it answers 429. */
async function signInAs(browser: Browser, user: { username: string; password: string }, landing: RegExp) {
  const page = await (await browser.newContext()).newPage();
  for (let attempt = 0; attempt < 4; attempt++) {
    await page.goto("/login");
    await page.getByLabel("User name").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByLabel("Password").press("Enter");
    const alert = page.getByRole("form", { name: "Sign in" }).getByRole("alert");
    const outcome = await Promise.race([
      page.waitForURL(landing, { timeout: 15_000 }).then(() => "ok"),
      alert.waitFor({ timeout: 15_000 }).then(() => "alert"),
    ]);
    if (outcome === "ok") return page;
    const text = (await alert.textContent()) ?? "";
    if (!/too many|rate/i.test(text)) throw new Error(`Sign-in of ${user.username} failed: ${text}`);
    await page.waitForTimeout(11_000);
  }
  throw new Error(`Sign-in of ${user.username} kept hitting the rate limit`);
}

async function createUser(page: Page, u: typeof ERIN) {
  await page.getByRole("button", { name: "New user" }).first().click();
  const d = dialog(page, "New user");
  await d.getByLabel("User name").fill(u.username);
  await d.getByLabel("Full name").fill(u.name);
  await d.getByLabel("Password").fill(u.password);
  await d.getByRole("button", { name: "Create user" }).click();
  await expect(d).toBeHidden();
  await expect(
    page.getByRole("table", { name: "Users" }).getByRole("row", { name: new RegExp(u.username) }),
  ).toBeVisible();
}

test("an admin makes a VXLAN template from Private IPv4, creates two end users and enrolls a node", async ({
  browser,
}) => {
  const page = await signInAs(browser, ADMIN, /\/$/);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const item of ["Templates", "Groups", "Self-service"])
    await expect(nav.getByRole("link", { name: item, exact: true })).toBeVisible();

  await nav.getByRole("link", { name: "Users" }).click();
  await createUser(page, ERIN);
  await createUser(page, FRANK);
  await shot(page, "tenancy-users");

  await page.getByRole("button", { name: `Edit user ${ERIN.username}` }).click();
  const editUser = dialog(page, `Edit user ${ERIN.username}`);
  await expect(editUser.getByLabel("Primary group")).toHaveValue("1");
  await shot(page, "tenancy-user-edit");
  await editUser.getByRole("button", { name: "Cancel" }).click();

  // A quota on the group users: every member together may own at most 5 networks.
  await nav.getByRole("link", { name: "Groups", exact: true }).click();
  const users = page
    .getByRole("table", { name: "Groups" })
    .getByRole("row", { name: /Default group of end users/ });
  await users.getByRole("button", { name: "Edit group users" }).click();
  const editGroup = dialog(page, "Edit group users");
  await editGroup.getByLabel("Networks (VNETs) at most").fill("five");
  await expect(editGroup.getByLabel("Networks (VNETs) at most")).toHaveAccessibleDescription(/whole number/);
  await editGroup.getByLabel("Networks (VNETs) at most").fill("5");
  await shot(page, "tenancy-group-edit");
  await editGroup.getByRole("button", { name: "Save group" }).click();
  await expect(editGroup).toBeHidden();
  await expect(users).toContainText("5 / unlimited");
  await shot(page, "tenancy-groups");

  // A network shared with everybody (USE for other), to reserve addresses from.
  await nav.getByRole("link", { name: "VNETs" }).click();
  await page.getByRole("button", { name: "New VNET" }).first().click();
  const newVnet = dialog(page, "New VNET");
  for (const [label, value] of Object.entries({
    Name: "shared-lab",
    "Subnet (CIDR)": "10.160.0.0/24",
    Gateway: "10.160.0.1",
    "First IP": "10.160.0.10",
    Size: "50",
  }))
    await newVnet.getByLabel(label, { exact: true }).fill(value);
  await newVnet.getByRole("button", { name: "Create VNET" }).click();
  await expect(newVnet).toBeHidden();
  await page.getByRole("table", { name: "VNETs" }).getByRole("link", { name: "shared-lab" }).click();
  await expect(page.getByRole("heading", { name: "shared-lab" })).toBeVisible();
  await page.getByLabel("other use").check();
  await expect(page.getByLabel("Permissions (octal)")).toHaveValue("604");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("Permissions changed")).toBeVisible();

  await nav.getByRole("link", { name: "Templates" }).click();
  await page.getByRole("table", { name: "Templates" }).getByRole("link", { name: "Private IPv4" }).click();
  await expect(page.getByRole("heading", { name: "Private IPv4" })).toBeVisible();
  await page.getByRole("button", { name: "Clone…" }).click();
  const clone = dialog(page, /Clone Template Private IPv4/);
  await clone.getByLabel("Name").fill(VXLAN);
  await clone.getByRole("button", { name: "Clone" }).click();
  await expect(clone).toBeHidden();
  await expect(page.getByText(`Template ${VXLAN} created`)).toBeVisible();

  await nav.getByRole("link", { name: "Templates" }).click();
  await expect(
    page.getByRole("table", { name: "Templates" }).getByRole("row", { name: new RegExp(VXLAN) }),
  ).toContainText("640");
  await shot(page, "tenancy-templates");
  await page.getByRole("table", { name: "Templates" }).getByRole("link", { name: VXLAN }).click();
  await expect(page.getByRole("heading", { name: VXLAN })).toBeVisible();
  await page.getByRole("button", { name: "Edit" }).click();
  const edit = dialog(page, `Edit template ${VXLAN}`);
  await edit.getByLabel("Driver").selectOption("vxlan");
  // A VXLAN template without a pool is refused at the pool field before anything is sent.
  await edit.getByRole("button", { name: "Save template" }).click();
  await expect(edit.getByLabel("VNI pool from")).toHaveAccessibleDescription(
    "A vxlan template needs a VNI pool",
  );
  await edit.getByLabel("VNI pool from").fill("7000");
  await edit.getByLabel("VNI pool to").fill("7000");
  await edit.getByLabel("Labels").fill("tenant");
  await shot(page, "tenancy-template-form");
  await edit.getByRole("button", { name: "Save template" }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByText("VNI pool 7000–7000")).toBeVisible();
  // Shared with the group users (cloned with the source's group and 640).
  await expect(page.getByLabel("Permissions (octal)")).toHaveValue("640");
  await expect(page.getByLabel("group use")).toBeChecked();
  await expect(page.getByLabel("other use")).not.toBeChecked();
  await shot(page, "tenancy-template-detail");

  await nav.getByRole("link", { name: "Nodes" }).click();
  await page.getByRole("button", { name: "Enroll node" }).first().click();
  const enroll = dialog(page, "Enroll node");
  await enroll.getByLabel("Node name").fill("tenant-node");
  await enroll.getByRole("button", { name: "Enroll" }).click();
  const enrolled = dialog(page, "Node tenant-node enrolled");
  // Copied first: Done on an uncopied join token asks before closing.
  await enrolled.getByRole("button", { name: "Copy join token" }).click();
  await enrolled.getByRole("button", { name: "Done" }).click();
  await expect(enrolled).toBeHidden();

  // Every permission change is in the audit log, findable by object.
  await nav.getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Object type").selectOption("vnet");
  await page.getByLabel("Action starts with").fill("vnet.chmod");
  const log = page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("row", { name: /vnet\.chmod/ })).toContainText("600 → 604");
  await expect(log.getByRole("row", { name: /vnet\.create/ })).toHaveCount(0);
  await shot(page, "tenancy-audit");
  await page.context().close();
});

test("an end user sees only the self-service area, makes a network and puts an instance's NIC on it", async ({
  browser,
}) => {
  const page = await signInAs(browser, ERIN, /\/$/);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link")).toHaveText([
    "Overview",
    "Self-service",
    "Instances",
    "Topology",
    "Security groups",
    "REST API",
  ]);
  // Her overview has no node panel (nodes are the admins'), and points her at making a network.
  await expect(page.getByRole("heading", { name: "Overview", exact: true })).toBeVisible();
  await expect(page.getByText(/^Nodes · /)).toHaveCount(0);
  await shot(page, "tenancy-overview-end-user");
  await page.getByRole("link", { name: "Make a network" }).click();
  await expect(page).toHaveURL(/\/self-service$/);
  await expect(page.getByRole("heading", { name: "You have no networks yet" })).toBeVisible();
  await expect(page.getByText("Private IPv4")).toBeVisible();
  await shot(page, "tenancy-self-service-empty");

  await page.getByRole("button", { name: `Create network from ${VXLAN}` }).click();
  const d = dialog(page, `New network from ${VXLAN}`);
  await d.getByLabel("Name").fill("erin-net");
  await d.getByLabel("Size").fill("300");
  // The preview says what does not fit, and what will be created once it does.
  await expect(d.getByTestId("preview-problems")).toContainText("at most 253 addresses");
  await d.getByLabel("Size").fill("10");
  const preview = d.getByRole("region", { name: "Preview" });
  await expect(preview).toContainText("10.128.0.2 – 10.128.0.11 (10)");
  await expect(preview).toContainText("VXLAN, VNI 7000 (from VNI pool 7000–7000)");
  await expect(d.getByTestId("preview-problems")).toHaveCount(0);
  await shot(page, "tenancy-instantiate");
  await d.getByRole("button", { name: "Create network" }).click();
  await expect(d).toBeHidden();
  await expect(page.getByText("Network erin-net created: 10.128.0.2–10.128.0.11")).toBeVisible();
  const row = page.getByRole("table", { name: "My networks" }).getByRole("row", { name: /erin-net/ });
  await expect(row).toContainText(`from ${VXLAN}`);
  await expect(row).toContainText("0 / 10");

  await nav.getByRole("link", { name: "Instances" }).click();
  await page.getByRole("button", { name: "New instance" }).first().click();
  const inst = dialog(page, "New instance");
  await inst.getByLabel("Name", { exact: true }).fill("erin-vm");
  await inst.getByLabel("Node").selectOption({ label: "tenant-node (default, pending)" });
  await inst.getByLabel("VNET of eth0").selectOption({ label: "erin-net — 10.128.0.0/24, 10 free" });
  await inst.getByRole("button", { name: "Create instance" }).click();
  await expect(inst).toBeHidden();
  await expect(page.getByText(/Instance erin-vm created: erin-net 10\.128\.0\.2/)).toBeVisible();

  // A NIC asking for any VNET labelled "tenant" gets the one Erin may use in the node's cluster.
  await page.getByRole("button", { name: "New instance" }).first().click();
  await inst.getByLabel("Name", { exact: true }).fill("erin-auto");
  await inst.getByLabel("Node").selectOption({ label: "tenant-node (default, pending)" });
  await inst.getByLabel("VNET of eth0").selectOption("auto");
  await inst.getByLabel("Labels of eth0").fill("tenant");
  await shot(page, "tenancy-instance-auto");
  await inst.getByRole("button", { name: "Create instance" }).click();
  await expect(inst).toBeHidden();
  await expect(page.getByText(/Instance erin-auto created: erin-net 10\.128\.0\.3/)).toBeVisible();

  await nav.getByRole("link", { name: "Self-service" }).click();
  await expect(row).toContainText("10.128.0.2 → erin-vm eth0");
  await expect(row).toContainText("10.128.0.3 → erin-auto eth0");
  await expect(row).toContainText("2 / 10");
  await expect(page.getByTestId("quota")).toContainText("1 network · 2 addresses");
  await shot(page, "tenancy-self-service");

  await row.getByRole("link", { name: "erin-net" }).click();
  await expect(page.getByRole("heading", { name: "erin-net" })).toBeVisible();
  erinVnetUrl = new URL(page.url()).pathname;
  // The owner manages the VNET (600: use and manage) but does not hold ADMIN on it.
  await expect(page.getByLabel("Permissions (octal)")).toHaveValue("600");
  await expect(page.getByLabel("owner admin")).toBeDisabled();
  // The template's labels came along (automatic selection found the network by them).
  await expect(page.getByLabel("Labels", { exact: true })).toHaveValue("tenant");
  await page.getByLabel("Lock level").selectOption("manage");
  await page.getByRole("button", { name: "Lock", exact: true }).click();
  await expect(page.getByTestId("lock-state")).toHaveText("Locked: MANAGE");
  await page.getByRole("button", { name: "Rename…" }).click();
  const rename = dialog(page, "Rename VNET erin-net");
  await rename.getByLabel("Name").fill("erin-renamed");
  await rename.getByRole("button", { name: "Rename" }).click();
  await expect(rename.getByRole("alert")).toHaveText(
    "VNET erin-net is locked (manage level); unlock it first",
  );
  await shot(page, "tenancy-vnet-locked");
  await rename.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("button", { name: "Unlock" }).click();
  await expect(page.getByTestId("lock-state")).toHaveText("Unlocked");
  await shot(page, "tenancy-vnet-permissions");
  await page.context().close();
});

test("another user cannot open that network by URL, and hears which pool is exhausted", async ({
  browser,
}) => {
  expect(erinVnetUrl).toMatch(/^\/vnets\/\d+$/);
  const page = await signInAs(browser, FRANK, /\/$/);
  await page.goto("/self-service");
  await expect(page.getByRole("heading", { name: "You have no networks yet" })).toBeVisible();
  await expect(page.getByText("erin-net")).toHaveCount(0);

  await page.goto(erinVnetUrl);
  await expect(page.getByRole("heading", { name: "VNET not found" }).first()).toBeVisible();
  await shot(page, "tenancy-not-found");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Self-service" }).click();
  await page.getByRole("button", { name: `Create network from ${VXLAN}` }).click();
  const d = dialog(page, `New network from ${VXLAN}`);
  await d.getByLabel("Name").fill("frank-net");
  const pool = `VNI pool 7000–7000 of template ${VXLAN} is exhausted`;
  await expect(d.getByTestId("preview-problems")).toContainText(pool);
  await d.getByRole("button", { name: "Create network" }).click();
  await expect(d.getByRole("alert")).toContainText(pool);
  await expect(d.getByRole("button", { name: "Create network" })).toBeEnabled();
  await shot(page, "tenancy-pool-exhausted");
  await d.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("heading", { name: "You have no networks yet" })).toBeVisible();

  // Frank reserves addresses of the network shared with everybody, into a network of his own.
  const shared = page
    .getByRole("table", { name: "Shared networks" })
    .getByRole("row", { name: /shared-lab/ });
  await expect(shared).toContainText("0 / 50");
  await shared.getByRole("button", { name: "Reserve addresses of shared-lab" }).click();
  const r = dialog(page, "Reserve addresses of shared-lab");
  await r.getByLabel("New network name").fill("frank-res");
  await r.getByLabel("How many").fill("4");
  await shot(page, "tenancy-reserve");
  await r.getByRole("button", { name: "Reserve" }).click();
  await expect(r).toBeHidden();
  await expect(page.getByText("Reserved 10.160.0.10–10.160.0.13 into frank-res")).toBeVisible();
  const mine = page.getByRole("table", { name: "My networks" }).getByRole("row", { name: /frank-res/ });
  await expect(mine).toContainText("reserved from shared-lab");
  await expect(mine).toContainText("0 / 4");
  await expect(shared).toContainText("4 / 50");
  await expect(page.getByTestId("quota")).toContainText("your group: 2 of 5 networks");
  await shot(page, "tenancy-reserved");
  await page.context().close();
});
