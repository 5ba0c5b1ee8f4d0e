// The page moves with changes made elsewhere: while someone who may view issues is signed in
// (the page shows the bell), one stream of changes (`GET /live`, server-sent events) tells
// this page what changed, never the content (the page reads that with its own authorised
// calls). The board reads its list again; the issue page its issue, and its thread and history
// unless the reader is inside them; the bell its count when the stream says this person was
// told something. Plain script, not WASM: it works the
// same on every page, and the islands only listen for `issues-app:board-changed` and
// `issues-app:issue-changed` on `window`.
(() => {
  "use strict";
  // Changes that arrive together are taken together: one read for a burst.
  const SETTLE_MS = 150;

  const issueHere = () => {
    const match = /^\/issues\/(\d+)$/.exec(location.pathname);
    return match ? Number(match[1]) : null;
  };
  const me = () => (document.getElementById("user-name") || {}).textContent || "";

  // Polite: a screen reader hears "John commented" when it is quiet.
  const announce = (text) => {
    let status = document.getElementById("live-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "live-status";
      status.className = "live-status";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      const main = document.getElementById("main");
      if (!main) return;
      main.prepend(status);
    }
    status.textContent = text;
  };

  const what = (change) => {
    switch (change.kind) {
      case "issue.created": return "created this issue";
      case "issue.deleted": return "deleted this issue";
      case "issue.restored": return "restored this issue";
      case "comment.created": return "commented";
      case "comment.updated": return "changed a comment";
      case "comment.deleted": return "deleted a comment";
      default: return "edited this issue";
    }
  };

  const unread = async () => {
    const bell = document.getElementById("bell");
    if (!bell) return;
    const answer = await fetch("/api/unread_notifications", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: "",
      credentials: "same-origin",
    });
    if (!answer.ok) return;
    const count = Number(await answer.json());
    const badge = document.getElementById("bell-count");
    const text = count > 99 ? "99+" : String(count);
    badge.textContent = count > 0 ? text : "";
    badge.hidden = count === 0;
    bell.setAttribute("aria-label", count > 0 ? `Notifications, ${text} unread` : "Notifications");
  };

  // The server-drawn parts of the issue page (thread and history) as the server draws them
  // now, unless the reader is in the middle of them (a comment being edited keeps its words).
  const redraw = async () => {
    const regions = ["comments", "history"]
      .map((id) => document.getElementById(id))
      .filter((region) => region && !region.contains(document.activeElement) && !region.querySelector("details[open]"));
    if (regions.length === 0) return;
    const answer = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const region of regions) {
      const now = fresh.getElementById(region.id);
      if (now) region.replaceChildren(...Array.from(now.childNodes, (node) => document.importNode(node, true)));
    }
    const empty = document.getElementById("no-comments");
    if (empty && !fresh.getElementById("no-comments")) empty.remove();
  };

  let pending = [];
  let timer = null;
  const settle = () => {
    timer = null;
    const changes = pending;
    pending = [];
    const here = issueHere();
    window.dispatchEvent(new Event("issues-app:board-changed"));
    // This issue, changed by someone else (a change of one's own is on the page already, and
    // reading the issue again would reset a form being filled in).
    const others = changes.filter((change) => change.issue === here && change.by !== me());
    if (here !== null && others.length > 0) {
      window.dispatchEvent(new Event("issues-app:issue-changed"));
      redraw().catch(() => {});
      const last = others[others.length - 1];
      if (last.kind !== "resync") announce(`${last.by} ${what(last)} just now`);
    }
  };
  const arrived = (change) => {
    pending.push(change);
    if (timer === null) timer = setTimeout(settle, SETTLE_MS);
  };

  const start = () => {
    if (!document.getElementById("bell") || typeof EventSource !== "function") return;
    const stream = new EventSource("/live");
    stream.addEventListener("ready", () => document.documentElement.setAttribute("data-live", "on"));
    stream.addEventListener("change", (event) => {
      try {
        arrived(JSON.parse(event.data));
      } catch (_) {
        // Not a change this script knows: nothing to do.
      }
    });
    // Fell behind: read everything again.
    stream.addEventListener("resync", () => {
      arrived({ issue: issueHere(), kind: "resync", by: "" });
      unread().catch(() => {});
    });
    // This person was told something: the bell asks again.
    stream.addEventListener("inbox", () => unread().catch(() => {}));
    stream.addEventListener("error", () => document.documentElement.setAttribute("data-live", "off"));
    window.addEventListener("pagehide", () => stream.close());
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
