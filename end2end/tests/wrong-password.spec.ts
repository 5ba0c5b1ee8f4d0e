import { expect, test } from "@playwright/test";
import { JOHN } from "./helpers";

test("a wrong password shows the IdP's error and creates no app session", async ({ page }) => {
  await page.goto("/");
  await page.locator("#sign-in").click();
  await page.waitForURL(/\/t\/dev\/oauth2\/authorize/);
  await page.getByLabel("Username").fill(JOHN.username);
  await page.getByLabel("Password").fill("not-his-password");
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.locator("#login-error")).toHaveText("Wrong username or password. Please try again.");
  expect(page.url()).toContain("127.0.0.1:9444");

  await page.goto("/");
  await expect(page.locator("#sign-in")).toBeVisible();
  await expect(page.locator("#user-name")).toHaveCount(0);
  const status = await page.evaluate(async () => {
    const response = await fetch("/api/list_issues", { method: "POST", headers: { accept: "application/json" } });
    return response.status;
  });
  expect(status).toBe(401);
});
