import { APIRequestContext, Page, expect } from "@playwright/test";

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

export async function signIn(page: Page, user: { username: string; password: string }) {
  await page.goto("/");
  await signInFrom(page, user);
  await page.waitForURL("http://127.0.0.1:3000/");
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
