// Keyboard shortcuts, in plain JavaScript so the WASM does not grow for them (loaded with
// `defer` from the page's <head>; the Content-Security-Policy allows scripts from this origin).
//
//   c      new issue (where the page offers it: the header's "New issue" link)
//   /      the board's search field
//   j / k  the next / previous issue on the board (its link takes the focus: Enter opens it)
//   ?      the list of shortcuts (Escape closes it: the dialog does that itself)
//
// Off while the focus is in a field (input, textarea, select, contenteditable) and with Ctrl,
// Meta or Alt held, so typing and the browser's own shortcuts are untouched. What a shortcut
// did is said in the polite live region #shortcut-status, for screen readers.
(function () {
  "use strict";

  var ROW = "#issue-list > li.issue";
  var CURRENT = "shortcut-current";

  function say(text) {
    var status = document.getElementById("shortcut-status");
    if (!status) return;
    // A new text node each time: the same words twice are still announced.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = text;
    }, 50);
  }

  function typing(target) {
    if (!target || target.nodeType !== 1) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function helpOpen() {
    var help = document.getElementById("shortcuts-help");
    return !!(help && help.open);
  }

  function openHelp() {
    var help = document.getElementById("shortcuts-help");
    if (!help || help.open || typeof help.showModal !== "function") return false;
    // The dialog announces itself (its role and title) as the focus moves into it; the live
    // region, outside it, is inert while it is open.
    help.showModal();
    return true;
  }

  function newIssue() {
    var link = document.getElementById("new-issue-link");
    if (!link) return false;
    say("New issue");
    window.location.assign(link.getAttribute("href") || "/issues/new");
    return true;
  }

  function search() {
    var field = document.getElementById("filter-q");
    if (!field) return false;
    field.focus();
    if (typeof field.select === "function") field.select();
    say("Search the issues");
    return true;
  }

  // Moves the highlight `step` rows (1: next, -1: previous) and focuses that row's link.
  function move(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll(ROW));
    if (rows.length === 0) return false;
    var at = -1;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].classList.contains(CURRENT) || rows[i].contains(document.activeElement)) {
        at = i;
        break;
      }
    }
    var next = at === -1 ? (step > 0 ? 0 : rows.length - 1) : at + step;
    if (next < 0 || next >= rows.length) {
      say(step > 0 ? "Last issue on this page" : "First issue on this page");
      return true;
    }
    rows.forEach(function (row) {
      row.classList.remove(CURRENT);
    });
    var row = rows[next];
    row.classList.add(CURRENT);
    var link = row.querySelector('.issue-title a[href^="/issues/"]') || row.querySelector("a[href]");
    if (link) {
      link.focus();
      if (typeof row.scrollIntoView === "function") row.scrollIntoView({ block: "nearest" });
    }
    var title = link ? link.textContent.trim() : "";
    say("Issue " + (next + 1) + " of " + rows.length + (title ? ": " + title : ""));
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typing(event.target)) return;
    // The open list takes its own keys (Escape closes it, Tab moves within it).
    if (helpOpen()) return;
    var done = false;
    switch (event.key) {
      case "c":
        done = newIssue();
        break;
      case "/":
        done = search();
        break;
      case "j":
        done = move(1);
        break;
      case "k":
        done = move(-1);
        break;
      case "?":
        done = openHelp();
        break;
      default:
        return;
    }
    if (done) event.preventDefault();
  });

  // The highlight follows the focus: leaving the list (by Tab or a click) clears it.
  document.addEventListener("focusin", function (event) {
    var current = document.querySelector(ROW + "." + CURRENT);
    if (current && !current.contains(event.target)) current.classList.remove(CURRENT);
  });

  // `close` does not bubble: caught on its way down (by Escape, or the list's Close button).
  document.addEventListener(
    "close",
    function (event) {
      if (event.target && event.target.id === "shortcuts-help") say("Shortcuts closed");
    },
    true
  );
})();
