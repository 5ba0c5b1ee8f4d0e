// @mentions as people type: in a text area marked `data-mentions`, `@` and the start of a
// name offer the people who have signed in (the page's `<datalist id="mention-names">`).
// Arrow keys move, Enter or Tab takes one, Escape closes. Plain script, not WASM: the page's
// islands stay small, and without it a mention is simply typed in full.
(() => {
  "use strict";
  const MAX = 8;
  let list = null; // the open suggestions: { box, area, start, items, index }

  const names = () => {
    const source = document.getElementById("mention-names");
    return source ? Array.from(source.options, (option) => option.value) : [];
  };

  // The `@word` being typed before the caret, if any: where its `@` is and what follows it.
  const typed = (area) => {
    const caret = area.selectionStart;
    const before = area.value.slice(0, caret);
    const at = before.lastIndexOf("@");
    // The character before the `@`, whole (an emoji or a CJK extension is two UTF-16 units).
    const previous = at > 0 ? String.fromCodePoint(before.codePointAt(at - 1 - (/[\uDC00-\uDFFF]/.test(before[at - 1]) ? 1 : 0))) : "";
    if (at < 0 || /[\p{L}\p{N}]/u.test(previous)) return null;
    const word = before.slice(at + 1);
    if (word.length > 40 || /\n/.test(word)) return null;
    return { start: at, word };
  };

  const close = () => {
    if (!list) return;
    list.area.removeAttribute("aria-activedescendant");
    list.box.remove();
    list = null;
  };

  const take = (name) => {
    const { area, start } = list;
    const caret = area.selectionStart;
    const text = `@${name} `;
    area.value = area.value.slice(0, start) + text + area.value.slice(caret);
    area.selectionStart = area.selectionEnd = start + text.length;
    close();
    // The island's signal follows the text area's input events.
    area.dispatchEvent(new Event("input", { bubbles: true }));
    area.focus();
  };

  const mark = (index) => {
    list.index = index;
    list.items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    list.area.setAttribute("aria-activedescendant", list.items[index].id);
  };

  const open = (area) => {
    const found = typed(area);
    if (!found) return close();
    const word = found.word.toLowerCase();
    // A whole name followed by a space is written: Enter starts a new line again.
    if (/\s$/.test(word) && names().some((name) => name.toLowerCase() === word.trim())) return close();
    const matches = names()
      .filter((name) => name.toLowerCase().split(/\s+/).some((part) => part.startsWith(word))
        || name.toLowerCase().startsWith(word))
      .slice(0, MAX);
    close();
    if (matches.length === 0) return;
    const box = document.createElement("ul");
    box.id = "mention-list";
    box.className = "mention-list";
    box.setAttribute("role", "listbox");
    box.setAttribute("aria-label", "People to mention");
    const items = matches.map((name, i) => {
      const item = document.createElement("li");
      item.id = `mention-option-${i}`;
      item.setAttribute("role", "option");
      item.textContent = name;
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        take(name);
      });
      box.appendChild(item);
      return item;
    });
    area.insertAdjacentElement("afterend", box);
    area.setAttribute("aria-controls", box.id);
    list = { box, area, start: found.start, items, index: 0 };
    mark(0);
  };

  document.addEventListener("input", (event) => {
    const area = event.target;
    if (area instanceof HTMLTextAreaElement && area.hasAttribute("data-mentions") && event.isTrusted) open(area);
  });

  document.addEventListener("keydown", (event) => {
    // Keys that compose a character (an input method's Enter) are not ours.
    if (!list || event.target !== list.area || event.isComposing) return;
    const last = list.items.length - 1;
    if (event.key === "ArrowDown") mark(list.index === last ? 0 : list.index + 1);
    else if (event.key === "ArrowUp") mark(list.index === 0 ? last : list.index - 1);
    else if (event.key === "Enter" || event.key === "Tab") take(list.items[list.index].textContent);
    else if (event.key === "Escape") close();
    else return;
    event.preventDefault();
  });

  document.addEventListener("focusout", (event) => {
    if (list && event.target === list.area) close();
  });
})();
