import { expect, test } from "@playwright/test";
import { JOHN, hydrated, signIn, unique } from "./helpers";

test("John (Manager) signs in, may create and view, and creates an issue", async ({ page }) => {
  await signIn(page, JOHN);
  await hydrated(page);
  await expect(page.locator("#welcome-name")).toHaveText(JOHN.name);
  await expect(page.locator("#perm-view_issues")).toHaveText("✓ You can view issues");
  await expect(page.locator("#perm-create_issue")).toHaveText("✓ You can create issues");
  await expect(page.locator("#new-issue-link")).toBeVisible();

  await page.getByRole("link", { name: "All issues" }).click();
  await page.waitForURL("**/issues");
  await hydrated(page);
  const form = page.locator("#create-issue");
  await expect(form).toBeVisible();

  // A marker on window survives only if the page is not reloaded.
  await page.evaluate(() => ((window as any).__noReload = true));
  const title = unique("Projector flickers");
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Description").fill("Room 4, since Monday");
  await page.getByRole("button", { name: "Create issue" }).click();

  await expect(page.locator("#issue-list .issue-title a").first()).toHaveText(title);
  await expect(page.locator("#create-status")).toContainText("Created");
  await expect(page.getByLabel("Title")).toHaveValue("");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  await page.reload();
  await expect(page.locator("#issue-list")).toContainText(title);
});
