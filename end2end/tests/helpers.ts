import AxeBuilder from "@axe-core/playwright";
import { APIRequestContext, Page, expect, test } from "@playwright/test";

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
