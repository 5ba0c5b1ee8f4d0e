// Time until the page is hydrated in headless Chromium: from navigation start to the moment the
// WASM has set data-hydrated="true". Fresh browser context per load; prints the list (ms).
//   node bench/hydration.mjs URL [COOKIE]   (COOKIE "name=value": the page as that session sees it)
import { createRequire } from "node:module";

// Playwright is installed for the end-to-end tests: use that copy.
const require = createRequire(new URL("../end2end/package.json", import.meta.url));
const { chromium } = require("@playwright/test");

const url = process.argv[2];
const cookie = process.argv[3];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const times = [];
for (let i = 0; i < 7; i += 1) {
  const context = await browser.newContext();
  if (cookie) {
    const [name, ...value] = cookie.split("=");
    await context.addCookies([{ name, value: value.join("="), url }]);
  }
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('.app[data-hydrated="true"]');
  times.push(await page.evaluate(() => performance.now()));
  await context.close();
}
await browser.close();
console.log(JSON.stringify(times.slice(1)));
