// The same page shape everywhere, at 1280×800: every list page's main action sits top right, every
// column of its tables has a visible header, and the names in the first column stay on one line.
// Runs after portal.spec.ts, so the lists have rows (a VNET, an instance, a node, users).
import { expect, test } from "@playwright/test";
import { shot, signIn } from "./helpers";

const LIST_PAGES: { path: string; heading: string; action: string }[] = [
  { path: "/vnets", heading: "Virtual networks", action: "New VNET" },
  { path: "/instances", heading: "Instances", action: "New instance" },
  { path: "/templates", heading: "Templates", action: "New template" },
  { path: "/security-groups", heading: "Security groups", action: "New security group" },
  { path: "/nodes", heading: "Nodes", action: "Enroll node" },
  { path: "/users", heading: "Users", action: "New user" },
  { path: "/groups", heading: "Groups", action: "New group" },
];

test("every list page has its main action top right, a header on every column, and names on one line", async ({
  page,
}) => {
  await signIn(page);
  const viewport = page.viewportSize()!;
  for (const p of LIST_PAGES) {
    await page.goto(p.path);
    await expect(page.getByRole("heading", { name: p.heading, exact: true, level: 1 })).toBeVisible();
    const action = page.getByRole("main").getByRole("button", { name: p.action }).first();
    await expect(action).toBeVisible();
    const box = (await action.boundingBox())!;
    // Top right: its right edge within the content's right padding, above the page's first table.
    expect(viewport.width - (box.x + box.width), `${p.path}: "${p.action}" is not at the right`).toBeLessThan(
      64,
    );
    expect(box.y, `${p.path}: "${p.action}" is not at the top`).toBeLessThan(160);

    const tables = page.getByRole("main").getByRole("table");
    await expect(tables.first().getByRole("row").nth(1)).toBeVisible();
    for (const table of await tables.all()) {
      const headers = await table.getByRole("columnheader").evaluateAll((ths) =>
        ths.map((th) => ({
          text: (th as HTMLElement).innerText.trim(),
          hidden: (th as HTMLElement).querySelector(".sr-only") !== null,
        })),
      );
      for (const h of headers) {
        expect(h.text, `${p.path}: a column without a header`).not.toBe("");
        expect(h.hidden, `${p.path}: a header only screen readers see`).toBe(false);
      }
      // A name that wraps shows as more than one box of its inline element.
      const wrapped = await table.locator("tbody tr td:first-child").evaluateAll((tds) =>
        tds
          .map((td) => td.querySelector("a, span, strong, code") ?? td)
          .filter((el) => el.getClientRects().length > 1)
          .map((el) => (el as HTMLElement).innerText),
      );
      expect(wrapped, `${p.path}: names broken over two lines`).toEqual([]);
    }
    await shot(page, `consistency-${p.path.slice(1)}`);
  }
});
