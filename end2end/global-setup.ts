// cargo-leptos starts the server and Playwright at the same moment: wait until the app (and
// its embedded IdP) answers before any test runs.
export default async function globalSetup() {
  const url = "http://127.0.0.1:3000/readyz";
  const deadline = Date.now() + 180_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the app did not become ready at ${url}: ${last}`);
}
