// The README's screenshots, run by hand against a running app (see screenshots.config.ts):
//
//   cd end2end && npx playwright test -c screenshots.config.ts
//
// It writes docs/screenshots/{john-board,emily-issue,profile}.png at the repository root, at a
// 1200×800 viewport. It creates a few issues each time: a fresh data directory gives the
// cleanest board.
import path from "node:path";
import { Page, expect, test } from "@playwright/test";
import { EMILY, JOHN, createIssueAsJohn, hydrated, signIn } from "../tests/helpers";

const shot = (name: string) => path.resolve(__dirname, "../../docs/screenshots", name);

async function save(page: Page, name: string) {
  await page.screenshot({ path: shot(name), animations: "disabled", caret: "hide", fullPage: true });
}

test("John's board", async ({ page, request }) => {
  await createIssueAsJohn(request, "Printer on the 2nd floor jams", "Every print job over ten pages.");
  await createIssueAsJohn(request, "Projector in room 4 flickers", "Since Monday, with every laptop.");
  await createIssueAsJohn(request, "Badge reader at the main door", "Green light, but the door stays shut.");
  await signIn(page, JOHN);
  await page.goto("/issues");
  await hydrated(page);
  await expect(page.locator("#issue-list")).toContainText("Badge reader at the main door");
  await save(page, "john-board.png");
});

test("Emily's view of an issue: why lines instead of controls", async ({ page, request }) => {
  const issue = await createIssueAsJohn(request, "Heating too low in meeting room B", "17 °C in the mornings.");
  await signIn(page, EMILY);
  await page.goto(`/issues/${issue.id}`);
  await hydrated(page);
  await expect(page.locator("#why-not")).toBeVisible();
  await save(page, "emily-issue.png");
});

test("John's profile", async ({ page }) => {
  await signIn(page, JOHN);
  await page.goto("/profile");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Your profile" })).toBeVisible();
  await save(page, "profile.png");
});
