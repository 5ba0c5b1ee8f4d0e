import { Browser, expect, test } from "@playwright/test";
import { EMILY, JOHN, hydrated, setRoles, signIn, unique } from "./helpers";

/** The signed-out home, after the provider's end-session page. */
const HOME = /^http:\/\/127\.0\.0\.1:3000\/(\?.*)?$/;

/** A fresh browser (its own cookies) signed in as `user`. */
async function signedIn(browser: Browser, user: { username: string; password: string }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, user);
  return { context, page };
}

test("Refresh my access: Emily, made a Manager at the provider, gets the create form without signing out", async ({ page, request }) => {
  await signIn(page, EMILY);
  await page.goto("/issues");
  await hydrated(page);
  await expect(page.locator("#create-issue")).toHaveCount(0);
  await expect(page.locator("#why-not-create_issue")).toContainText("lacks the scope issues:create");

  await setRoles(request, "emily", ["Manager"]);
  try {
    // Under the "What can I do here?" panel's lines.
    await page.locator("#what-can-i-do summary").click();
    await page.locator("#refresh-access").click();
    // Straight back to the same page: the provider's session answered, no form was shown.
    await page.waitForURL("http://127.0.0.1:3000/issues");
    await hydrated(page);
    await expect(page.locator("#user-name")).toHaveText(EMILY.name);
    await expect(page.locator("#create-issue")).toBeVisible();
    await expect(page.locator("#why-not-create_issue")).toHaveCount(0);
  } finally {
    await setRoles(request, "emily", ["Employee"]);
  }
});

test("John's profile shows who he is, what he was granted and his sessions", async ({ page }) => {
  await signIn(page, JOHN);
  await page.locator("#user-name").click();
  await page.waitForURL("http://127.0.0.1:3000/profile");
  await expect(page.getByRole("heading", { name: "Your profile" })).toBeVisible();
  await expect(page.locator("#profile-name")).toHaveText(JOHN.name);
  await expect(page.locator("#profile-email")).toHaveText("john@dev.example");
  await expect(page.locator("#profile-roles")).toContainText("Manager");
  await expect(page.locator("#profile-scopes")).toContainText("issues:create");
  await expect(page.locator("#my-sessions .session.current")).toContainText("This session");
  // Times are the reader's, with UTC in the tooltip.
  const started = page.locator("#session-started time");
  await expect(started).toHaveAttribute("title", /UTC$/);
  await expect(started).not.toHaveText(/UTC$/);
});

test("Sign out everywhere, from one browser, signs John out in another", async ({ browser }) => {
  const laptop = await signedIn(browser, JOHN);
  const phone = await signedIn(browser, JOHN);
  await laptop.page.goto("/profile");
  // This one, the phone, and any other John left signed in.
  await expect(laptop.page.locator("#my-sessions .session.current")).toHaveCount(1);
  expect(await laptop.page.locator("#my-sessions .session:not(.current)").count()).toBeGreaterThanOrEqual(1);
  await laptop.page.locator("#sign-out-everywhere").click();
  await laptop.page.waitForURL(HOME);
  await expect(laptop.page.locator("#sign-in")).toBeVisible();

  await phone.page.goto("/issues");
  await expect(phone.page.locator("#sign-in")).toBeVisible();
  await expect(phone.page.locator("#user-name")).toHaveCount(0);
  await laptop.context.close();
  await phone.context.close();
});

test("A half-typed issue survives a session that ended: after signing in again it is restored", async ({ browser }) => {
  const desk = await signedIn(browser, JOHN);
  const title = unique("Draft kept");
  await desk.page.goto("/issues/new");
  await hydrated(desk.page);
  await desk.page.locator("#issue-title").fill(title);
  await desk.page.locator("#issue-description").fill("Typed before the session ended");

  // Meanwhile, from another browser, John signs out everywhere: the desk's session ends.
  const other = await signedIn(browser, JOHN);
  await other.page.goto("/profile");
  await other.page.locator("#sign-out-everywhere").click();
  await other.page.waitForURL(HOME);
  await other.context.close();

  await desk.page.locator("#create-issue-submit").click();
  await expect(desk.page.locator("#create-status")).toContainText("Your text is kept in this browser");
  // A mark on this page: gone once the browser has really navigated away and back.
  await desk.page.evaluate(() => ((window as unknown as { before: boolean }).before = true));
  await desk.page.locator("#sign-in-again").click();
  await desk.page.waitForFunction(() => !(window as unknown as { before?: boolean }).before);
  // The provider may still know the desk's browser (no form), or ask again.
  await desk.page.waitForURL(/\/issues\/new$|\/oauth2\/authorize/);
  if (desk.page.url().includes("/oauth2/authorize")) {
    await desk.page.getByLabel("Username").fill(JOHN.username);
    await desk.page.getByLabel("Password").fill(JOHN.password);
    await desk.page.getByRole("button", { name: "Sign in" }).click();
  }
  await desk.page.waitForURL("http://127.0.0.1:3000/issues/new");
  await hydrated(desk.page);
  // A freshly loaded page: the form's text comes from the browser's storage.
  await expect(desk.page.locator("#sign-in-again")).toHaveCount(0);
  await expect(desk.page.locator("#issue-title")).toHaveValue(title);
  await expect(desk.page.locator("#issue-description")).toHaveValue("Typed before the session ended");
  await desk.page.locator("#create-issue-submit").click();
  await expect(desk.page.locator("#create-status")).toContainText(`Created “${title}”`);
  // Sent: the draft is gone.
  await desk.page.reload();
  await hydrated(desk.page);
  await expect(desk.page.locator("#issue-title")).toHaveValue("");
  await desk.context.close();
});

test("A few minutes before the idle deadline, a notice offers to stay signed in", async ({ browser, page }) => {
  await page.clock.install();
  await signIn(page, JOHN);
  await page.goto("/issues");
  await hydrated(page);
  const notice = page.locator("#session-deadline .notice");
  await expect(notice).toBeHidden();
  // The shipped idle timeout is an hour; the notice comes five minutes before its end.
  await page.clock.fastForward("56:00");
  await expect(notice).toBeVisible();
  await expect(notice).toContainText("unless you use it");
  await page.locator("#stay-signed-in").click();
  // Renewed: the deadline is an hour away again.
  await expect(notice).toBeHidden();
  await expect(page.locator("#user-name")).toHaveText(JOHN.name);

  // Meanwhile his sessions end elsewhere (sign out everywhere): when the page next checks, it
  // says so and offers to sign in again, back to this page.
  const other = await signedIn(browser, JOHN);
  await other.page.goto("/profile");
  await other.page.locator("#sign-out-everywhere").click();
  await other.page.waitForURL(HOME);
  await other.context.close();
  await page.clock.fastForward("56:00");
  await expect(notice).toContainText("Your session has ended");
  await expect(page.locator("#session-sign-in-again")).toBeVisible();
  await expect(page.locator("#stay-signed-in")).toBeHidden();
});

test("Signing out forgets the drafts typed in this browser", async ({ page }) => {
  await signIn(page, JOHN);
  await page.goto("/issues/new");
  await hydrated(page);
  await page.locator("#issue-title").fill(unique("Never sent"));
  await page.locator("#sign-out").click();
  await page.waitForURL(HOME);
  const left = await page.evaluate(() =>
    Object.keys(localStorage).filter((key) => key.startsWith("issues-app:draft:")),
  );
  expect(left).toEqual([]);
});
