import { expect, test } from "@playwright/test";
import { EMILY, createIssueAsJohn, hydrated, signIn, unique } from "./helpers";

test("Emily (Employee) sees issues but can never create one", async ({ page, request }) => {
  const johns = unique("Johns issue");
  await createIssueAsJohn(request, johns);

  await signIn(page, EMILY);
  await expect(page.locator("#perm-view_issues")).toHaveText("✓ You can view issues");
  await expect(page.locator("#perm-create_issue")).toHaveText(
    "✗ You can't create issues: your access lacks the scope issues:create, granted by the Manager role.",
  );

  await page.goto("/issues");
  await hydrated(page);
  await expect(page.locator("#issue-list")).toContainText(johns);
  await expect(page.locator("#create-issue")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Create issue" })).toHaveCount(0);
  await expect(page.locator("#new-issue-link")).toHaveCount(0);
  // The board's "What can I do here?" panel, collapsed until opened.
  await expect(page.locator("#why-not-create_issue")).toBeHidden();
  await page.locator("#what-can-i-do summary").click();
  await expect(page.locator("#why-not-create_issue")).toHaveText(
    "You can't create issues: your access lacks the scope issues:create, granted by the Manager role.",
  );

  await page.goto("/issues/new");
  await expect(page.locator("#no-permission")).toHaveText(
    "You can't create issues: your access lacks the scope issues:create, granted by the Manager role.",
  );
  await expect(page.locator("#create-issue")).toHaveCount(0);

  // A forged call from her page, with her cookies, is refused by the server.
  const forged = unique("Forged by Emily");
  const status = await page.evaluate(async (title) => {
    const response = await fetch("/api/create_issue", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ title, description: "" }).toString(),
    });
    return response.status;
  }, forged);
  expect(status).toBe(403);

  await page.goto("/issues");
  await expect(page.locator("#issue-list")).toContainText(johns);
  await expect(page.locator("#issue-list")).not.toContainText(forged);
});
