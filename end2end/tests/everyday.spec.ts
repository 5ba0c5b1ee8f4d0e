import { Locator, Page, expect, test } from "@playwright/test";
import {
  ALEX,
  EMILY,
  JOHN,
  commentAs,
  createIssueAsJohn,
  defineLabelAsJohn,
  defineLabelOnPage,
  hydrated,
  openIssue,
  signIn,
  unique,
} from "./helpers";

// Everyday work on the tracker, one scenario a test: triage and bulk actions, mentions and
// edited comments, Markdown that stays inert, the timeline, restoring a deleted issue, My work,
// and templates. Every test makes its own issues and labels (unique names): the app and its
// database are shared by every spec.

/** Sets an issue's priority and puts `label` on it through the issue page's triage form. */
async function triage(page: Page, id: number, priority: string, label: string) {
  await openIssue(page, id);
  await page.locator("#priority").selectOption(priority);
  await page.locator("#triage-form .label-pick", { hasText: label }).locator("input").check();
  await page.locator("#triage-submit").click();
  await expect(page.locator("#issue-triage .label-chip")).toHaveText([label]);
}

/** A row of the board. */
function row(page: Page, id: number) {
  return page.locator(`#issue-list li.issue[data-issue-id="${id}"]`);
}

test("John labels and prioritises three issues, bulk-closes two, filters by the label, and the link shows the same view elsewhere", async ({
  page,
  browser,
  request,
}) => {
  const issues = [];
  for (const title of ["Badge reader beeps", "Chair wobbles", "Coffee machine leaks"]) {
    issues.push(await createIssueAsJohn(request, unique(title)));
  }
  await signIn(page, JOHN);
  const label = await defineLabelOnPage(page, "bug");
  const priorities = ["high", "urgent", "low"];
  for (const [index, issue] of issues.entries()) {
    await triage(page, issue.id, priorities[index], label);
  }

  // The open board: each row with its priority badge and label chip; two picked, closed at once.
  await page.goto("/issues");
  await hydrated(page);
  for (const [index, issue] of issues.entries()) {
    await expect(row(page, issue.id).locator(`.badge.priority-${priorities[index]}`)).toBeVisible();
    await expect(row(page, issue.id).locator(".label-chip")).toHaveText([label]);
  }
  await row(page, issues[0].id).locator("input.bulk-pick").check();
  await row(page, issues[1].id).locator("input.bulk-pick").check();
  await expect(page.locator("#bulk-count")).toHaveText("2 selected");
  await page.locator("#bulk-action").selectOption("close");
  await page.locator("#bulk-apply").click();
  await expect(page.locator("#bulk-confirm")).toContainText("Close 2 issues?");
  await page.locator("#bulk-confirm-yes").click();
  await expect(page.locator("#bulk-result")).toHaveText("2 closed.");
  await expect(page.locator("#bulk-confirm")).toHaveCount(0);
  // Gone from the open board; the third is still there.
  await expect(row(page, issues[0].id)).toHaveCount(0);
  await expect(row(page, issues[1].id)).toHaveCount(0);
  await expect(row(page, issues[2].id)).toBeVisible();

  // Filtered by the label, every status: exactly the three, newest first, two of them closed.
  await page.goto("/issues?status=all");
  await hydrated(page);
  await page.locator("#filter-label").selectOption(label);
  await page.locator("#filter-submit").click();
  await expect(page).toHaveURL(/[?&]label=/);
  await expect(page).toHaveURL(/[?&]status=all/);
  await hydrated(page);
  const titles = [issues[2].title, issues[1].title, issues[0].title];
  await expect(page.locator("#issue-list .issue-title a")).toHaveText(titles);
  await expect(row(page, issues[0].id).locator(".badge.closed")).toBeVisible();
  await expect(row(page, issues[1].id).locator(".badge.closed")).toBeVisible();
  await expect(row(page, issues[2].id).locator(".badge.open")).toBeVisible();
  const ids = await page.locator("#issue-list li.issue").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-issue-id")));

  // The address is the view: Emily, in another browser, opens it and sees exactly the same.
  const shared = page.url();
  const other = await browser.newContext();
  try {
    const emily = await other.newPage();
    await signIn(emily, EMILY);
    await emily.goto(shared);
    await hydrated(emily);
    await expect(emily.locator("#issue-list .issue-title a")).toHaveText(titles);
    const seen = await emily.locator("#issue-list li.issue").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-issue-id")));
    expect(seen).toEqual(ids);
    await expect(emily.locator("#filter-label")).toHaveValues([label]);
  } finally {
    await other.close();
  }
});

test("Emily mentions John from the suggestions, edits her comment, and cannot label", async ({ page, browser, request }) => {
  // John has signed in (the suggestions offer only people who have).
  const johnContext = await browser.newContext();
  await signIn(await johnContext.newPage(), JOHN);
  await johnContext.close();
  const issue = await createIssueAsJohn(request, unique("Badge reader dead"));

  await signIn(page, EMILY);
  await openIssue(page, issue.id);
  const marker = unique("door");
  const box = page.locator("#comment-body");
  await box.click();
  await box.pressSequentially("Hi @Jo");
  const suggestions = page.locator("#mention-list");
  await expect(suggestions).toBeVisible();
  const options = suggestions.locator("[role=option]");
  await expect(options.filter({ hasText: JOHN.name })).toBeVisible();
  // Taken as the script offers it: ArrowDown to John (the first, unless others match), Enter.
  const at = (await options.allTextContents()).indexOf(JOHN.name);
  expect(at).toBeGreaterThanOrEqual(0);
  for (let i = 0; i < at; i++) await box.press("ArrowDown");
  await expect(options.nth(at)).toHaveAttribute("aria-selected", "true");
  await expect(box).toHaveAttribute("aria-activedescendant", (await options.nth(at).getAttribute("id")) ?? "");
  await box.press("Enter");
  await expect(suggestions).toHaveCount(0);
  await expect(box).toHaveValue(`Hi @${JOHN.name} `);
  await box.pressSequentially(`please check the reader (${marker})`);
  const first = `Hi @${JOHN.name} please check the reader (${marker})`;
  await expect(box).toHaveValue(first);
  await page.locator("#comment-submit").click();

  const posted = page.locator("#comments li.comment", { hasText: marker });
  await expect(posted).toHaveCount(1);
  await expect(posted.locator(".comment-body a.mention")).toHaveText(`@${JOHN.name}`);
  const id = await posted.getAttribute("data-comment-id");
  expect(id).toMatch(/^\d+$/);
  const comment = page.locator(`#comment-${id}`);
  await expect(comment.locator("details.comment-edited")).toHaveCount(0);

  // She edits it: it then says it was edited, and keeps the earlier text.
  await comment.locator("details.comment-edit > summary").click();
  const second = `Hi @${JOHN.name} please check the reader and the side door (${marker})`;
  await comment.locator(`#comment-edit-${id}`).fill(second);
  await comment.locator("form.comment-edit-form").getByRole("button", { name: "Save" }).click();
  await expect(comment.locator(".comment-body")).toContainText("and the side door");
  await expect(comment.locator(".comment-body a.mention")).toHaveText(`@${JOHN.name}`);
  const edited = comment.locator("details.comment-edited");
  await expect(edited.locator("summary")).toContainText("edited");
  await edited.locator("summary").click();
  await expect(edited.locator("pre.revision")).toHaveText([first]);

  // In the timeline (as of the page's load).
  await openIssue(page, issue.id);
  await expect(page.locator(`#history li.history-event[data-kind="comment_edited"] .history-text`)).toHaveText([
    `${EMILY.name} edited comment ${id}`,
  ]);

  // She may not label: no triage control here, and the labels page says why.
  await expect(page.locator("#triage-form")).toHaveCount(0);
  await page.goto("/labels");
  await hydrated(page);
  await expect(page.locator("#label-form")).toHaveCount(0);
  await expect(page.locator("#why-no-labels")).toContainText("You can't define labels");
});

/** Markdown with a script, a javascript: link (Markdown and HTML), an event attribute. */
const HOSTILE_MARKDOWN = [
  "# Steps to reproduce",
  "",
  "1. Badge the reader",
  "2. Wait for the beep",
  "",
  "| Door | Beeps |",
  "| --- | --- |",
  "| Main | 3 |",
  "",
  "- [x] Reader rebooted",
  "- [ ] Firmware updated",
  "",
  '<script>window.__xss = "script"; alert("script ran")</script>',
  "",
  "[a javascript link](javascript:alert('link'))",
  "",
  `<a href="javascript:alert('raw')">a raw javascript link</a>`,
  "",
  `<img src="x" alt="x" onerror="window.__xss = 'img'; alert('img')">`,
].join("\n");

/** The Markdown above rendered as HTML, with nothing that could run. */
async function expectRenderedInert(root: Locator) {
  await expect(root.locator("h1")).toHaveText("Steps to reproduce");
  await expect(root.locator("ol > li")).toHaveText(["Badge the reader", "Wait for the beep"]);
  await expect(root.locator("table th")).toHaveText(["Door", "Beeps"]);
  await expect(root.locator("table td")).toHaveText(["Main", "3"]);
  await expect(root.locator("ul > li")).toHaveText(["☑ Reader rebooted", "☐ Firmware updated"]);
  await expect(root.getByText("a javascript link", { exact: true })).toBeVisible();
  await expect(root.locator("script")).toHaveCount(0);
  await expect(root.locator('a[href^="javascript:"]')).toHaveCount(0);
  await expect(root.locator("[onerror], [onclick]")).toHaveCount(0);
}

/** An element's HTML with runs of white space as one space (a saved text may end lines in CRLF). */
async function html(root: Locator) {
  return (await root.innerHTML()).replace(/\s+/g, " ").trim();
}

test("A Markdown description with a script and javascript: links renders inert, and Preview shows the same before saving", async ({
  page,
  request,
}) => {
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const issue = await createIssueAsJohn(request, unique("Reader firmware"), HOSTILE_MARKDOWN);
  await signIn(page, JOHN);
  await openIssue(page, issue.id);
  const description = page.locator("#issue-description");
  await expectRenderedInert(description);
  await expect(page.locator('a[href^="javascript:"]')).toHaveCount(0);

  // Preview, before any change: the same rendering as the page's.
  await page.locator("#edit-start").click();
  const preview = page.locator("#edit-preview-html");
  await page.locator("#edit-preview").click();
  await expect(page.locator("#edit-preview")).toHaveAttribute("aria-pressed", "true");
  await expectRenderedInert(preview);
  expect(await html(preview)).toBe(await html(description));

  // A change shows in the preview before it is saved, and the page then shows what was previewed.
  await page.locator("#edit-preview").click();
  await expect(preview).toHaveCount(0);
  await page.locator("#edit-description").fill(`${HOSTILE_MARKDOWN}\n\n## Added before saving`);
  await page.locator("#edit-preview").click();
  await expect(preview.locator("h2")).toHaveText("Added before saving");
  await expectRenderedInert(preview);
  await expect(description.locator("h2")).toHaveCount(0);
  const previewed = await html(preview);
  await page.locator("#edit-save").click();
  await expect(description.locator("h2")).toHaveText("Added before saving");
  await expectRenderedInert(description);
  expect(await html(description)).toBe(previewed);

  // Loaded afresh from the server: still inert.
  await openIssue(page, issue.id);
  await expectRenderedInert(page.locator("#issue-description"));
  await expect(page.locator('a[href^="javascript:"]')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);
});

test("The timeline shows every change with its old and new values", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Heating off"), "Second floor");
  await signIn(page, JOHN);
  const label = await defineLabelOnPage(page, "heating");
  await openIssue(page, issue.id);

  // The title (and description).
  const renamed = `${issue.title} (east wing)`;
  await page.locator("#edit-start").click();
  await page.locator("#edit-title").fill(renamed);
  await page.locator("#edit-description").fill("Second floor, east wing");
  await page.locator("#edit-save").click();
  await expect(page.locator("#issue-title")).toContainText(renamed);

  // Priority, due date and a label; then another priority, the label taken off.
  await page.locator("#priority").selectOption("high");
  await page.locator("#due").fill("2027-03-15");
  await page.locator("#triage-form .label-pick", { hasText: label }).locator("input").check();
  await page.locator("#triage-submit").click();
  await expect(page.locator("#issue-triage .label-chip")).toHaveText([label]);
  await expect(page.locator("#issue-triage")).toContainText("due 2027-03-15");
  await page.locator("#priority").selectOption("low");
  await page.locator("#triage-form .label-pick", { hasText: label }).locator("input").uncheck();
  await page.locator("#triage-submit").click();
  await expect(page.locator("#issue-triage .label-chip")).toHaveCount(0);
  await expect(page.locator("#issue-triage")).toContainText("Low");

  // Assigned, then unassigned.
  await page.locator("#assignee").selectOption({ label: JOHN.name });
  await page.locator("#assign-submit").click();
  await expect(page.locator("#issue-assignee")).toHaveText(JOHN.name);
  await page.locator("#assignee").selectOption("");
  await page.locator("#assign-submit").click();
  await expect(page.locator("#issue-assignee")).toHaveText("no one");

  // Closed, then reopened.
  await page.locator("#status-submit").click();
  await expect(page.locator("#issue-status")).toHaveText("closed");
  await page.locator("#status-submit").click();
  await expect(page.locator("#issue-status")).toHaveText("open");

  // The timeline is rendered with the page: reload.
  await openIssue(page, issue.id);
  const said = (kind: string) => page.locator(`#history li.history-event[data-kind="${kind}"] .history-text`);
  const by = JOHN.name;
  await expect(said("created")).toHaveText([`${by} opened the issue`]);
  await expect(said("title")).toHaveText([`${by} renamed it from “${issue.title}” to “${renamed}”`]);
  await expect(said("description")).toHaveText([`${by} edited the description`]);
  const change = page.locator('#history li.history-event[data-kind="description"] details.history-detail');
  await change.locator("summary").click();
  await expect(change.locator("p.issue-description")).toHaveText(["Second floor", "Second floor, east wing"]);
  await expect(said("priority")).toHaveText([
    `${by} changed the priority from none to high`,
    `${by} changed the priority from high to low`,
  ]);
  await expect(said("due")).toHaveText([`${by} changed the due date from none to 2027-03-15`]);
  await expect(said("label_added")).toHaveText([`${by} added the label ${label}`]);
  await expect(said("label_removed")).toHaveText([`${by} removed the label ${label}`]);
  await expect(said("assignee")).toHaveText([`${by} assigned it to ${by}`, `${by} unassigned ${by}`]);
  await expect(said("status")).toHaveText([`${by} closed it`, `${by} reopened it`]);
  // Oldest first: opened first, reopened last.
  const kinds = page.locator("#history li.history-event");
  await expect(kinds.first()).toHaveAttribute("data-kind", "created");
  await expect(kinds.last()).toHaveAttribute("data-kind", "status");
  await expect(kinds.last().locator(".history-text")).toHaveText(`${by} reopened it`);
});

test("Alex deletes an issue John created and restores it from the Deleted view; John may not see it", async ({
  page,
  browser,
  request,
}) => {
  const issue = await createIssueAsJohn(request, unique("Locker jammed"));
  await signIn(page, ALEX);
  await openIssue(page, issue.id);
  await page.locator("#delete-start").click();
  await page.locator("#delete-confirm").click();
  await page.waitForURL(/\/issues$/);
  await hydrated(page);
  await expect(page.locator("#issue-list, #no-issues").first()).toBeVisible();
  await expect(row(page, issue.id)).toHaveCount(0);

  await page.locator("#deleted-link").click();
  await page.waitForURL(/\/issues\/deleted$/);
  await hydrated(page);
  const deleted = page.locator(`#deleted-list li[data-issue-id="${issue.id}"]`);
  await expect(deleted).toContainText(issue.title);
  await expect(deleted.locator(".deleted-by")).toHaveText(ALEX.name);
  await deleted.locator("button.restore").click();
  await expect(deleted).toHaveCount(0);

  await page.goto("/issues");
  await hydrated(page);
  await expect(row(page, issue.id).locator(".issue-title a")).toHaveText(issue.title);
  await openIssue(page, issue.id);
  await expect(page.locator("#history li.history-event .history-text")).toHaveText([
    `${JOHN.name} opened the issue`,
    `${ALEX.name} deleted it`,
    `${ALEX.name} restored it`,
  ]);

  // John (no delete scope): no link to the view, and 403 there.
  const johnContext = await browser.newContext();
  try {
    const john = await johnContext.newPage();
    await signIn(john, JOHN);
    await expect(john.locator("#deleted-link")).toHaveCount(0);
    const response = await john.goto("/issues/deleted");
    expect(response?.status()).toBe(403);
    await expect(john.locator("#no-permission")).toContainText("You can't delete issues");
    await expect(john.locator("#deleted-list")).toHaveCount(0);
  } finally {
    await johnContext.close();
  }
});

test("My work: John's home lists an issue assigned to him and one mentioning him, with counts", async ({ page, request }) => {
  await signIn(page, JOHN);
  const count = async (section: string) => Number(await page.locator(`#${section}`).getAttribute("data-count"));
  const before = {
    assigned: await count("work-assigned"),
    created: await count("work-created"),
    mentioned: await count("work-mentioned"),
  };

  const assigned = await createIssueAsJohn(request, unique("Order chairs"));
  await openIssue(page, assigned.id);
  await page.locator("#assign-me").click();
  await expect(page.locator("#issue-assignee")).toHaveText(JOHN.name);
  const mentioning = await createIssueAsJohn(request, unique("Projector flickers"));
  await commentAs(request, EMILY, mentioning.id, `@${JOHN.name} could you order a new bulb?`);

  await page.goto("/");
  await hydrated(page);
  await expect(page.locator("#my-work-heading")).toHaveText("My work");
  const expectCount = async (section: string, value: number) => {
    await expect(page.locator(`#${section}`)).toHaveAttribute("data-count", String(value));
    await expect(page.locator(`#${section}-count`)).toHaveText(value.toLocaleString("en-US"));
  };
  await expectCount("work-assigned", before.assigned + 1);
  await expectCount("work-created", before.created + 2);
  await expectCount("work-mentioned", before.mentioned + 1);
  await expect(page.locator(`#work-assigned a[href="/issues/${assigned.id}"]`)).toHaveText(assigned.title);
  await expect(page.locator(`#work-mentioned a[href="/issues/${mentioning.id}"]`)).toHaveText(mentioning.title);
  await expect(page.locator(`#work-assigned a[href="/issues/${mentioning.id}"]`)).toHaveCount(0);
  await expect(page.locator(`#work-mentioned a[href="/issues/${assigned.id}"]`)).toHaveCount(0);
  await expect(page.locator(`#work-created a[href="/issues/${mentioning.id}"]`)).toBeVisible();

  // The board one click away; what he may do folded away below.
  await expect(page.locator("#to-board")).toHaveAttribute("href", "/issues");
  const access = page.locator("details#your-access");
  await expect(access).not.toHaveAttribute("open");
  await expect(page.locator("#perm-create_issue")).toBeHidden();
  await access.locator("summary").click();
  await expect(page.locator("#perm-create_issue")).toBeVisible();
});

test("John starts an issue from the Bug report template: the prefix, the body and its label", async ({ page, request }) => {
  // The template's label; defined once, kept for later runs.
  await defineLabelAsJohn(request, "bug", true);
  await signIn(page, JOHN);
  await page.goto("/issues/new");
  await hydrated(page);
  const template = page.locator('#templates a[data-template="Bug report"]');
  await expect(template).toHaveText("Bug report");
  await template.click();
  await expect(page).toHaveURL(/\/issues\/new\?template=Bug(%20|\+)report$/);
  await hydrated(page);
  await expect(page.locator('#templates a[data-template="Bug report"]')).toHaveAttribute("aria-current", "true");
  const title = page.locator("#issue-title");
  const description = page.locator("#issue-description");
  await expect(title).toHaveValue("[Bug] ");
  await expect(description).toHaveValue("## Steps to reproduce\n\n1. ");

  const word = `zq${Date.now().toString(36)}`;
  await title.press("End");
  await title.pressSequentially(`Turnstile ${word} stuck`);
  await expect(title).toHaveValue(`[Bug] Turnstile ${word} stuck`);
  await description.press("Control+End");
  await description.pressSequentially("Badge at the main door");
  await page.locator("#create-issue-submit").click();
  await expect(page.locator("#create-status")).toContainText(`Created “[Bug] Turnstile ${word} stuck”`);

  // Created with the template's body and label.
  await page.goto(`/issues?status=all&label=bug&q=${word}`);
  await hydrated(page);
  const created = page.locator("#issue-list li.issue");
  await expect(created).toHaveCount(1);
  await expect(created.locator(".issue-title a")).toHaveText(`[Bug] Turnstile ${word} stuck`);
  await expect(created.locator(".label-chip")).toHaveText(["bug"]);
  await created.locator(".issue-title a").click();
  await page.waitForURL(/\/issues\/\d+$/);
  await hydrated(page);
  await expect(page.locator("#issue-description h2")).toHaveText("Steps to reproduce");
  await expect(page.locator("#issue-description ol > li")).toHaveText(["Badge at the main door"]);
});
