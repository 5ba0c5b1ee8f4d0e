import { Page, expect, test } from "@playwright/test";
import { writeFileSync, readFileSync } from "node:fs";
import {
  ALEX,
  EMILY,
  JOHN,
  commentAs,
  mails,
  createIssueAsJohn,
  expectAccessible,
  hydrated,
  openIssue,
  tokenFor,
  signIn,
  unique,
} from "./helpers";

// What changed reaches the people allowed to see it, without a reload: the board and the
// issue page move as changes arrive (public/live.js over `GET /live`), the bell counts what
// concerns you, and /notifications lists it.

/** Marks the page so that a reload would be seen (the mark would be gone). */
async function markNoReload(page: Page) {
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
}
async function expectNoReload(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
}

/** Waits until the page's stream of changes is open. */
async function live(page: Page) {
  await expect(page.locator('html[data-live="on"]')).toBeAttached();
}

test("Emily's board shows John's new issue within a second, without a reload and without losing what she types", async ({
  page,
  request,
}) => {
  await signIn(page, EMILY);
  await page.goto("/issues");
  await hydrated(page);
  await live(page);
  await markNoReload(page);
  const search = page.locator("#filter-q");
  await search.fill("half-typed");

  const title = unique("Projector flickers");
  const issue = await createIssueAsJohn(request, title);
  await expect(page.locator(`#issue-list li.issue[data-issue-id="${issue.id}"]`)).toContainText(title, {
    timeout: 1_000,
  });
  await expectNoReload(page);
  await expect(search).toHaveValue("half-typed");
  await expect(search).toBeFocused();
});

test("Emily's issue page shows John's comment as it is made and says who, keeping her unsent comment", async ({
  page,
  browser,
  request,
}) => {
  // John has signed in here once, so his program's changes carry his name (else his subject id).
  const johns = await browser.newContext();
  await signIn(await johns.newPage(), JOHN);
  await johns.close();
  const issue = await createIssueAsJohn(request, unique("Window will not close"));
  await signIn(page, EMILY);
  await openIssue(page, issue.id);
  await live(page);
  await markNoReload(page);
  await page.locator("#comment-body").fill("I was about to say");
  await page.locator("#issue-title").click();

  await commentAs(request, JOHN, issue.id, "Maintenance is on the way");
  await expect(page.locator("#comments")).toContainText("Maintenance is on the way");
  await expect(page.locator("#live-status")).toHaveText("John Manager commented just now");
  await expectNoReload(page);
  await expect(page.locator("#comment-body")).toHaveValue("I was about to say");
});

test("John assigns an issue to Emily and her bell shows it; the notification leads to the issue", async ({
  page,
  browser,
  request,
}) => {
  await signIn(page, EMILY);
  await page.goto("/");
  await hydrated(page);
  await live(page);
  const before = Number((await page.locator("#bell-count").textContent()) || "0");

  const title = unique("Badge reader");
  const issue = await createIssueAsJohn(request, title);
  const johns = await browser.newContext();
  const john = await johns.newPage();
  await signIn(john, JOHN);
  await openIssue(john, issue.id);
  await john.locator("#assignee").selectOption({ label: EMILY.name });
  await john.locator("#assign-submit").click();
  await expect(john.locator("#issue-assignee")).toHaveText(EMILY.name);
  await johns.close();

  await expect(page.locator("#bell-count")).toHaveText(String(before + 1));
  await expect(page.locator("#bell")).toHaveAttribute("aria-label", `Notifications, ${before + 1} unread`);
  await page.locator("#bell").click();
  await page.waitForURL("/notifications");
  const entry = page.locator("#inbox li.notification").first();
  await expect(entry).toContainText(`John Manager assigned #${issue.id} “${title}” to you`);
  await expect(entry).toContainText("Assigned to you");
  await expectAccessible(page, "the notifications page");
  await entry.locator("a.notification-text").click();
  await page.waitForURL(`/issues/${issue.id}`);
  await expect(page.locator("#issue-title")).toContainText(title);
});

test("A comment mentioning John reaches his inbox; marking all read empties his bell, and unwatching stops the rest", async ({
  page,
  request,
}) => {
  const title = unique("Heating");
  const issue = await createIssueAsJohn(request, title);
  await commentAs(request, EMILY, issue.id, "@John Manager the radiators are cold");

  await signIn(page, JOHN);
  await page.goto("/notifications");
  const entry = page.locator("#inbox li.notification", { hasText: `#${issue.id} ` }).first();
  await expect(entry).toContainText(`Emily Employee mentioned you in #${issue.id} “${title}”`);
  // And, with a mail server configured (config.e2e.json), his mail.
  const subject = `[Issues] Emily Employee mentioned you in #${issue.id} “${title}”`;
  await expect.poll(() => mails().filter((mail) => mail.subject === subject).length).toBe(1);
  const mail = mails().find((mail) => mail.subject === subject)!;
  expect(mail.to).toContain("john@dev.example");
  expect(mail.text).toContain(`http://127.0.0.1:3000/issues/${issue.id}`);
  await expect(entry).toContainText("You were mentioned");
  await page.locator("#mark-all-read").click();
  // The form's answer sends the browser back (a server function's redirect ends in `?`).
  await page.waitForURL(/\/notifications\??$/);
  await expect(page.locator("#bell-count")).toBeHidden();
  await expect(page.locator("#inbox li.notification.unread")).toHaveCount(0);

  // He wrote it, so he follows it; he stops, and Emily's next comment reaches him no more.
  await openIssue(page, issue.id);
  await expect(page.locator("#follow-submit")).toHaveText("Unwatch");
  await page.locator("#follow-submit").click();
  await expect(page.locator("#follow-submit")).toHaveText("Watch");
  await commentAs(request, EMILY, issue.id, "Still cold");
  // A later mention still reaches him: once it is there, the comment before it was handled.
  await commentAs(request, EMILY, issue.id, "@John Manager please look");
  // (The bell moving by itself is the assignment test's; here the page is read again.)
  await expect(async () => {
    await page.goto("/notifications");
    await expect(page.locator("#inbox li.notification.unread")).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.locator("#inbox li.notification.unread")).toHaveText([
    new RegExp(`Emily Employee mentioned you in #${issue.id} `),
  ]);
  await expect(page.locator("#inbox li.notification", { hasText: `commented on #${issue.id} ` })).toHaveCount(0);
});

test("A watcher whose view scope is taken away (config.json reloaded) is told nothing more", async ({
  page,
  request,
}) => {
  const title = unique("Boiler noise");
  const issue = await createIssueAsJohn(request, title);
  await signIn(page, EMILY);
  await openIssue(page, issue.id);
  await page.locator("#follow-submit").click();
  await expect(page.locator("#follow-submit")).toHaveText("Unwatch");

  // Viewing now needs the delete scope too (only Alex's role has it); Alex may comment.
  const file = "config.e2e.json";
  const original = readFileSync(file, "utf8");
  const changed = JSON.parse(original);
  changed.Features.Issues.scopes.view = ["issues:view", "issues:delete"];
  changed.Features.Issues.scopes.comment = ["issues:view"];
  try {
    writeFileSync(file, JSON.stringify(changed, null, 2));
    await expect(async () => {
      await page.goto("/issues");
      await expect(page.locator("#no-permission")).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    // Alex's token carries the scopes viewing now needs (comment needs only view).
    const alex = await tokenFor(request, ALEX, "issues:view issues:delete");
    const commented = await request.post(`/api/v1/issues/${issue.id}/comments`, {
      headers: { authorization: `Bearer ${alex}` },
      data: { body: "Alex was here" },
    });
    expect(commented.status()).toBe(201);
    // Her page no longer hears changes, and her inbox and bell are closed to her. (That no mail
    // reaches her then is tests/app/mail.rs's.)
    await expect(page.locator('html[data-live="on"]')).toHaveCount(0);
    await page.goto("/notifications");
    await expect(page.locator("#no-permission")).toBeVisible();
    await expect(page.locator("#bell")).toHaveCount(0);
  } finally {
    writeFileSync(file, original);
    await expect(async () => {
      await page.goto("/issues");
      await expect(page.locator("#issue-list, #no-issues").first()).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
  }
});
