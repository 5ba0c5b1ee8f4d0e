import { expect, test } from "@playwright/test";
import { JOHN, hydrated, signIn } from "./helpers";

test("the page hydrates: validation reacts as you type, and the console stays clean", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));

  await signIn(page, JOHN);
  await page.goto("/issues");
  await hydrated(page);

  const title = page.getByLabel("Title");
  await title.fill("x");
  await title.fill("   ");
  // Only the running WASM produces this message: the server has not been asked.
  await expect(page.locator("#issue-title-error")).toHaveText("Enter a title.");
  await expect(title).toHaveAttribute("aria-invalid", "true");
  await title.fill("A".repeat(201));
  await expect(page.locator("#issue-title-error")).toContainText("Keep the title to 200 characters");
  await title.fill("Fine now");
  await expect(page.locator("#issue-title-error")).toHaveText("");

  expect(problems).toEqual([]);
});
