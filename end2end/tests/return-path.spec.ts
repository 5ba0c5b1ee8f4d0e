import { expect, test } from "@playwright/test";
import { JOHN, signInFrom } from "./helpers";

test("an anonymous visit to the issues page signs in and comes back to it", async ({ page }) => {
  await page.goto("/issues");
  await expect(page.getByText("Sign in to see the issues.")).toBeVisible();
  await signInFrom(page, JOHN);
  await page.waitForURL("http://127.0.0.1:3000/issues");
  await expect(page.locator("#create-issue")).toBeVisible();
  await expect(page.locator("#user-name")).toHaveText(JOHN.name);
});
