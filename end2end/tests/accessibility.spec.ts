import { Browser, BrowserContext, Page, test as base, expect } from "@playwright/test";
import {
  ALEX,
  EMILY,
  JOHN,
  commentAs,
  createIssueAsJohn,
  defineLabelAsJohn,
  deleteIssueAs,
  expectAccessible,
  hydrated,
  signIn,
  unique,
  uniqueLabel,
} from "./helpers";

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
        await page.locator("#what-can-i-do summary").click();
        await expect(page.locator("#why-not-create_issue")).toBeVisible();
        await expectAccessible(page, `Emily's board (${colorScheme})`);
      });

      test("an issue's page, with why lines instead of controls", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Noisy fan"), "Meeting room B");
        await open(page, `/issues/${issue.id}`, "#what-can-i-do");
        await page.locator("#what-can-i-do summary").click();
        await expect(page.locator("#why-not")).toBeVisible();
        await expect(page.locator("#status-submit")).toHaveCount(0);
        await expectAccessible(page, `Emily's view of an issue (${colorScheme})`);
      });

      test("her profile, with a request for access she made", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Whiteboard gone"));
        await open(page, `/issues/${issue.id}`, "#what-can-i-do");
        await page.locator("#what-can-i-do summary").click();
        await page.locator("#ask-action").selectOption("assign_issue");
        await page.locator("#ask-reason").fill("I hand out the facilities work");
        await page.locator("#ask-access").click();
        await page.waitForURL(/\/profile/);
        await hydrated(page);
        await expect(page.locator("#my-access-requests")).toContainText("To assign issues");
        await expectAccessible(page, `Emily's profile with a request (${colorScheme})`);
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

// The everyday states: My work, triage, comments being edited, previews, mention suggestions,
// the bulk confirmation, the Deleted view, the labels page and the shortcuts' list; the same
// check in both themes. Alex (Admin: delete) signs in once per worker as John and Emily do.
const everyday = test.extend<{}, { alexState: StorageState }>({
  alexState: [
    async ({ browser }, use, workerInfo) => {
      await use(await signedInState(browser, workerInfo.project.use.baseURL ?? "http://127.0.0.1:3000", ALEX));
    },
    { scope: "worker" },
  ],
});

for (const colorScheme of ["light", "dark"] as const) {
  everyday.describe(`${colorScheme} theme, everyday states`, () => {
    everyday.use({ colorScheme });

    everyday.describe("as John (Manager)", () => {
      everyday.use({ storageState: async ({ johnState }, use) => use(johnState) });

      everyday("home: My work", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Badge reader beeps"));
        await open(page, "/", "#work-assigned");
        await expect(page.locator("#work-created")).toBeVisible();
        await expect(page.locator("#work-mentioned")).toBeVisible();
        await expect(page.locator(`#work-created a[href="/issues/${issue.id}"]`)).toBeVisible();
        await expectAccessible(page, `John's My work (${colorScheme})`);
        await page.locator("details#your-access > summary").click();
        await expect(page.locator("#perm-create_issue")).toBeVisible();
        await expectAccessible(page, `John's My work, his access open (${colorScheme})`);
      });

      everyday("an issue's page with the triage form", async ({ page, request }) => {
        const label = uniqueLabel("a11y");
        await defineLabelAsJohn(request, label);
        const issue = await createIssueAsJohn(request, unique("Heating off"), "# Where\n\n- Room 4\n- Room 5");
        await open(page, `/issues/${issue.id}`, "#triage-form");
        await expect(page.locator("#triage-form .label-pick", { hasText: label })).toBeVisible();
        await expect(page.locator("#issue-description h1")).toHaveText("Where");
        await expectAccessible(page, `John's issue with the triage form (${colorScheme})`);
      });

      everyday("a comment being edited", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Noisy fan"));
        const comment = await commentAs(request, JOHN, issue.id, "It rattles at **noon**.");
        await open(page, `/issues/${issue.id}`, `#comment-${comment.id}`);
        await page.locator(`#comment-${comment.id} details.comment-edit > summary`).click();
        await expect(page.locator(`#comment-edit-${comment.id}`)).toBeVisible();
        await expectAccessible(page, `a comment being edited (${colorScheme})`);
      });

      everyday("the comment preview open", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Window stuck"));
        await open(page, `/issues/${issue.id}`, "#comment-body");
        await page.locator("#comment-body").fill("## Plan\n\n- [ ] Oil the hinge\n\n**Soon**, see [the guide](https://example.com).");
        await page.locator("#comment-preview").click();
        await expect(page.locator("#comment-preview-html strong")).toHaveText("Soon");
        await expectAccessible(page, `the comment preview open (${colorScheme})`);
      });

      everyday("the description's preview open", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Printer jams"), "| Tray | Jams |\n| --- | --- |\n| 1 | 3 |");
        await open(page, `/issues/${issue.id}`, "#edit-start");
        await page.locator("#edit-start").click();
        await page.locator("#edit-preview").click();
        await expect(page.locator("#edit-preview-html table")).toBeVisible();
        await expectAccessible(page, `the description's preview open (${colorScheme})`);
      });

      everyday("the mention suggestions open", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Projector flickers"));
        await open(page, `/issues/${issue.id}`, "#comment-body");
        await page.locator("#comment-body").click();
        await page.locator("#comment-body").pressSequentially("Ask @Jo");
        await expect(page.locator("#mention-list [role=option]", { hasText: JOHN.name })).toBeVisible();
        await expectAccessible(page, `the mention suggestions open (${colorScheme})`);
      });

      everyday("the bulk confirmation open", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Chair wobbles"));
        await open(page, "/issues", "#bulk-bar");
        await page.locator(`#issue-list li.issue[data-issue-id="${issue.id}"] input.bulk-pick`).check();
        await page.locator("#bulk-apply").click();
        await expect(page.locator("#bulk-confirm")).toContainText("Close 1 issue?");
        await expectAccessible(page, `the bulk confirmation open (${colorScheme})`);
        // Nothing changed: No.
        await page.locator("#bulk-confirm-no").click();
        await expect(page.locator("#bulk-confirm")).toHaveCount(0);
      });

      everyday("the labels page", async ({ page, request }) => {
        await defineLabelAsJohn(request, uniqueLabel("a11y"));
        await open(page, "/labels", "#label-form");
        await expect(page.locator("#label-list")).toBeVisible();
        await expectAccessible(page, `John's labels page (${colorScheme})`);
      });

      everyday("the shortcuts' list open", async ({ page }) => {
        await open(page, "/issues", "#issue-list");
        await page.keyboard.press("?");
        await expect(page.locator("dialog#shortcuts-help")).toBeVisible();
        await expectAccessible(page, `the shortcuts' list open (${colorScheme})`);
      });
    });

    everyday.describe("as Emily (Employee)", () => {
      everyday.use({ storageState: async ({ emilyState }, use) => use(emilyState) });

      everyday("the labels page, with why she cannot define one", async ({ page }) => {
        await open(page, "/labels", "#why-no-labels");
        await expectAccessible(page, `Emily's labels page (${colorScheme})`);
      });
    });

    everyday.describe("as Alex (Admin)", () => {
      everyday.use({ storageState: async ({ alexState }, use) => use(alexState) });

      everyday("the Access page: the review and the requests", async ({ page }) => {
        await open(page, "/access", "#review-table");
        await expectAccessible(page, `Alex's Access page (${colorScheme})`);
      });

      everyday("the Deleted view", async ({ page, request }) => {
        const issue = await createIssueAsJohn(request, unique("Locker jammed"));
        await deleteIssueAs(request, ALEX, issue.id);
        await open(page, "/issues/deleted", `#deleted-list li[data-issue-id="${issue.id}"]`);
        await expectAccessible(page, `Alex's Deleted view (${colorScheme})`);
        // Put back, so the list does not only grow.
        await page.locator(`#deleted-list li[data-issue-id="${issue.id}"] button.restore`).click();
        await expect(page.locator(`#deleted-list li[data-issue-id="${issue.id}"]`)).toHaveCount(0);
      });
    });
  });
}
