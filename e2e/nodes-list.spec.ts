// The Nodes page at fleet size: the server pages, filters and sorts (node.list), the page shows
// one page of 50 with the range and Previous/Next, a filter box and a state filter, sortable
// headers a keyboard can work, and an empty state when nothing matches.
import { expect, type Page, test } from "@playwright/test";
import { shot, signIn } from "./helpers";

const PREFIX = `pg${process.pid}`;
const NAMES = Array.from({ length: 55 }, (_, i) => `${PREFIX}-${String(i).padStart(2, "0")}`);

/** A tRPC mutation as the signed-in admin (the page's own cookie). */
async function mutate(page: Page, proc: string, input: unknown) {
  const res = await page.request.post(`/api/trpc/${proc}`, { data: { json: input } });
  expect(res.ok(), `${proc}: ${await res.text()}`).toBe(true);
  return ((await res.json()) as { result: { data: { json: { id: number } } } }).result.data.json;
}

const rows = (page: Page) => page.getByRole("table", { name: "Nodes" }).locator("tbody tr[data-node]");

test("the Nodes page pages, filters and sorts a fleet on the server", async ({ page }) => {
  await signIn(page);
  const ids: number[] = [];
  for (const name of NAMES) ids.push((await mutate(page, "node.create", { name })).id);
  try {
    await page.goto("/nodes");
    const filter = page.getByRole("searchbox", { name: "Filter nodes" });
    await filter.fill(PREFIX);
    await expect(page.getByTestId("node-range")).toHaveText("1–50 of 55 nodes · page 1 of 2");
    await expect(rows(page)).toHaveCount(50);
    await expect(rows(page).first()).toHaveAttribute("data-node", NAMES[0]!);
    await expect(page.getByTestId("node-count")).toHaveText(/^55 of \d+ nodes$/);
    await shot(page, "nodes-paged");
    // What an admin sees without scrolling, at 1280×800.
    await page.screenshot({ path: "test-results/screens/nodes-paged-top.png" });

    const pages = page.getByRole("navigation", { name: "Node pages" });
    await pages.getByRole("button", { name: "Next" }).click();
    await expect(page.getByTestId("node-range")).toHaveText("51–55 of 55 nodes · page 2 of 2");
    await expect(rows(page)).toHaveCount(5);
    await expect(pages.getByRole("button", { name: "Next" })).toBeDisabled();

    // The Name header is a button: from the keyboard, Enter flips the order (and back to page 1).
    const nameHeader = page.getByRole("columnheader", { name: /Name/ });
    await expect(nameHeader).toHaveAttribute("aria-sort", "ascending");
    await nameHeader.getByRole("button").focus();
    await page.keyboard.press("Enter");
    await expect(nameHeader).toHaveAttribute("aria-sort", "descending");
    await expect(page.getByTestId("node-range")).toHaveText("1–50 of 55 nodes · page 1 of 2");
    await expect(rows(page).first()).toHaveAttribute("data-node", NAMES.at(-1)!);

    // A state with none of them: the empty state says so and clears the filter.
    await page.getByRole("combobox", { name: "Node state" }).selectOption("connected");
    await expect(page.getByRole("heading", { name: "No nodes match" })).toBeVisible();
    await shot(page, "nodes-no-match");
    await page.getByRole("button", { name: "Clear filter" }).first().click();
    await expect(filter).toHaveValue("");
    await expect(page.getByRole("combobox", { name: "Node state" })).toHaveValue("all");

    // A name typed in full finds that one node; the Overview links here the same way.
    await page.goto(`/nodes?q=${NAMES[42]}`);
    await expect(rows(page)).toHaveCount(1);
    await expect(rows(page).first()).toHaveAttribute("data-node", NAMES[42]!);
    await expect(page.getByRole("searchbox", { name: "Filter nodes" })).toHaveValue(NAMES[42]!);
  } finally {
    // The other specs share this database: leave no nodes behind.
    for (const id of ids) await mutate(page, "node.remove", { id });
  }
});
