import { Page, expect, test } from "@playwright/test";
import { EMILY, JOHN, createIssueAsJohn, hydrated, signIn, unique } from "./helpers";

async function openIssue(page: Page, id: number) {
  await page.goto(`/issues/${id}`);
  await hydrated(page);
  await expect(page.locator("#issue-title")).toBeVisible();
}

/** Defines a label on the labels page; answers its name. */
async function defineLabel(page: Page, prefix: string) {
  const name = unique(prefix).replace(/[^a-z0-9-]/gi, "-").slice(0, 40);
  await page.goto("/labels");
  await hydrated(page);
  await page.locator("#label-name").fill(name);
  await page.locator("#label-description").fill("Made by the triage scenario");
  await page.locator("#label-submit").click();
  await expect(page.locator("#label-list")).toContainText(name);
  return name;
}

/** Sets an issue's priority and puts `label` on it through the issue page's triage form. */
async function triage(page: Page, id: number, priority: string, label: string, due?: string) {
  await openIssue(page, id);
  await page.locator("#priority").selectOption(priority);
  if (due) {
    await page.locator("#due").fill(due);
  }
  await page.locator("#triage-form .label-pick", { hasText: label }).locator("input").check();
  await page.locator("#triage-submit").click();
  await expect(page.locator("#issue-triage")).toContainText(label);
}

test("John labels and prioritises three issues, filters by the label, and the link shows the same view elsewhere", async ({
  page,
  browser,
  request,
}) => {
  const issues = [];
  for (const title of ["Badge reader beeps", "Chair wobbles", "Coffee machine leaks"]) {
    issues.push(await createIssueAsJohn(request, unique(title)));
  }
  await signIn(page, JOHN);
  const label = await defineLabel(page, "facilities");
  for (const [index, issue] of issues.entries()) {
    await triage(page, issue.id, ["high", "urgent", "low"][index], label);
  }
  await expect(page.locator("#issue-triage")).toContainText("Low");

  await page.goto("/issues?status=all");
  await hydrated(page);
  await page.locator("#filter-label").selectOption(label);
  await page.locator("#filter-sort").selectOption("priority");
  await page.locator("#filter-submit").click();
  await expect(page).toHaveURL(/label=/);
  await expect(page).toHaveURL(/sort=priority/);
  const list = page.locator("#issue-list .issue-title a");
  await expect(list).toHaveText([issues[1].title, issues[0].title, issues[2].title]);

  // The address is the view: Emily, in another browser, opens the same link and sees the same.
  const shared = page.url();
  const other = await browser.newContext();
  const emily = await other.newPage();
  await signIn(emily, EMILY);
  await emily.goto(shared);
  await expect(emily.locator("#issue-list .issue-title a")).toHaveText([issues[1].title, issues[0].title, issues[2].title]);
  await expect(emily.locator("#filter-sort")).toHaveValue("priority");
  await other.close();
});

test("The history shows each change with its old and new values", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Heating off"));
  await signIn(page, JOHN);
  const label = await defineLabel(page, "heating");
  await triage(page, issue.id, "high", label, "2027-01-31");
  // The history is rendered with the page (it ships no WASM): as of the page's load.
  await openIssue(page, issue.id);
  const history = page.locator("#history");
  await expect(history).toContainText("John Manager opened the issue");
  await expect(history).toContainText("changed the priority from none to high");
  await expect(history).toContainText("changed the due date from none to 2027-01-31");
  await expect(history).toContainText(`added the label ${label}`);

  await page.locator("#status-submit").click();
  await expect(page.locator("#issue-status")).toHaveText("closed");
  await openIssue(page, issue.id);
  await expect(history).toContainText("John Manager closed it");
});

test("Emily cannot label: no triage control, a line saying why, and a forged call gets 403", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Projector flickers"));
  await signIn(page, EMILY);
  await openIssue(page, issue.id);
  await expect(page.locator("#triage-form")).toHaveCount(0);
  await expect(page.locator("#why-not")).toContainText("You can't edit issues");
  await page.goto("/labels");
  await hydrated(page);
  await expect(page.locator("#label-form")).toHaveCount(0);
  await expect(page.locator("#why-no-labels")).toContainText("You can't define labels");

  const status = await page.evaluate(async (id) => {
    const response = await fetch("/api/set_issue_triage", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ id: String(id), version: "1", priority: "urgent", due: "", labels: "" }).toString(),
    });
    return response.status;
  }, issue.id);
  expect(status).toBe(403);
  await openIssue(page, issue.id);
  await expect(page.locator("#issue-triage")).not.toContainText("Urgent");
});
