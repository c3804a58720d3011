// Small DOM helpers. Text always goes in as text nodes (never as HTML), so
// what a server sent cannot become markup.

/** An element with properties (or `aria-*` / `data-*` attributes) and children (strings become text). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith("aria-") || name.startsWith("data-") || name === "for" || name === "role") element.setAttribute(name, value === true ? "" : value);
    else element[name] = value;
  }
  element.append(...children.flat().filter((child) => child !== undefined && child !== null && child !== false));
  return element;
}

export const byId = (id) => document.getElementById(id);

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((child) => child !== undefined && child !== null && child !== false));
}

/**
 * A button that copies `text()` to the clipboard and says so next to itself
 * for a moment (the text itself is never shown or logged).
 */
export function copyButton(label, text) {
  const note = h("span", { className: "copied", role: "status" });
  const button = h("button", { type: "button" }, label);
  button.addEventListener("click", () => wireCopy(text, note));
  return [button, note];
}

/** Copies and reports into `note` (a status element). */
async function wireCopy(text, note) {
  try {
    await navigator.clipboard.writeText(text());
    note.textContent = "Copied";
  } catch {
    note.textContent = "The browser refused the clipboard";
  }
  setTimeout(() => { note.textContent = ""; }, 2000);
}

/** "1 h 2 min 3 s" for a number of seconds (>= 0). */
export function duration(seconds) {
  const parts = [];
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (hours) parts.push(`${hours} h`);
  if (hours || minutes) parts.push(`${minutes} min`);
  parts.push(`${seconds % 60} s`);
  return parts.join(" ");
}
