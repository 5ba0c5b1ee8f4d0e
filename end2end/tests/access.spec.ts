import { expect, test } from "@playwright/test";
import {
  ALEX,
  EMILY,
  JOHN,
  ageSignIns,
  createIssueAsJohn,
  expectAccessible,
  hydrated,
  openIssue,
  setRoles,
  signIn,
  unique,
} from "./helpers";

// Access that explains itself and can be asked for: Emily, refused a close, is told which role
// grants it, asks; Alex sees the request and what to do at the provider, grants it; once her role
// is changed there, Refresh my access gives her the close control.
test("Emily asks for the close she is refused, Alex grants it, and Refresh my access brings it", async ({
  page,
  browser,
  request,
}) => {
  const issue = await createIssueAsJohn(request, unique("Stuck door"));
  const reason = unique("I triage the facilities queue");

  await test.step("Emily is told which role grants the close, and asks for it", async () => {
    await signIn(page, EMILY);
    await openIssue(page, issue.id);
    await expect(page.locator("#status-submit")).toHaveCount(0);
    await page.locator("#what-can-i-do summary").click();
    await expect(page.locator("#why-not-close_issue")).toContainText("granted by the Manager role");
    await page.locator("#ask-action").selectOption("close_issue");
    await page.locator("#ask-reason").fill(reason);
    await page.locator("#ask-access").click();
    await page.waitForURL(/\/profile/);
    await expect(page.locator("#my-access-requests")).toContainText("To close or reopen issues (issues:close) · open since");
  });

  const alexContext = await browser.newContext();
  const alex = await alexContext.newPage();
  await test.step("Alex sees the request, what to do at the provider, and grants it", async () => {
    await signIn(alex, ALEX);
    await alex.locator("#access-link").click();
    await alex.waitForURL(/\/access$/);
    const asked = alex.locator(".access-request.open", { hasText: reason });
    await expect(asked).toContainText("Emily Employee asks to close or reopen issues");
    await expect(asked).toContainText("Needs issues:close, granted by the Manager role");
    await expect(asked).toContainText("add Emily Employee to a group that carries the Manager role");
    await expectAccessible(alex, "the Access page with an open request");
    await asked.getByLabel("Note for Emily Employee").fill("Added you to Managers");
    await asked.getByRole("button", { name: "Mark granted" }).click();
    await alex.waitForURL(/\/access/);
    await expect(alex.locator(".access-request.open", { hasText: reason })).toHaveCount(0);
    await expect(alex.locator("#answered-access-requests")).toContainText("Emily Employee asked to close or reopen issues · granted by Alex Admin");
  });
  await alexContext.close();

  await setRoles(request, "emily", ["Manager"]);
  try {
    await test.step("Emily sees the answer, refreshes her access, and may close", async () => {
      await page.goto("/profile");
      await expect(page.locator("#my-access-requests")).toContainText("granted by Alex Admin");
      await expect(page.locator("#my-access-requests")).toContainText("Added you to Managers");
      // Through the provider and back: wait for the callback, then for the new grant.
      await Promise.all([
        page.waitForResponse((response) => response.url().includes("/auth/callback")),
        page.locator("#refresh-access").click(),
      ]);
      await page.waitForURL(/\/profile$/);
      await expect(page.locator("#profile-scopes")).toContainText("issues:close");
      await openIssue(page, issue.id);
      await expect(page.locator("#status-submit")).toBeVisible();
      await expect(page.locator("#why-not-close_issue")).toHaveCount(0);
    });
  } finally {
    await setRoles(request, "emily", ["Employee"]);
  }
});

test("the access review lists John, Emily and Alex with what each may do", async ({ page, browser }) => {
  for (const user of [JOHN, EMILY]) {
    const context = await browser.newContext();
    await signIn(await context.newPage(), user);
    await context.close();
  }
  await signIn(page, ALEX);
  await page.goto("/access");
  const row = (name: string) => page.locator("#review-table tr", { hasText: name });
  await expect(row("John Manager").locator(".review-actions")).toContainText("create issues");
  await expect(row("John Manager").locator(".review-actions")).not.toContainText("delete issues");
  await expect(row("Emily Employee").locator(".review-actions")).toContainText("comment on issues");
  await expect(row("Alex Admin").locator(".review-actions")).toContainText("delete issues");
  await expect(page.locator("#who-can-delete")).toContainText("Alex Admin");
  await expect(page.locator("#who-can-delete")).not.toContainText("John Manager");
  await expectAccessible(page, "the access review");
});

// Step-up before a destructive action: config.e2e.json's Features.Issues.StepUp.delete is 60.
// John (given the Admin role for the delete scope) signed in at the provider two minutes ago, as
// far as the app knows; his delete sends him through the provider's sign-in and, back on the
// issue, the delete he asked for completes without being asked again.
test("John's delete with a sign-in older than StepUp.delete goes through the provider and completes", async ({
  page,
  request,
}) => {
  await setRoles(request, JOHN.username, ["Manager", "Admin"]);
  try {
    const issue = await createIssueAsJohn(request, unique("Broken shelf"));
    await signIn(page, JOHN);

    await test.step("his sign-in at the provider is two minutes old, and the app learns it", async () => {
      await ageSignIns(request, JOHN.username, 120);
      // Refresh my access: a silent sign-in, which carries the provider's auth_time.
      await page.goto(`/auth/login?prompt=none&return_to=/issues/${issue.id}`);
      await page.waitForURL(`/issues/${issue.id}`);
      await hydrated(page);
      await expect(page.locator("#delete-start")).toBeVisible();
    });

    await test.step("the delete sends him to confirm who he is at the provider", async () => {
      await page.locator("#delete-start").click();
      await page.locator("#delete-confirm").click();
      await page.waitForURL(/\/t\/dev\/oauth2\/authorize/);
      const asked = new URL(page.url());
      expect(asked.searchParams.get("max_age")).toBe("60");
      await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
      await page.getByLabel("Username").fill(JOHN.username);
      await page.getByLabel("Password").fill(JOHN.password);
      await page.getByRole("button", { name: "Sign in" }).click();
    });

    await test.step("back on the issue, the delete completes by itself", async () => {
      await page.waitForURL(/\/issues$/);
      const gone = await page.goto(`/issues/${issue.id}`);
      expect(gone?.status()).toBe(404);
    });
  } finally {
    await setRoles(request, JOHN.username, ["Manager"]);
  }
});
