// A VXLAN VNET whose nodes measured a smaller underlay between them: the VNET page names the pair
// and the MTU that fits, and an admin applies it after a confirmation. The two nodes speak the agent
// protocol over HTTP (join with the token, then reports with their credential) as a real agent does;
// the measurement itself is proven on the kernel in tests/underlay-mtu.dataplane.test.ts.
// Subnet 10.187 belongs to this spec.
import { expect, type Page, test } from "@playwright/test";
import { dialog, shot, signIn } from "./helpers";

const RUN = Date.now().toString(36).slice(-4);

async function call(page: Page, proc: string, json: unknown, headers: Record<string, string> = {}) {
  const res = await page.request.post(`/api/trpc/${proc}`, { data: { json }, headers });
  expect(res.ok(), await res.text()).toBe(true);
  return (await res.json()).result.data.json;
}

test("a VXLAN VNET warns of an underlay pair smaller than its frames and offers the MTU that fits", async ({
  page,
}) => {
  await signIn(page);
  const name = `vx-mtu-${RUN}`;
  const v = await call(page, "vnet.create", {
    name,
    subnet: "10.187.0.0/24",
    firstIp: "10.187.0.10",
    size: 5,
  });
  await call(page, "vnet.update", {
    id: v.id,
    driver: "vxlan",
    vni: 7000 + Math.floor(Math.random() * 1000),
    mtu: 1500,
  });
  const agents: { id: number; credential: string; vtep: string }[] = [];
  for (const [i, n] of [`mtu-a-${RUN}`, `mtu-b-${RUN}`].entries()) {
    const node = await call(page, "node.create", { name: n });
    const { credential } = await call(page, "agent.join", {
      token: node.joinToken.split(".")[0],
      hostname: n,
      agentVersion: "e2e",
    });
    agents.push({ id: node.id, credential, vtep: `198.18.${187}.${i + 1}` });
    await call(page, "instance.create", { name: `g${i}-${RUN}`, nodeId: node.id, nics: [{ vnetId: v.id }] });
  }
  const report = (a: (typeof agents)[number], peer: string, mtu: number) =>
    call(
      page,
      "agent.report",
      {
        nodeId: a.id,
        revision: 0,
        ok: true,
        operations: 0,
        durationMs: 1,
        networks: [],
        ports: [],
        wireVersion: 6,
        vtep: a.vtep,
        underlayMtu: [{ peer, mtu }],
      },
      { authorization: `Bearer ${a.credential}` },
    );
  await report(agents[0]!, agents[1]!.vtep, 1500);
  await report(agents[1]!, agents[0]!.vtep, 1500);
  await report(agents[0]!, agents[1]!.vtep, 1400);

  await page.goto(`/vnets/${v.id}`);
  const warning = page.getByTestId("underlay-warning");
  await expect(warning).toContainText("(1450 guest MTU + 50 = 1500 bytes)");
  await expect(page.getByTestId("underlay-pairs")).toHaveText(
    `mtu-a-${RUN} → mtu-b-${RUN}: carries 1400 bytes`,
  );
  await expect(warning).toContainText("MTU 1400 fits every measured pair (guests get 1350)");
  await shot(page, "underlay-mtu-warning");

  await warning.getByRole("button", { name: "Use MTU 1400" }).click();
  const confirm = dialog(page, `Set the MTU of ${name} to 1400?`);
  await confirm.getByRole("button", { name: "Use MTU 1400" }).click();
  await expect(page.getByText(`VNET ${name}: MTU 1400, guests 1350`)).toBeVisible();
  await expect(warning).toBeHidden();
  await expect(page.getByText("1400 (guests 1350)")).toBeVisible();
});
