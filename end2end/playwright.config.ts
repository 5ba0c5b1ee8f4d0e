import { defineConfig, devices } from "@playwright/test";

// Browsers cannot be downloaded on these machines: drive Debian's Chromium.
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  globalSetup: "./global-setup.ts",
  // A second instance on the original demo's config.json (only `create` and `view` named; see
  // tests/demo-file.spec.ts), beside the one cargo-leptos serves on :3000. cargo-leptos builds
  // before it runs Playwright, so the binary is there; it must run from the repository root
  // (Leptos.toml, target/site), and the paths in the config are relative to the config file.
  webServer: [
    {
      name: "demo-file",
      command: "target/debug/issues-app --config end2end/config.demo.json",
      cwd: "..",
      url: "http://127.0.0.1:3002/readyz",
      reuseExistingServer: false,
      timeout: 180_000,
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
      env: {
        // Its own address, database and keys, whatever the shell exported for the other one
        // (empty means unset to the app).
        LEPTOS_SITE_ADDR: "127.0.0.1:3002",
        ISSUES_APP_DATABASE_URL: "",
        ISSUES_APP_SESSION_KEY: "",
        ISSUES_APP_CLIENT_SECRET: "",
      },
    },
    {
      // A real SMTP server (aiosmtpd from PyPI, installed by scripts/setup --test) that keeps
      // what config.e2e.json's Notifications.Smtp sends in .data/mail (a Maildir).
      name: "mail",
      command: "mkdir -p .data && exec ../target/python/bin/python -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox .data/mail",
      port: 2525,
      reuseExistingServer: false,
      timeout: 60_000,
    },
  ],
  reporter: [["list"], ["./summary-reporter.ts"]],
  outputDir: "test-results",
  use: {
    baseURL: "http://127.0.0.1:3000",
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    ...devices["Desktop Chrome"],
    launchOptions: {
      executablePath: chromium,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
