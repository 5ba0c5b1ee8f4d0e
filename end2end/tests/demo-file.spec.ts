import { Page, expect, test } from "@playwright/test";
import { EMILY, JOHN, hydrated, signIn, unique } from "./helpers";

// The original Asgardeo demo's config.json, as its instructions show it (end2end/config.demo.json,
// served by playwright.config.ts's webServer): it names only `create` and `view`. Its Manager
// (John) creates and views; its Employee (Emily) only views. Every write the file does not name
// (comment, edit, close, assign) needs `create`, and delete is off: so John may do all of them
// but delete, and Emily none.
const DEMO = "http://127.0.0.1:3002";
test.use({ baseURL: DEMO });

async function openIssue(page: Page, path: string) {
  await page.goto(`${DEMO}${path}`);
  await hydrated(page);
  await expect(page.locator("#issue-title")).toBeVisible();
}

test("with the demo's file John creates and comments, and Emily only views", async ({ page, browser }) => {
  // Two people, two sign-ins through the IdP.
  test.setTimeout(60_000);
  const title = unique("Projector flickers");
  const comment = unique("The cable is fine");
  let issuePath = "";

  await test.step("John may write: every action but delete", async () => {
    await signIn(page, JOHN, DEMO);
    await hydrated(page);
    await expect(page.locator("#perm-create_issue")).toHaveText("✓ You can create issues");
    // Not named in the file: as `create`, which his role grants.
    await expect(page.locator("#perm-comment")).toHaveText("✓ You can comment on issues");
    await expect(page.locator("#perm-edit_issue")).toHaveText("✓ You can edit issues");
    await expect(page.locator("#perm-close_issue")).toHaveText("✓ You can close or reopen issues");
    await expect(page.locator("#perm-assign_issue")).toHaveText("✓ You can assign issues");
    await expect(page.locator("#perm-delete_issue")).toHaveText(
      "✗ No one may delete issues here: config.json does not allow it.",
    );

    await page.goto(`${DEMO}/issues`);
    await hydrated(page);
    await page.getByLabel("Title").fill(title);
    await page.getByLabel("Description").fill("Room 4, since Monday");
    await page.getByRole("button", { name: "Create issue" }).click();
    await expect(page.locator("#create-status")).toContainText("Created");
    const link = page.locator("#issue-list .issue-title a", { hasText: title });
    await expect(link).toBeVisible();
    issuePath = (await link.getAttribute("href")) ?? "";
    expect(issuePath).toMatch(/^\/issues\/\d+$/);

    await openIssue(page, issuePath);
    // The controls Emily must not get are here for him: the selectors below are the real ones.
    await expect(page.locator("#edit-start")).toBeVisible();
    await expect(page.locator("#status-submit")).toHaveText("Close issue");
    await expect(page.locator("#assign-submit")).toBeVisible();
    await expect(page.locator("#delete-start")).toHaveCount(0);
    await page.getByLabel("Add a comment").fill(comment);
    await page.locator("#comment-submit").click();
    await expect(page.locator("#comments")).toContainText(comment);
    await expect(page.locator("#comments .comment").last()).toContainText(JOHN.name);

    // Both were stored, not only shown.
    await page.reload();
    await expect(page.locator("#issue-title")).toContainText(title);
    await expect(page.locator("#comments")).toContainText(comment);
  });

  const emilyContext = await browser.newContext({ baseURL: DEMO });
  const emily = await emilyContext.newPage();

  await test.step("Emily sees the board and John's issue", async () => {
    await signIn(emily, EMILY, DEMO);
    await expect(emily.locator("#perm-view_issues")).toHaveText("✓ You can view issues");
    // Her role would grant issues:comment, but the demo's file never asks for it.
    await expect(emily.locator(".scopes")).toContainText("issues:view");
    await expect(emily.locator(".scopes")).not.toContainText("issues:comment");

    await emily.goto(`${DEMO}/issues`);
    await hydrated(emily);
    await expect(emily.locator("#issue-list")).toContainText(title);
    await openIssue(emily, issuePath);
    await expect(emily.locator("#issue-title")).toContainText(title);
    await expect(emily.locator("#comments")).toContainText(comment);
  });

  await test.step("Emily has no control that writes, and each says why", async () => {
    // Every write the file does not name needs `create`, never `view`.
    await emily.goto(`${DEMO}/`);
    for (const [id, action] of [
      ["create_issue", "create issues"],
      ["comment", "comment on issues"],
      ["edit_issue", "edit issues"],
      ["close_issue", "close or reopen issues"],
      ["assign_issue", "assign issues"],
    ]) {
      await expect(emily.locator(`#perm-${id}`)).toHaveText(
        `✗ You can't ${action}: your access lacks the scope issues:create.`,
      );
    }
    await expect(emily.locator("#perm-delete_issue")).toHaveText(
      "✗ No one may delete issues here: config.json does not allow it.",
    );
    await expect(emily.locator("#new-issue-link")).toHaveCount(0);

    await emily.goto(`${DEMO}/issues`);
    await hydrated(emily);
    await expect(emily.locator("#create-issue")).toHaveCount(0);
    await expect(emily.getByRole("button", { name: "Create issue" })).toHaveCount(0);
    await expect(emily.locator("#new-issue-link")).toHaveCount(0);
    await expect(emily.locator("#why-not-create_issue")).toContainText("lacks the scope issues:create");

    await openIssue(emily, issuePath);
    for (const control of [
      "#comment-form",
      "#comment-body",
      "#comment-submit",
      "#edit-start",
      "#edit-form",
      "#status-form",
      "#status-submit",
      "#assign-form",
      "#assignee",
      "#assign-submit",
      "#assign-me",
      "#delete-form",
      "#delete-start",
    ]) {
      await expect(emily.locator(control), control).toHaveCount(0);
    }
    await expect(emily.getByLabel("Add a comment")).toHaveCount(0);
    await expect(emily.getByRole("button", { name: "Comment", exact: true })).toHaveCount(0);
    await expect(emily.getByRole("button", { name: "Edit", exact: true })).toHaveCount(0);
    const whyNot = emily.locator("#why-not");
    await expect(whyNot).toContainText("You can't comment on issues: your access lacks the scope issues:create.");
    await expect(whyNot).toContainText("You can't edit issues: your access lacks the scope issues:create.");
    await expect(whyNot).toContainText("You can't close or reopen issues: your access lacks the scope issues:create.");
    await expect(whyNot).toContainText("You can't assign issues: your access lacks the scope issues:create.");
    await expect(whyNot).toContainText("No one may delete issues here: config.json does not allow it.");
  });

  await test.step("a comment Emily forges from her page is refused by the server", async () => {
    const forged = unique("Forged by Emily");
    const id = issuePath.split("/").pop() ?? "";
    const status = await emily.evaluate(
      async ({ id, body }) => {
        const response = await fetch("/api/add_comment", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
          body: new URLSearchParams({ issue: id, body }).toString(),
        });
        return response.status;
      },
      { id, body: forged },
    );
    expect(status).toBe(403);
    await emily.reload();
    await expect(emily.locator("#comments")).toContainText(comment);
    await expect(emily.locator("#comments")).not.toContainText(forged);
  });

  await emilyContext.close();
});
