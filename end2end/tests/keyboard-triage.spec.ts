import { expect, test } from "@playwright/test";
import {
  JOHN,
  createIssueAsJohn,
  defineLabelAsJohn,
  focused,
  hydrated,
  openIssue,
  signInWithKeyboard,
  tabTo,
  unique,
  uniqueLabel,
} from "./helpers";

// Triage, bulk actions, previews and the shortcuts with the keyboard alone: Tab, Shift+Tab,
// Space, Enter, Escape and typing. No click, no fill, no check. (Issues and labels are made
// through the REST API first, as setup; addresses are opened with `goto`.)

/**
 * A label of this run that sorts (by name, as the triage form lists them) before every other:
 * a digit first, then a count that shrinks as time passes, so this run's comes before earlier
 * runs' and a keyboard user reaches it in a few presses of Tab.
 */
function firstLabel() {
  const shrinking = (Number.MAX_SAFE_INTEGER - Date.now()).toString(36);
  return `0kbd-${shrinking}-${uniqueLabel("x").slice(-5)}`;
}

test("John puts a label on an issue with the triage form, by keyboard", async ({ page, request }) => {
  const label = firstLabel();
  await defineLabelAsJohn(request, label);
  const issue = await createIssueAsJohn(request, unique("Door sensor"));
  await signInWithKeyboard(page, JOHN);
  await openIssue(page, issue.id);

  const box = page.locator("#triage-form .label-pick", { hasText: label }).locator('input[type="checkbox"]');
  await expect(box).not.toBeChecked();
  // Labels accumulate in the shared database: Tab past as many boxes as the form holds.
  const boxes = await page.locator('#triage-form input[type="checkbox"]').count();
  await tabTo(page, box, 60);
  await page.keyboard.press("Space");
  await expect(box).toBeChecked();
  await tabTo(page, page.locator("#triage-submit"), boxes + 10);
  await page.keyboard.press("Enter");
  await expect(page.locator("#issue-triage .label-chip")).toHaveText([label]);

  // Kept: the page loaded afresh shows it, and the history says so.
  await openIssue(page, issue.id);
  await expect(page.locator("#issue-triage .label-chip")).toHaveText([label]);
  await expect(page.locator('#history li.history-event[data-kind="label_added"] .history-text')).toHaveText([
    `${JOHN.name} added the label ${label}`,
  ]);
});

test("John closes two issues at once from the board, by keyboard", async ({ page, request }) => {
  const older = await createIssueAsJohn(request, unique("Blind stuck"));
  const newer = await createIssueAsJohn(request, unique("Blind rattles"));
  await signInWithKeyboard(page, JOHN);
  await page.goto("/issues");
  await hydrated(page);

  // Newest first: the newer row comes first.
  const pick = (id: number) => page.locator(`#issue-list li.issue[data-issue-id="${id}"] input.bulk-pick`);
  await tabTo(page, pick(newer.id), 80);
  await page.keyboard.press("Space");
  await expect(pick(newer.id)).toBeChecked();
  await tabTo(page, pick(older.id), 10);
  await page.keyboard.press("Space");
  await expect(pick(older.id)).toBeChecked();
  await expect(page.locator("#bulk-count")).toHaveText("2 selected");

  // Back up to the bulk bar: the action is Close (the first offered), then Apply.
  await tabTo(page, page.locator("#bulk-apply"), 20, "Shift+Tab");
  await expect(page.locator("#bulk-action")).toHaveValue("close");
  await page.keyboard.press("Enter");
  await expect(page.locator("#bulk-confirm")).toContainText("Close 2 issues?");
  await tabTo(page, page.locator("#bulk-confirm-yes"), 3);
  await page.keyboard.press("Enter");
  await expect(page.locator("#bulk-result")).toHaveText("2 closed.");
  await expect(page.locator(`#issue-list li.issue[data-issue-id="${newer.id}"]`)).toHaveCount(0);
  await expect(page.locator(`#issue-list li.issue[data-issue-id="${older.id}"]`)).toHaveCount(0);

  await openIssue(page, older.id);
  await expect(page.locator("#issue-status")).toHaveText("closed");
});

test("John previews a comment's Markdown, by keyboard", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, unique("Kitchen tap"));
  await signInWithKeyboard(page, JOHN);
  await openIssue(page, issue.id);

  await tabTo(page, page.locator("#comment-body"), 80);
  await page.keyboard.type("## Plan\n\n- Close the valve\n- Call the plumber\n\n**Soon**");
  await tabTo(page, page.locator("#comment-preview"), 5);
  await expect(page.locator("#comment-preview")).toHaveAttribute("aria-pressed", "false");
  await page.keyboard.press("Enter");
  const preview = page.locator("#comment-preview-html");
  await expect(page.locator("#comment-preview")).toHaveAttribute("aria-pressed", "true");
  await expect(preview.locator("h2")).toHaveText("Plan");
  await expect(preview.locator("ul > li")).toHaveText(["Close the valve", "Call the plumber"]);
  await expect(preview.locator("strong")).toHaveText("Soon");
  // Nothing was sent: it is a preview.
  await expect(page.locator("#comments li.comment")).toHaveCount(0);

  // Enter again hides it; the text is still there to send.
  await expect(page.locator("#comment-preview")).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(preview).toHaveCount(0);
  await expect(page.locator("#comment-preview")).toHaveAttribute("aria-pressed", "false");
  await expect(page.locator("#comment-body")).toHaveValue("## Plan\n\n- Close the valve\n- Call the plumber\n\n**Soon**");
});

test("Shortcuts: ? opens the list and Escape closes it, / focuses the search, and c typed there stays text", async ({ page }) => {
  await signInWithKeyboard(page, JOHN);
  await page.goto("/issues");
  await hydrated(page);
  const status = page.locator("#shortcut-status");

  const help = page.locator("dialog#shortcuts-help");
  await expect(help).toBeHidden();
  await page.keyboard.press("?");
  await expect(help).toBeVisible();
  await expect(help).toHaveJSProperty("open", true);
  await expect(help.getByRole("heading", { name: "Keyboard shortcuts" })).toBeVisible();
  expect(await help.evaluate((dialog) => dialog.contains(document.activeElement)), `the focus is on ${await focused(page)}`).toBe(true);
  await page.keyboard.press("Escape");
  await expect(help).toBeHidden();
  await expect(status).toHaveText("Shortcuts closed");

  await page.keyboard.press("/");
  const search = page.locator("#filter-q");
  await expect(search).toBeFocused();
  await expect(status).toHaveText("Search the issues");

  // Inside the field the keys are text: no new-issue page, no row highlighted.
  const toNewIssue: string[] = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/issues/new") toNewIssue.push(request.url());
  });
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await page.keyboard.type("cj");
  await expect(search).toHaveValue("cj");
  await expect(search).toBeFocused();
  await expect(page).toHaveURL(/\/issues$/);
  await expect(page.locator("#issue-list li.issue.shortcut-current")).toHaveCount(0);
  await expect(status).toHaveText("Search the issues");
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  expect(toNewIssue).toEqual([]);

  // Out of the field (the page's start, as the skip link leaves it), the same key is the shortcut.
  await page.locator("#main").focus();
  await page.keyboard.press("c");
  await page.waitForURL(/\/issues\/new$/);
  expect(toNewIssue.length).toBeGreaterThan(0);
});

test("Shortcuts: j and k move through the board, Enter opens the issue, c opens the new-issue page", async ({ page, request }) => {
  await createIssueAsJohn(request, unique("Lift slow"));
  await createIssueAsJohn(request, unique("Lift noisy"));
  await signInWithKeyboard(page, JOHN);
  await page.goto("/issues");
  await hydrated(page);
  const rows = page.locator("#issue-list > li.issue");
  const status = page.locator("#shortcut-status");
  const total = await rows.count();
  expect(total).toBeGreaterThanOrEqual(2);

  await page.keyboard.press("j");
  await expect(rows.nth(0)).toHaveClass(/\bshortcut-current\b/);
  await expect(rows.nth(0).locator(".issue-title a")).toBeFocused();
  await expect(status).toHaveText(new RegExp(`^Issue 1 of ${total}: `));
  await page.keyboard.press("j");
  await expect(rows.nth(1)).toHaveClass(/\bshortcut-current\b/);
  await expect(rows.nth(0)).not.toHaveClass(/\bshortcut-current\b/);
  await expect(rows.nth(1).locator(".issue-title a")).toBeFocused();
  await expect(status).toHaveText(new RegExp(`^Issue 2 of ${total}: `));
  await page.keyboard.press("k");
  await expect(rows.nth(0)).toHaveClass(/\bshortcut-current\b/);
  await expect(rows.nth(1)).not.toHaveClass(/\bshortcut-current\b/);
  await expect(rows.nth(0).locator(".issue-title a")).toBeFocused();

  const id = await rows.nth(0).getAttribute("data-issue-id");
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`/issues/${id}$`));
  await hydrated(page);

  await page.keyboard.press("c");
  await page.waitForURL(/\/issues\/new$/);
  await hydrated(page);
  await expect(page.locator("#create-issue")).toBeVisible();
});
