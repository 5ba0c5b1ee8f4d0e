import { expect, test } from "@playwright/test";
import { JOHN, createIssueAsJohn, signIn, unique } from "./helpers";

test("signing out returns to the signed-out home and hides issue data", async ({ page, request }) => {
  const title = unique("Visible only when signed in");
  await createIssueAsJohn(request, title);
  await signIn(page, JOHN);
  await page.goto("/issues");
  await expect(page.locator("#issue-list")).toContainText(title);

  await page.locator("#sign-out").click();
  // Through the IdP's end-session endpoint and back to the signed-out home.
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:3000\/(\?.*)?$/);
  await expect(page.locator("#sign-in")).toBeVisible();
  await expect(page.locator("#user-name")).toHaveCount(0);

  // Back to the issues page: nothing from the cache, and the server says sign in.
  await page.goBack();
  await expect(page.locator("body")).not.toContainText(title);

  await page.goto("/");
  for (const fn of ["list_issues", "create_issue"]) {
    const status = await page.evaluate(async (name) => {
      const response = await fetch(`/api/${name}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: "title=x&description=",
      });
      return response.status;
    }, fn);
    expect(status, fn).toBe(401);
  }
});
