// The exchange trace: each HTTP exchange grantkit reports through
// `onExchange` (masked at the source by the core), in order, with its curl
// command and a copy button.
import { RELAY_HEADER } from "./relay.js";
import { byId, copyButton, fill, h } from "./dom.js";

const list = byId("trace");
const empty = byId("trace-empty");

export function clearTrace() {
  fill(list);
  empty.hidden = false;
}

/** True when the relay carried this exchange (its answer has the relay's mark). */
function relayed(exchange) {
  return exchange.responseHeaders.some(([name]) => name.toLowerCase() === RELAY_HEADER);
}

/** Appends one exchange; returns its list item. */
export function addExchange(exchange) {
  empty.hidden = true;
  const number = list.children.length + 1;
  const error = oauthErrorOf(exchange);
  const outcome = exchange.status === undefined
    ? h("span", { className: "status-bad" }, `no response: ${exchange.error ?? "unknown"}`)
    : h("span", { className: exchange.status < 400 ? "status-ok" : "status-bad" }, `HTTP ${exchange.status}`, error ? ` ${error}` : "");
  const item = h(
    "li",
    { className: "exchange", "data-label": exchange.label },
    h(
      "h3",
      {},
      `${number}. ${exchange.label}`,
      relayed(exchange) ? h("span", { className: "badge relay" }, "via the relay") : undefined,
    ),
    h("p", { className: "summary" }, h("code", {}, `${exchange.method} ${exchange.url}`), " → ", outcome, ` in ${Math.round(exchange.durationMs)} ms`),
    h("details", {}, h("summary", {}, "Request"), h("pre", { className: "request" }, message(exchange.requestHeaders, exchange.requestBody))),
    exchange.status === undefined
      ? undefined
      : h("details", {}, h("summary", {}, "Response"), h("pre", { className: "response" }, message(exchange.responseHeaders, exchange.responseBody))),
    h("pre", { className: "curl" }, h("code", {}, exchange.curl)),
    copyButton("Copy curl command", () => exchange.curl),
  );
  list.append(item);
  return item;
}

/** The OAuth error code of an error answer ("invalid_client", "authorization_pending"), if it has one. */
export function oauthErrorOf(exchange) {
  if (!(exchange.status >= 400)) return undefined;
  try {
    const { error } = JSON.parse(exchange.responseBody ?? "");
    return typeof error === "string" ? error : undefined;
  } catch {
    return undefined;
  }
}

/** Headers one per line, a blank line, the body (when there is one). */
function message(headers, body) {
  const lines = headers.map(([name, value]) => `${name}: ${value}`);
  if (body !== undefined && body !== "") lines.push("", body);
  return lines.join("\n");
}
