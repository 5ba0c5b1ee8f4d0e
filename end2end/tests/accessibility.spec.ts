import { Browser, BrowserContext, Page, test as base, expect } from "@playwright/test";
import { EMILY, JOHN, createIssueAsJohn, expectAccessible, hydrated, signIn, unique } from "./helpers";

// axe (WCAG 2.1 A and AA) on every page state, in the light and the dark theme: no serious or
// critical violation anywhere. A failure lists each rule, the elements and why.

type StorageState = Awaited<ReturnType<BrowserContext["storageState"]>>;
type User = { username: string; password: string };

/** Signs `user` in once, in a context of its own, and answers its cookies. */
async function signedInState(browser: Browser, baseURL: string, user: User): Promise<StorageState> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signIn(page, user);
  const state = await context.storageState();
  await context.close();
  return state;
}

// The sign-in flow has specs of its own: here each user signs in once per worker, and each
// test starts from those cookies.
const test = base.extend<{}, { johnState: StorageState; emilyState: StorageState }>({
  johnState: [
    async ({ browser }, use, workerInfo) => {
      await use(await signedInState(browser, workerInfo.project.use.baseURL ?? "http://127.0.0.1:3000", JOHN));
    },
    { scope: "worker" },
  ],
  emilyState: [
    async ({ browser }, use, workerInfo) => {
      await use(await signedInState(browser, workerInfo.project.use.baseURL ?? "http://127.0.0.1:3000", EMILY));
    },
    { scope: "worker" },
  ],
});

/** Opens `path`, waits for hydration, and for `ready` (what shows the state is rendered). */
async function open(page: Page, path: string, ready: string | ((page: Page) => Promise<void>)) {
  await page.goto(path);
  await hydrated(page);
  if (typeof ready === "string") await expect(page.locator(ready)).toBeVisible();
  else await ready(page);
}

for (const colorScheme of ["light", "dark"] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test.describe("signed out", () => {
      test("home", async ({ page }) => {
        await open(page, "/", "#sign-in");
        await expectAccessible(page, `the signed-out home (${colorScheme})`);
      });

      test("the board asks to sign in", async ({ page }) => {
        await open(page, "/issues", "#sign-in");
        await expectAccessible(page, `the signed-out board (${colorScheme})`);
      });

      test("a page that does not exist", async ({ page }) => {
        await open(page, "/no-such-page", async (page) => {
          await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
        });
        await expectAccessible(page, `the 404 page, signed out (${colorScheme})`);
      });
    });

    test.describe("as John (Manager)", () => {
      test.use({ storageState: async ({ johnState }, use) => use(johnState) });

      test("home", async ({ page }) => {
        await open(page, "/", "#welcome-name");
        await expect(page.locator("#user-name")).toHaveText(JOHN.name);
        await expectAccessible(page, `John's home (${colorScheme})`);
      });

      test("the board, with issues", async ({ page, request }) => {
        await createIssueAsJohn(request, unique("Projector flickers"), "Room 4, since Monday");
        await createIssueAsJohn(request, unique("Printer out of toner"), "");
        await open(page, "/issues", "#issue-list");
        await expect(page.locator("#create-issue")).toBeVisible();
        await expectAccessible(page, `John's board (${colorScheme})`);
      });

      test("the new issue page", async ({ page }) => {
        await open(page, "/issues/new", "#create-issue");
        await expectAccessible(page, `John's /issues/new (${colorScheme})`);
      });

      test("an issue's page, with its controls", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Window stuck"), "Second floor, east side");
        await open(page, `/issues/${issue.id}`, "#issue-title");
        await expect(page.locator("#status-submit")).toBeVisible();
        await expect(page.locator("#comment-form")).toBeVisible();
        await expectAccessible(page, `John's view of an issue (${colorScheme})`);
      });

      test("an issue that does not exist", async ({ page }) => {
        await open(page, "/issues/999999999", "#issue-missing");
        await expectAccessible(page, `the missing issue page (${colorScheme})`);
      });

      test("a page that does not exist", async ({ page }) => {
        await open(page, "/no-such-page", async (page) => {
          await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
        });
        await expectAccessible(page, `the 404 page, signed in (${colorScheme})`);
      });

      test("his profile", async ({ page }) => {
        await open(page, "/profile", async (page) => {
          await expect(page.getByRole("heading", { level: 1, name: "Your profile" })).toBeVisible();
        });
        await expectAccessible(page, `John's profile (${colorScheme})`);
      });
    });

    test.describe("as Emily (Employee)", () => {
      test.use({ storageState: async ({ emilyState }, use) => use(emilyState) });

      test("the board, with why she cannot create", async ({ page, request }) => {
        await createIssueAsJohn(request, unique("Heating too low"));
        await open(page, "/issues", "#issue-list");
        await expect(page.locator("#why-no-create")).toBeVisible();
        await expectAccessible(page, `Emily's board (${colorScheme})`);
      });

      test("an issue's page, with why lines instead of controls", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Noisy fan"), "Meeting room B");
        await open(page, `/issues/${issue.id}`, "#why-not");
        await expect(page.locator("#status-submit")).toHaveCount(0);
        await expectAccessible(page, `Emily's view of an issue (${colorScheme})`);
      });

      test("the new issue page: not permitted", async ({ page }) => {
        await open(page, "/issues/new", "#no-permission");
        await expectAccessible(page, `Emily's /issues/new (${colorScheme})`);
      });

      test("the audit trail: refused", async ({ page }) => {
        await open(page, "/audit", "#no-permission");
        await expectAccessible(page, `Emily's /audit (${colorScheme})`);
      });
    });
  });
}
