import { Locator, Page, expect, test } from "@playwright/test";
import { JOHN, hydrated, unique } from "./helpers";

// Everything here is done with the keyboard alone: Tab, Shift+Tab, Enter and typing. No
// click, no fill.

/** What has the focus, for messages: `tag#id.class "text"`. */
async function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "<body>";
    const id = el.id ? `#${el.id}` : "";
    const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
    const text = (el.textContent ?? "").trim().replace(/\s+/g, " ").slice(0, 30);
    return `${el.tagName.toLowerCase()}${id}${cls}${text ? ` "${text}"` : ""}`;
  });
}

/**
 * Presses Tab (or Shift+Tab) until `locator` has the focus, at most `maxTabs` times; fails
 * saying where the focus went instead.
 */
async function tabTo(page: Page, locator: Locator, maxTabs = 40, key: "Tab" | "Shift+Tab" = "Tab") {
  await locator.waitFor();
  const path: string[] = [];
  for (let presses = 0; ; presses++) {
    if (await locator.evaluate((el) => el === document.activeElement)) return;
    if (presses === maxTabs) break;
    await page.keyboard.press(key);
    path.push(await focused(page));
  }
  throw new Error(`${maxTabs} × ${key} never focused ${locator}; the focus went: ${path.join(" → ")}`);
}

test("the first Tab reaches the skip link, and Enter on it moves the focus to the main content", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await page.keyboard.press("Tab");
  const skip = page.locator("a.skip-link");
  await expect(skip, `the first Tab focused ${await focused(page)}`).toBeFocused();
  await expect(skip).toHaveText("Skip to content");
  await expect(skip).toBeInViewport();
  await page.keyboard.press("Enter");
  await expect(page.locator("#main")).toBeFocused();
  // The next Tab goes on from the main content, past the header's controls.
  await page.keyboard.press("Tab");
  await expect(page.locator("#sign-in"), `Tab after the skip link focused ${await focused(page)}`).toBeFocused();
});

test("John signs in, creates an issue, comments on it and signs out with the keyboard alone", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);

  // Sign in: the home page's button, then the dev IdP's form.
  await tabTo(page, page.locator("#sign-in"));
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/t\/dev\/oauth2\/authorize/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await tabTo(page, page.locator("#username")); // autofocused: usually no Tab at all
  await page.keyboard.type(JOHN.username);
  await page.keyboard.press("Tab");
  await expect(page.locator("#password")).toBeFocused();
  await page.keyboard.type(JOHN.password);
  await page.keyboard.press("Enter");
  await page.waitForURL("http://127.0.0.1:3000/");
  await expect(page.locator("#user-name")).toHaveText(JOHN.name);
  await hydrated(page);

  // To the board through the main navigation.
  await tabTo(page, page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "All issues" }));
  await page.keyboard.press("Enter");
  await page.waitForURL("**/issues");
  await hydrated(page);

  // Create an issue with the form.
  const title = unique("Typed without a mouse");
  await tabTo(page, page.locator("#issue-title"));
  await page.keyboard.type(title);
  await page.keyboard.press("Tab");
  await expect(page.locator("#issue-description")).toBeFocused();
  await page.keyboard.type("Every step by keyboard");
  await tabTo(page, page.locator("#create-issue-submit"));
  await page.keyboard.press("Enter");
  await expect(page.locator("#create-status")).toContainText("Created");
  const link = page.locator("#issue-list .issue-title a", { hasText: title });
  await expect(link).toBeVisible();

  // Open it.
  await tabTo(page, link);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/issues\/\d+$/);
  await hydrated(page);
  await expect(page.locator("#issue-title")).toContainText(title);

  // Comment on it.
  const comment = unique("Commented by keyboard");
  await tabTo(page, page.locator("#comment-body"));
  await page.keyboard.type(comment);
  await tabTo(page, page.locator("#comment-submit"));
  await page.keyboard.press("Enter");
  await expect(page.locator("#comments")).toContainText(comment);
  await expect(page.locator("#comments .comment").last()).toContainText(JOHN.name);

  // Sign out: back up to the header's button.
  await tabTo(page, page.locator("#sign-out"), 40, "Shift+Tab");
  await page.keyboard.press("Enter");
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:3000\/(\?.*)?$/);
  await expect(page.locator("#sign-in")).toBeVisible();
  await expect(page.locator("#user-name")).toHaveCount(0);
});
