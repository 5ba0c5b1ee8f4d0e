import { Page, expect, test } from "@playwright/test";
import { EMILY, JOHN, createIssueAsJohn, hydrated, signIn, unique } from "./helpers";

async function openIssue(page: Page, id: number) {
  await page.goto(`/issues/${id}`);
  await hydrated(page);
  await expect(page.locator("#issue-title")).toBeVisible();
}

test("John closes an issue and reopens it: who and when are shown", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Window stuck"));
  await signIn(page, JOHN);
  await openIssue(page, issue.id);
  await expect(page.locator("#issue-status")).toHaveText("open");
  await page.locator("#status-submit").click();
  await expect(page.locator("#issue-status")).toHaveText("closed");
  await expect(page.locator("#issue-closed")).toContainText("Closed by John Manager");
  await expect(page.locator("#status-submit")).toHaveText("Reopen issue");

  // Gone from the open board, on the closed one.
  await page.goto("/issues");
  await expect(page.locator("#issue-list")).not.toContainText(issue.title);
  await page.locator("#tab-closed").click();
  await expect(page.locator("#issue-list")).toContainText(issue.title);

  await openIssue(page, issue.id);
  await page.locator("#status-submit").click();
  await expect(page.locator("#issue-status")).toHaveText("open");
  await expect(page.locator("#issue-closed")).toHaveCount(0);
});

test("Emily comments, has no close control, and a forged close gets 403", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Noisy fan"));
  await signIn(page, EMILY);
  await openIssue(page, issue.id);
  await expect(page.locator("#status-submit")).toHaveCount(0);
  await expect(page.locator("#edit-start")).toHaveCount(0);
  // Which role grants it, in the page's "What can I do here?" panel.
  await page.locator("#what-can-i-do summary").click();
  await expect(page.locator("#why-not-close_issue")).toHaveText(
    "You can't close or reopen issues: your access lacks the scope issues:close, granted by the Manager role.",
  );

  const body = unique("Happens after lunch");
  await page.getByLabel("Add a comment").fill(body);
  await page.locator("#comment-submit").click();
  await expect(page.locator("#comments")).toContainText(body);
  await expect(page.locator("#comments .comment").last()).toContainText("Emily Employee");
  await expect(page.getByLabel("Add a comment")).toHaveValue("");

  const status = await page.evaluate(async (id) => {
    const response = await fetch("/api/set_issue_status", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ id: String(id), version: "1", status: "closed" }).toString(),
    });
    return response.status;
  }, issue.id);
  expect(status).toBe(403);
  await page.reload();
  await expect(page.locator("#issue-status")).toHaveText("open");
});

test("Search finds an issue by a word in one of its comments", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Badge reader"), "Main door");
  const word = `zq${Date.now().toString(36)}`;
  await signIn(page, JOHN);
  await openIssue(page, issue.id);
  await page.getByLabel("Add a comment").fill(`Firmware ${word} is the culprit`);
  await page.locator("#comment-submit").click();
  await expect(page.locator("#comments")).toContainText(word);

  await page.goto("/issues");
  await hydrated(page);
  await page.getByLabel("Search").fill(word);
  await page.locator("#filter-submit").click();
  await expect(page).toHaveURL(new RegExp(`q=${word}`));
  await expect(page.locator("#issue-list .issue")).toHaveCount(1);
  await expect(page.locator("#issue-list")).toContainText(issue.title);
});

test("John assigns an issue to Emily and her 'assigned to me' filter shows it", async ({ browser, request }) => {
  // Emily has signed in here before: she is someone issues can be assigned to.
  const emilyContext = await browser.newContext();
  const emily = await emilyContext.newPage();
  await signIn(emily, EMILY);

  const issue = await createIssueAsJohn(request, unique("Order chairs"));
  const johnContext = await browser.newContext();
  const john = await johnContext.newPage();
  await signIn(john, JOHN);
  await openIssue(john, issue.id);
  await john.locator("#assignee").selectOption({ label: "Emily Employee" });
  await john.locator("#assign-submit").click();
  await expect(john.locator("#issue-assignee")).toHaveText("Emily Employee");

  await emily.goto("/issues");
  await hydrated(emily);
  await emily.locator("#filter-assignee").selectOption("me");
  await emily.locator("#filter-submit").click();
  await expect(emily).toHaveURL(/assignee=me/);
  await expect(emily.locator("#issue-list")).toContainText(issue.title);
  await expect(emily.locator("#issue-list .assignee").first()).toHaveText("Emily Employee");
  await emilyContext.close();
  await johnContext.close();
});

test("Two tabs edit one issue: the second save is refused and shows the current text", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Wifi drops"), "In the east wing");
  await signIn(page, JOHN);
  const first = page;
  const second = await page.context().newPage();
  await openIssue(first, issue.id);
  await openIssue(second, issue.id);
  await first.locator("#edit-start").click();
  await second.locator("#edit-start").click();

  const saved = `${issue.title} (east wing)`;
  await first.locator("#edit-title").fill(saved);
  await first.locator("#edit-save").click();
  await expect(first.locator("#issue-title")).toContainText(saved);

  await second.locator("#edit-title").fill(`${issue.title} (my version)`);
  await second.locator("#edit-save").click();
  await expect(second.locator("#edit-stale")).toContainText("Someone else changed this issue");
  await expect(second.locator("#stale-title")).toHaveText(saved);
  // Nothing the second tab typed is lost, and nothing was overwritten.
  await expect(second.locator("#edit-title")).toHaveValue(`${issue.title} (my version)`);
  await expect(second.locator("#issue-title")).toContainText(saved);
});
