// Takes the README's screenshots (docs/screenshots/*.png) from a running app; not part of the
// test suite. Start the app with the end-to-end config (its dev IdP on 127.0.0.1:9444), from
// the repository root:
//
//   ISSUES_APP_CONFIG=end2end/config.e2e.json cargo leptos serve --bin-features ssr,dev-idp
//
// then, in end2end/:
//
//   npx playwright test -c screenshots.config.ts
import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

export default defineConfig({
  ...base,
  testDir: "./screenshots",
  // Only the app started by hand above: not the test suite's demo-file instance.
  webServer: undefined,
  reporter: "list",
  outputDir: "test-results/screenshots",
  use: {
    ...base.use,
    viewport: { width: 1200, height: 800 },
    colorScheme: "light",
    screenshot: "off",
    trace: "off",
  },
});
