// A blocked ping becomes allowed by a rule added in the editor, on a real agent: a group built in
// the editor without ICMP is attached to a VNET whose two instances run on a node namespace; the
// ping between the guests (run for real in the guest namespace) is dropped; an inbound ICMP rule is
// added, the NICs go outdated → up to date, the same ping passes, and the rule's counter shows it.
import { execFileSync } from "node:child_process";
import { expect, type Page, test } from "@playwright/test";
import { kernelUnavailable, nsPrefix, pings, requireKernel } from "../tests/kernel";
import { E2eAgent, enroll, newInstance, pick, shot, signIn } from "./helpers";

test.describe.configure({ mode: "serial" });

const STATE = "test-results/.auth/sg-ping-admin.json";
const VNET = "ping-net";
const GROUP = "ping-test";

/** The guests' namespaces on the node and their eth0 addresses, as the agent made them. */
function guests(nodeNs: string): { ns: string; ip: string }[] {
  const all = JSON.parse(execFileSync("ip", ["-j", "netns", "list"], { encoding: "utf8" }) || "[]") as {
    name: string;
  }[];
  return all
    .map((n) => n.name)
    .filter((n) => n.startsWith(`${nodeNs}-i`))
    .sort()
    .map((ns) => {
      const link = JSON.parse(
        execFileSync("ip", ["-n", ns, "-j", "-4", "addr", "show", "dev", "eth0"], { encoding: "utf8" }),
      ) as { addr_info: { local: string }[] }[];
      return { ns, ip: link[0]?.addr_info[0]?.local ?? "" };
    });
}

/** Whether a ping gets through, allowing the shared machine up to three tries. */
const pingPasses = (from: string, to: string) => [0, 1, 2].some(() => pings(from, to));

/** The NIC rows of the group page have reached `status`. */
async function nicsAre(page: Page, status: string, log: () => string) {
  const nics = page.getByRole("table", { name: "Affected NICs" });
  for (const name of ["ping-a eth0", "ping-b eth0"])
    await expect(
      nics.getByRole("row", { name: new RegExp(name) }).getByTestId("nic-status"),
      log(),
    ).toHaveText(status, { timeout: 20_000 });
}

test("sign in once for this spec", async ({ page }) => {
  await signIn(page);
  await page.context().storageState({ path: STATE });
});

test.describe("a blocked ping becomes allowed", () => {
  test.use({ storageState: STATE });

  const kernel = requireKernel("sg ping e2e (a real agent enforces the group)");
  const NODE_NS = `${nsPrefix("q")}n1`;
  const agent = new E2eAgent(NODE_NS);

  test.afterAll(async () => {
    await agent.stop(!!kernel);
  });

  test("by an ICMP rule added in the editor, with the NICs rolling out and the rule counting", async ({
    page,
  }) => {
    test.skip(!kernel, `needs root and network namespaces: ${kernelUnavailable()}`);
    test.setTimeout(150_000);

    // A VNET, a node with a running agent, two instances on it.
    await page.goto("/vnets");
    await page.getByRole("button", { name: "New VNET" }).first().click();
    const d = page.getByRole("dialog", { name: "New VNET" });
    for (const [label, value] of Object.entries({
      Name: VNET,
      "Subnet (CIDR)": "10.21.0.0/24",
      Gateway: "10.21.0.1",
      "First IP": "10.21.0.10",
      Size: "20",
    }))
      await d.getByLabel(label, { exact: true }).fill(value);
    await d.getByRole("button", { name: "Create VNET" }).click();
    await expect(d).toBeHidden();
    agent.start(await enroll(page, "ping-node"));
    const nodeRow = page.getByRole("table", { name: "Nodes" }).getByRole("row", { name: /ping-node/ });
    await expect(nodeRow.getByTestId("node-state"), agent.log).toHaveText("connected", { timeout: 20_000 });
    await newInstance(page, "ping-a", "ping-node", VNET);
    await newInstance(page, "ping-b", "ping-node", VNET);

    // The group, built in the editor: SSH in, everything out — no ICMP.
    await page.goto("/security-groups/new");
    await page.getByLabel("Name", { exact: true }).fill(GROUP);
    await page.getByLabel("Description").fill("SSH in, all out; ICMP added later");
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Ports of rule 1").fill("22");
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Direction of rule 2").selectOption("OUTBOUND");
    await page.getByLabel("Protocol of rule 2").selectOption("ALL");
    await page.getByRole("button", { name: "Create group" }).click();
    await expect(page.getByText(`Security group ${GROUP} created`)).toBeVisible();

    // Attached to the VNET; the default group (allow all) is detached with the one-click fix.
    await pick(page.getByLabel("VNET to attach to"), VNET);
    await page.getByRole("button", { name: "Attach", exact: true }).click();
    const warning = page
      .getByRole("alert")
      .filter({ hasText: `Default security group is attached to VNET ${VNET}` });
    await warning.getByRole("button", { name: "Detach default group" }).click();
    await expect(warning).toBeHidden();
    await nicsAre(page, "up to date", () => agent.log);

    const [a, b] = guests(NODE_NS);
    expect(a && b, `two guest namespaces of ${NODE_NS}`).toBeTruthy();
    // Blocked: no rule lets an echo request in (three single pings, none answered).
    expect([0, 1, 2].some(() => pings(a!.ns, b!.ip))).toBe(false);
    await expect(
      page.getByRole("row", { name: "rule 1", exact: true }).getByTestId("rule-counter"),
    ).toHaveText(/\/ /);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: "test-results/screens/sg-ping-blocked.png" });

    // Add the ICMP rule; the node is busy (agent paused) so the rollout is seen as it happens.
    await page.getByRole("button", { name: "+ Add rule" }).click();
    await page.getByLabel("Protocol of rule 3").selectOption("ICMP");
    await expect(
      page.getByRole("row", { name: "rule 3", exact: true }).getByTestId("rule-counter"),
    ).toHaveText("— / —");
    agent.pause();
    try {
      await page.getByRole("button", { name: "Save" }).click();
      await expect(page.getByText(new RegExp(`Security group ${GROUP} saved \\(3 rules\\)`))).toBeVisible();
      await nicsAre(page, "outdated", () => agent.log);
      await shot(page, "sg-ping-outdated");
    } finally {
      agent.resume();
    }
    await nicsAre(page, "up to date", () => agent.log);

    // Allowed now: the same ping passes, and the ICMP rule's counter shows the hits, live.
    expect(pingPasses(a!.ns, b!.ip)).toBe(true);
    const counter = page.getByRole("row", { name: "rule 3", exact: true }).getByTestId("rule-counter");
    await expect(counter).toHaveText(/^[1-9][\d.]*k? \/ \d[\d.]* [KMG]?B$/, { timeout: 20_000 });
    await expect(counter).toHaveAttribute("title", /accepted by this rule since it was created/);
    await page.getByRole("table", { name: "Rules" }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: "test-results/screens/sg-ping-allowed-counter.png" });
    await shot(page, "sg-ping-allowed");
  });
});
