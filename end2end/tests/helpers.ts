import AxeBuilder from "@axe-core/playwright";
import { readFileSync, readdirSync } from "node:fs";
import { APIRequestContext, Locator, Page, expect, test } from "@playwright/test";

export const IDP = "http://127.0.0.1:9444/t/dev";
export const CLIENT_ID = "issues-app-dev-client";
export const CLIENT_SECRET = "issues-app-dev-secret-change-me";
export const JOHN = { username: "john", password: "john-dev-password", name: "John Manager" };
export const EMILY = { username: "emily", password: "emily-dev-password", name: "Emily Employee" };

/** Waits until the WASM has hydrated the page (an attribute only an effect sets). */
export async function hydrated(page: Page) {
  await expect(page.locator('.app[data-hydrated="true"]')).toBeVisible();
}

/** From a page showing a Sign in button: through the dev IdP's login form and back. */
export async function signInFrom(page: Page, user: { username: string; password: string }) {
  await page.locator("#sign-in").click();
  await page.waitForURL(/\/t\/dev\/oauth2\/authorize/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The instance cargo-leptos serves (config.e2e.json); every spec's `baseURL`. */
export const APP = "http://127.0.0.1:3000";

/** Signs in from the home page of the instance at `origin` (another one: demo-file.spec.ts). */
export async function signIn(page: Page, user: { username: string; password: string }, origin = APP) {
  await page.goto(`${origin}/`);
  await signInFrom(page, user);
  await page.waitForURL(`${origin}/`);
  await expect(page.locator("#user-name")).toBeVisible();
}

/** Creates an issue as John through the bearer REST API, as another program would; answers it. */
export async function createIssueAsJohn(request: APIRequestContext, title: string, description = "Created through the REST API") {
  const token = await request.post(`${IDP}/oauth2/token`, {
    headers: { authorization: "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64") },
    form: { grant_type: "password", username: JOHN.username, password: JOHN.password, scope: "issues:create issues:view" },
  });
  expect(token.ok()).toBeTruthy();
  const { access_token } = await token.json();
  const created = await request.post("/api/v1/issues", {
    headers: { authorization: `Bearer ${access_token}` },
    data: { title, description },
  });
  expect(created.status()).toBe(201);
  return (await created.json()) as { id: number; version: number; title: string };
}

export function unique(prefix: string) {
  return `${prefix} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** The axe rule tags checked: WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * Runs axe on the page as it is now (WCAG 2.1 A and AA rules) and fails on any violation of
 * impact "serious" or "critical", saying for each what to fix: rule id, impact, help, and the
 * first few elements with axe's reason. `state` names the page state in the message. On a
 * failure the full axe results are attached to the test report.
 */
export async function expectAccessible(page: Page, state: string) {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (blocking.length > 0) {
    await test.info().attach(`axe ${state}.json`, {
      body: JSON.stringify(results.violations, null, 2),
      contentType: "application/json",
    });
  }
  const shown = 3;
  const report = blocking.map((violation) => {
    const nodes = violation.nodes.slice(0, shown).map((node) => {
      const target = node.target.map((part) => [part].flat().join(" >>> ")).join(" ");
      const why = (node.any[0] ?? node.all[0] ?? node.none[0])?.message;
      return `    ${target}${why ? `: ${why}` : ""}`;
    });
    const more = violation.nodes.length > shown ? [`    … and ${violation.nodes.length - shown} more`] : [];
    return [
      `- ${violation.id} [${violation.impact}] ${violation.help} (${violation.nodes.length} element(s); ${violation.helpUrl})`,
      ...nodes,
      ...more,
    ].join("\n");
  });
  expect(
    blocking.map((violation) => violation.id),
    `axe found ${blocking.length} serious or critical WCAG 2.1 A/AA violation(s) on ${state} (${page.url()}):\n${report.join("\n")}\n`,
  ).toEqual([]);
}

// ---- Shared by the everyday, keyboard-triage and accessibility specs ------------------------

export const ALEX = { username: "alex", password: "alex-dev-password", name: "Alex Admin" };

type User = { username: string; password: string };

/** A bearer token for `user` from the dev IdP (the password grant, as a program would), with `scope`. */
export async function tokenFor(request: APIRequestContext, user: User, scope: string) {
  const token = await request.post(`${IDP}/oauth2/token`, {
    headers: { authorization: "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64") },
    form: { grant_type: "password", username: user.username, password: user.password, scope },
  });
  expect(token.ok(), `the dev IdP refused a token for ${user.username}`).toBeTruthy();
  return ((await token.json()) as { access_token: string }).access_token;
}

/** A label name of its own for this run: `prefix-<time>-<random>` (letters, digits, dashes). */
export function uniqueLabel(prefix: string) {
  return unique(prefix).replace(/[^a-z0-9-]/gi, "-").slice(0, 40);
}

/**
 * Defines the label `name` as John through the REST API; answers the status: 201, or 409 when
 * a label of that name exists (`allowExisting`: a shared label such as a template's `bug`).
 */
export async function defineLabelAsJohn(request: APIRequestContext, name: string, allowExisting = false) {
  const token = await tokenFor(request, JOHN, "issues:view issues:edit");
  const response = await request.post("/api/v1/labels", {
    headers: { authorization: `Bearer ${token}` },
    data: { name, color: "#0075ca", description: "Made by an end-to-end test" },
  });
  expect(allowExisting ? [201, 409] : [201], `defining the label ${name}`).toContain(response.status());
  return response.status();
}

/** Comments on issue `issueId` as `user` through the REST API; answers the comment. */
export async function commentAs(request: APIRequestContext, user: User, issueId: number, body: string) {
  const token = await tokenFor(request, user, "issues:view issues:comment");
  const response = await request.post(`/api/v1/issues/${issueId}/comments`, {
    headers: { authorization: `Bearer ${token}` },
    data: { body },
  });
  expect(response.status(), `${user.username} commenting on #${issueId}`).toBe(201);
  return (await response.json()) as { id: number; body: string };
}

/** Deletes issue `issueId` as `user` (Alex: the delete scope) through the REST API. */
export async function deleteIssueAs(request: APIRequestContext, user: User, issueId: number) {
  const token = await tokenFor(request, user, "issues:view issues:delete");
  const response = await request.delete(`/api/v1/issues/${issueId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status(), `${user.username} deleting #${issueId}`).toBe(204);
}

/** What the provider's administrator does in its console: gives `username` these roles. */
export async function setRoles(request: APIRequestContext, username: string, roles: string[]) {
  const response = await request.put(`${IDP}/dev/users/${username}/roles`, {
    headers: { authorization: "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64") },
    data: { roles },
  });
  expect(response.status()).toBe(204);
}

/** Makes `username`'s sign-ins at the dev IdP `seconds` older, as if they had signed in earlier. */
export async function ageSignIns(request: APIRequestContext, username: string, seconds: number) {
  const response = await request.post(`${IDP}/dev/users/${username}/sessions/age`, {
    headers: { authorization: "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64") },
    data: { seconds },
  });
  expect(response.status()).toBe(200);
  expect(((await response.json()) as { aged: number }).aged).toBeGreaterThan(0);
}

/** Opens issue `id`'s page and waits until it is hydrated and shows the issue. */
export async function openIssue(page: Page, id: number) {
  await page.goto(`/issues/${id}`);
  await hydrated(page);
  await expect(page.locator("#issue-title")).toBeVisible();
}

/** Defines a label on the labels page (the page's own form); answers its name. */
export async function defineLabelOnPage(page: Page, prefix: string) {
  const name = uniqueLabel(prefix);
  await page.goto("/labels");
  await hydrated(page);
  await page.locator("#label-name").fill(name);
  await page.locator("#label-description").fill("Made by an end-to-end test");
  await page.locator("#label-submit").click();
  await expect(page.locator("#label-list")).toContainText(name);
  return name;
}

/** What has the focus, for messages: `tag#id.class "text"`. */
export async function focused(page: Page) {
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
export async function tabTo(page: Page, locator: Locator, maxTabs = 40, key: "Tab" | "Shift+Tab" = "Tab") {
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

/** Signs `user` in from the home page with the keyboard alone (Tab, typing, Enter). */
export async function signInWithKeyboard(page: Page, user: User & { name: string }) {
  await page.goto("/");
  await hydrated(page);
  await tabTo(page, page.locator("#sign-in"));
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/t\/dev\/oauth2\/authorize/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await tabTo(page, page.locator("#username"));
  await page.keyboard.type(user.username);
  await page.keyboard.press("Tab");
  await expect(page.locator("#password")).toBeFocused();
  await page.keyboard.type(user.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(`${APP}/`);
  await expect(page.locator("#user-name")).toHaveText(user.name);
  await hydrated(page);
}

/** A mail the test SMTP server took (playwright.config.ts's "mail" server): its To, Subject and text. */
export type Mail = { to: string; subject: string; text: string };

/** Every mail the test SMTP server has taken so far (its Maildir, `.data/mail`), decoded. */
export function mails(): Mail[] {
  const dir = ".data/mail/new";
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((name) => decodeMail(readFileSync(`${dir}/${name}`, "utf8")));
}

function decodeMail(raw: string): Mail {
  const [head, ...rest] = raw.replace(/\r\n/g, "\n").split("\n\n");
  const headers = head.replace(/\n[ \t]+/g, " ");
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, "im").exec(headers)?.[1] ?? "";
  // RFC 2047 words (=?utf-8?b?…?= or =?utf-8?q?…?=), as lettre writes a subject with curly quotes.
  const words = (text: string) =>
    text.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_, kind: string, data: string) =>
      kind.toLowerCase() === "b"
        ? Buffer.from(data, "base64").toString("utf8")
        : Buffer.from(data.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_m, hex) => String.fromCharCode(parseInt(hex, 16))), "latin1").toString("utf8"),
    );
  let body = rest.join("\n\n");
  const encoding = header("Content-Transfer-Encoding").toLowerCase();
  if (encoding === "base64") body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") {
    const bytes = body.replace(/=\n/g, "").replace(/=([0-9A-F]{2})/gi, (_m, hex) => String.fromCharCode(parseInt(hex, 16)));
    body = Buffer.from(bytes, "latin1").toString("utf8");
  }
  return { to: header("To"), subject: words(header("Subject")), text: body };
}
