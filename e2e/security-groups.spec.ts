import { expect, test } from "@playwright/test";
import { createTRPCClient, httpLink } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "../server/routers/root";
import { kernelUnavailable, nsPrefix, requireKernel } from "../tests/kernel";
import { E2E_PORT } from "./env";
import { dialog, E2eAgent, enroll, newInstance, pick, shot, signIn, signOut } from "./helpers";

test.describe.configure({ mode: "serial" });

const STATE = "test-results/.auth/sg-admin.json";
const VNET = "sg-net";
/** The page of the group the admin builds (web-in). */
let sgUrl = "";
/** The agent channel as a node would call it (with its credential once it has joined). */
const agentApi = (credential?: string) =>
  createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `http://localhost:${E2E_PORT}/api/trpc`,
        transformer: superjson,
        headers: () => (credential ? { authorization: `Bearer ${credential}` } : {}),
      }),
    ],
  });

test("sign in once for this spec", async ({ page }) => {
  await signIn(page);
  await page.context().storageState({ path: STATE });
});

test.describe("security groups", () => {
  test.use({ storageState: STATE });

  const kernel = requireKernel("security-groups e2e (a real agent applies the rollout)");
  // Why the kernel parts cannot run here (outside CI only: under CI=true requireKernel throws).
  const noKernel = `needs root and network namespaces: ${kernelUnavailable()}`;
  const NODE_NS = `${nsPrefix("s")}n1`;
  const agent = new E2eAgent(NODE_NS);
  // A node without a kernel behind it: it joins and reports over the real channel (a failed port).
  let offNode: { nodeId: number; credential: string } | undefined;

  test.afterAll(async () => {
    await agent.stop(!!kernel);
  });

  test("setup: a VNET, a node with a running agent, a node without one, an instance on each", async ({
    page,
  }) => {
    await page.goto("/vnets");
    await page.getByRole("button", { name: "New VNET" }).first().click();
    const d = dialog(page, "New VNET");
    for (const [label, value] of Object.entries({
      Name: VNET,
      "Subnet (CIDR)": "10.20.0.0/24",
      Gateway: "10.20.0.1",
      "First IP": "10.20.0.10",
      Size: "50",
    }))
      await d.getByLabel(label, { exact: true }).fill(value);
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();

    const offToken = await enroll(page, "sg-off");
    offNode = await agentApi().agent.join.mutate({ token: offToken, hostname: "sg-off" });
    await newInstance(page, "sg-vm-off", "sg-off", VNET);

    test.skip(!kernel, noKernel);
    const token = await enroll(page, "sg-live");
    agent.start(token);
    const row = page.getByRole("table", { name: "Nodes" }).getByRole("row", { name: /sg-live/ });
    await expect(row.getByTestId("node-state"), agent.log).toHaveText("connected", { timeout: 20_000 });
    await newInstance(page, "sg-vm", "sg-live", VNET);
  });

  test("the editor refuses a bad rule at its field, a duplicate at its row, then creates the group", async ({
    page,
  }) => {
    await page.goto("/vnets");
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Security groups" })
      .click();
    const list = page.getByRole("table", { name: "Security groups" });
    await expect(list.getByRole("row", { name: /default/ })).toContainText("built in");
    await shot(page, "sg-list");

    await page.getByRole("button", { name: "New security group" }).click();
    await expect(page).toHaveURL(/\/security-groups\/new$/);
    await expect(page.getByText("No rules yet")).toBeVisible();
    await shot(page, "sg-new-empty");
    await page.getByLabel("Name", { exact: true }).fill("web-in");
    await page.getByLabel("Description").fill("SSH and HTTP in, ping, everything out");

    // Rule 1: a port span that runs backwards is refused as you type, at the Ports field.
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await expect(page.getByLabel("Direction of rule 1")).toBeFocused();
    const ports1 = page.getByLabel("Ports of rule 1");
    await ports1.fill("80:22");
    await expect(ports1).toHaveAttribute("aria-invalid", "true");
    await expect(ports1).toHaveAccessibleDescription(/runs backwards; write 22:80/);
    await page.getByRole("button", { name: "Create group" }).click();
    await expect(page).toHaveURL(/\/security-groups\/new$/);
    await expect(ports1).toBeFocused();
    await shot(page, "sg-rule-field-error");
    await ports1.fill("22,80");
    await expect(ports1).not.toHaveAttribute("aria-invalid", "true");

    // Rule 2: ICMP echo; ports do not apply to ICMP, so that field is disabled and cleared.
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Ports of rule 2").fill("53");
    await page.getByLabel("Protocol of rule 2").selectOption("ICMP");
    await expect(page.getByLabel("Ports of rule 2")).toBeDisabled();
    await expect(page.getByLabel("Ports of rule 2")).toHaveValue("");
    await page.getByLabel("ICMP type of rule 2").fill("8");

    // Rule 3 repeats rule 1 (ports in another order): only the server knows, and says so at rule 3.
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Ports of rule 3").fill("80, 22");
    await page.getByRole("button", { name: "Create group" }).click();
    await expect(page.getByLabel("Protocol of rule 3")).toHaveAccessibleDescription(/repeats rule 1 exactly/);
    await shot(page, "sg-rule-server-error");

    // Make rule 3 an SSH-only rule (shadowed by rule 1: the lint says so) and add rule 4: all out.
    await page.getByLabel("Ports of rule 3").fill("22");
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Direction of rule 4").selectOption("OUTBOUND");
    await page.getByLabel("Protocol of rule 4").selectOption("ALL");
    // Reorder: move the outbound rule up and back down.
    await page.getByRole("button", { name: "Move rule 4 up" }).click();
    await expect(page.getByLabel("Direction of rule 3")).toHaveValue("OUTBOUND");
    await page.getByRole("button", { name: "Move rule 3 down" }).click();
    await expect(page.getByLabel("Direction of rule 4")).toHaveValue("OUTBOUND");
    await page.getByRole("button", { name: "Create group" }).click();
    await expect(page.getByText("Security group web-in created")).toBeVisible();
    await expect(page).toHaveURL(/\/security-groups\/\d+$/);
    sgUrl = new URL(page.url()).pathname;
    await expect(page.getByRole("heading", { name: "web-in" })).toBeVisible();
    const lint3 = page.getByRole("list", { name: "Lint of rule 3" });
    await expect(lint3).toContainText("shadowed");
    await expect(lint3).toContainText("Rule 1 already allows everything this rule allows");
    await expect(page.getByTestId("rule-counter").first()).toHaveText("— / —");
    await shot(page, "sg-editor");

    // Unsaved edits: leaving through a link asks first; staying keeps them.
    await page.getByLabel("Description").fill("changed, not saved");
    await expect(page.getByText("Unsaved changes")).toBeVisible();
    const nav = page.getByRole("navigation", { name: "Main" });
    page.once("dialog", (d) => void d.dismiss());
    await nav.getByRole("link", { name: "VNETs" }).click();
    await expect(page).toHaveURL(new RegExp(`${sgUrl}$`));
    await expect(page.getByLabel("Description")).toHaveValue("changed, not saved");
    page.once("dialog", (d) => void d.accept());
    await nav.getByRole("link", { name: "VNETs" }).click();
    await expect(page).toHaveURL(/\/vnets$/);
  });

  test("attached to the VNET, the default group's warning shows; one click detaches it; NICs roll out", async ({
    page,
  }) => {
    await page.goto(sgUrl);
    await expect(page.getByText("Not attached to any VNET")).toBeVisible();
    await pick(page.getByLabel("VNET to attach to"), VNET);
    await page.getByRole("button", { name: "Attach", exact: true }).click();
    await expect(page.getByText(`Security group web-in attached to VNET ${VNET}`)).toBeVisible();
    const warning = page
      .getByRole("alert")
      .filter({ hasText: `Default security group is attached to VNET ${VNET}` });
    await expect(warning).toContainText("it allows all traffic, so this group has no effect there");

    const nics = page.getByRole("table", { name: "Affected NICs" });
    const off = nics.getByRole("row", { name: /sg-vm-off eth0/ });
    await expect(off.getByTestId("nic-status")).toHaveText("outdated");
    await shot(page, "sg-default-warning");

    await warning.getByRole("button", { name: "Detach default group" }).click();
    await expect(page.getByText(`Default security group detached from VNET ${VNET}`)).toBeVisible();
    await expect(warning).toBeHidden();

    // The node without an agent never applies it: outdated, and Commit re-pushes to it.
    await expect(off.getByTestId("nic-status")).toHaveText("outdated");
    await page.getByRole("button", { name: /^Commit/ }).click();
    await expect(page.getByText(/Re-pushed to \d+ NIC\(s\) on \d+ node\(s\)/)).toBeVisible();

    // That node reports this revision with the port failed: the NIC shows error and the node's message.
    const revision = Number(await page.getByTestId("sg-revision").textContent());
    const nicId = Number(
      await page
        .getByRole("form", { name: "Explain a connection" })
        .getByLabel("NIC")
        .locator("option", { hasText: "sg-vm-off eth0" })
        .getAttribute("value"),
    );
    const failure = "nft: Error: Could not process rule: No such file or directory";
    await agentApi(offNode?.credential).agent.report.mutate({
      nodeId: offNode?.nodeId ?? 0,
      revision,
      ok: false,
      error: failure,
      operations: 1,
      durationMs: 4,
      networks: [],
      ports: [{ nicId, ok: false, error: failure }],
    });
    await expect(off.getByTestId("nic-status")).toHaveText("error");
    await expect(off).toContainText(failure);
    await expect(page.getByRole("button", { name: /^Commit/ })).toBeEnabled();
    await shot(page, "sg-nic-error");

    test.skip(!kernel, noKernel);
    // The node with an agent applies the new revision: its NIC goes up to date, live.
    const live = nics.getByRole("row", { name: /sg-vm eth0/ });
    await expect(live.getByTestId("nic-status"), agent.log).toHaveText("up to date", { timeout: 20_000 });
    await shot(page, "sg-nics");
  });

  test("explain names the deciding rule (highlighted), or the default policy", async ({ page }) => {
    await page.goto(sgUrl);
    const form = page.getByRole("form", { name: "Explain a connection" });
    await pick(form.getByLabel("NIC"), "sg-vm-off eth0");
    await form.getByLabel("Remote address").fill("198.51.100.7");
    await form.getByLabel("Port", { exact: true }).fill("80");
    await form.getByRole("button", { name: "Explain" }).click();
    const verdict = page.getByRole("status", { name: "Verdict" });
    await expect(verdict.getByTestId("verdict")).toHaveText("accepted");
    await expect(verdict.getByTestId("verdict-reason")).toHaveText(/by rule 1 of this group/);
    await expect(page.getByRole("row", { name: "rule 1", exact: true })).toHaveAttribute(
      "aria-current",
      "true",
    );
    await shot(page, "sg-explain");

    await form.getByLabel("Port", { exact: true }).fill("443");
    await form.getByLabel("Port", { exact: true }).press("Enter");
    await expect(verdict.getByTestId("verdict")).toHaveText("dropped");
    await expect(verdict.getByTestId("verdict-reason")).toHaveText(/no rule allows it/);
    await expect(page.getByRole("row", { name: "rule 1", exact: true })).not.toHaveAttribute(
      "aria-current",
      "true",
    );

    // The compiled policy of that NIC: this group's rules with their counters, then the drop.
    const policy = page.getByRole("figure", { name: "Compiled policy" });
    await expect(policy).toContainText(
      /meta l4proto tcp th dport \{ 22, 80 \} counter name sg\d+_r\d+ accept {2}# web-in rule 1/,
    );
    await expect(policy).toContainText("meta nfproto ipv4 icmp type 8");
    await policy.scrollIntoViewIfNeeded();
    await shot(page, "sg-policy-preview");

    // A TCP probe without a port is refused at the Port field.
    await form.getByLabel("Port", { exact: true }).fill("");
    await expect(form.getByLabel("Port", { exact: true })).toHaveAccessibleDescription(
      "A TCP probe needs a port",
    );
  });

  test("the VNET page lists its groups and offers the same one-click fix", async ({ page }) => {
    await page.goto("/vnets");
    await page.getByRole("link", { name: VNET }).click();
    await page.getByRole("tab", { name: "Security groups" }).click();
    const panel = page.getByRole("table", { name: "Security groups of this VNET" });
    await expect(panel.getByRole("row", { name: /web-in/ })).toBeVisible();
    await expect(panel.getByRole("row", { name: /default/ })).toHaveCount(0);

    await pick(page.getByLabel("Security group to attach"), "default");
    await page.getByRole("button", { name: "Attach", exact: true }).click();
    const warning = page
      .getByRole("alert")
      .filter({ hasText: "Default security group is attached to this VNET" });
    await expect(warning).toContainText("the other group here has no effect");
    await shot(page, "vnet-security-groups");
    await warning.getByRole("button", { name: "Detach default group" }).click();
    await expect(warning).toBeHidden();
    await expect(panel.getByRole("row", { name: /default/ })).toHaveCount(0);
  });

  test("deleting asks first; a group in use is refused with the way out, an unused one goes", async ({
    page,
  }) => {
    await page.goto(sgUrl);
    await page.getByRole("button", { name: "Delete" }).click();
    const confirm = dialog(page, "Delete security group web-in?");
    await confirm.getByRole("button", { name: "Delete group" }).click();
    await expect(page.getByText(`attached to VNET ${VNET}; detach it first`)).toBeVisible();
    await expect(page).toHaveURL(new RegExp(`${sgUrl}$`));

    await page.goto("/security-groups/new");
    await page.getByLabel("Name", { exact: true }).fill("scratch");
    await page.getByLabel("Name", { exact: true }).press("Enter");
    await expect(page.getByText("Security group scratch created")).toBeVisible();
    await expect(page.getByRole("heading", { name: "scratch" })).toBeVisible();
    await page.getByRole("button", { name: "Delete" }).click();
    const d = dialog(page, "Delete security group scratch?");
    await expect(d).toContainText("cannot be undone");
    await shot(page, "sg-delete-confirm");
    await page.keyboard.press("Escape");
    await expect(d).toBeHidden();
    await page.getByRole("button", { name: "Delete" }).click();
    await d.getByRole("button", { name: "Delete group" }).click();
    await expect(page).toHaveURL(/\/security-groups$/);
    await expect(page.getByText("Security group scratch deleted")).toBeVisible();
    const list = page.getByRole("table", { name: "Security groups" });
    await expect(list.getByRole("row", { name: /scratch/ })).toHaveCount(0);
    await expect(list.getByRole("row", { name: /web-in/ })).toContainText("admin");
    await shot(page, "sg-list-groups");
    await page.getByLabel("Search security groups").fill("nothing-like-this");
    await expect(page.getByText("No security groups match your search")).toBeVisible();
  });
});

test.describe("as a plain user", () => {
  test.use({ storageState: STATE });

  test("a plain user sees the default group read-only and manages a group of their own", async ({ page }) => {
    // The admin creates her account, signs out (the last use of this spec's session) and she signs in.
    await page.goto("/users");
    await page.getByRole("button", { name: "New user" }).click();
    const d = dialog(page, "New user");
    await d.getByLabel("User name").fill("sg_carol");
    await d.getByLabel("Full name").fill("Carol Firewall");
    await d.getByLabel("Password").fill("carol-password-123");
    await d.getByRole("button", { name: "Create user" }).click();
    await expect(d).toBeHidden();
    await signOut(page);
    await signIn(page, { username: "sg_carol", password: "carol-password-123" });

    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Security groups" })
      .click();
    await page.getByRole("table", { name: "Security groups" }).getByRole("link", { name: "default" }).click();
    await expect(page.getByRole("heading", { name: "default" })).toBeVisible();
    await expect(page.getByText("You may use this group but not change it")).toBeVisible();
    await expect(page.getByLabel("Name", { exact: true })).toBeDisabled();
    await expect(page.getByRole("button", { name: "Save" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "+ Add rule" })).toHaveCount(0);
    await shot(page, "sg-default-read-only");

    await page.goto("/security-groups/new");
    await page.getByLabel("Name", { exact: true }).fill("carol-web");
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Ports of rule 1").fill("443");
    await page.getByRole("button", { name: "Create group" }).click();
    await expect(page.getByText("Security group carol-web created")).toBeVisible();
    await expect(page.getByRole("button", { name: "Save" })).toBeEnabled();
    await page.goto("/security-groups");
    await expect(
      page.getByRole("table", { name: "Security groups" }).getByRole("row", { name: /carol-web/ }),
    ).toContainText("sg_carol");
    // Another user's group stays invisible to her, in the list and at its address.
    await expect(page.getByRole("row", { name: /web-in/ })).toHaveCount(0);
    await page.goto(sgUrl);
    await expect(page.getByRole("heading", { name: "Security group not found" }).first()).toBeVisible();
    await shot(page, "sg-not-found");
  });
});
