// The page moves with changes made elsewhere: while someone who may view issues is signed in
// (the page shows the bell), one stream of changes (`GET /live`, server-sent events) tells
// this page what changed, never the content (the page reads that with its own authorised
// calls). One tab of the browser holds the stream and passes it on to the others. The board reads its list again; the issue page its issue, and its thread and history
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

  // Reading again on someone else's change is a call that counts as use of the session: only
  // while the person is here (they did something in the last five minutes), so an unattended
  // tab lets the session end. Changes that arrive meanwhile wait for them.
  const PRESENT_MS = 5 * 60 * 1000;
  let lastActivity = Date.now();
  let waiting = false;
  for (const kind of ["pointerdown", "keydown", "wheel", "touchstart", "focus"]) {
    window.addEventListener(kind, () => {
      lastActivity = Date.now();
      if (waiting) {
        waiting = false;
        if (timer === null) timer = setTimeout(settle, 0);
      }
    }, { passive: true, capture: true });
  }

  let pending = [];
  let timer = null;
  const settle = () => {
    if (Date.now() - lastActivity > PRESENT_MS || document.hidden) {
      timer = null;
      waiting = true;
      return;
    }
    timer = null;
    const changes = pending.length > 0 ? pending : [{ issue: issueHere(), kind: "resync", by: "" }];
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
    if (timer === null && !waiting) timer = setTimeout(settle, SETTLE_MS);
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && waiting && Date.now() - lastActivity <= PRESENT_MS) {
      waiting = false;
      if (timer === null) timer = setTimeout(settle, 0);
    }
  });

  // What the stream says, from this tab's own stream or another tab's (one stream per browser:
  // it holds one of the few connections a browser opens to a server).
  const said = (kind, data) => {
    if (kind === "ready") document.documentElement.setAttribute("data-live", "on");
    else if (kind === "closed") document.documentElement.setAttribute("data-live", "off");
    else if (kind === "change") {
      try {
        arrived(JSON.parse(data));
      } catch (_) {
        // Not a change this script knows: nothing to do.
      }
    } else if (kind === "resync") {
      // Fell behind: read everything again.
      arrived({ issue: issueHere(), kind: "resync", by: "" });
      unread().catch(() => {});
    } else if (kind === "inbox") unread().catch(() => {}); // told something: the bell asks again
  };

  let stream = null;
  const open = (channel) => {
    stream = new EventSource("/live");
    for (const kind of ["ready", "change", "resync", "inbox"]) {
      stream.addEventListener(kind, (event) => {
        said(kind, event.data);
        if (channel) channel.postMessage({ kind, data: event.data });
      });
    }
    stream.addEventListener("error", () => {
      said("closed");
      if (channel) channel.postMessage({ kind: "closed" });
    });
  };

  const start = () => {
    if (!document.getElementById("bell") || typeof EventSource !== "function") return;
    if (!("locks" in navigator) || typeof BroadcastChannel !== "function") return open(null);
    // The tab holding the lock keeps the stream and passes on what it says; the others listen,
    // and one of them takes over when it goes.
    const channel = new BroadcastChannel("issues-app-live");
    channel.onmessage = (message) => said(message.data.kind, message.data.data);
    document.documentElement.setAttribute("data-live", "on");
    navigator.locks.request("issues-app-live", () => new Promise((release) => {
      open(channel);
      window.addEventListener("pagehide", () => {
        stream.close();
        release();
      }, { once: true });
    }));
  };
  window.addEventListener("pageshow", (event) => {
    // Back from the back-forward cache: its stream was closed when the page was left.
    if (event.persisted) start();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
