// TokenSource.getToken() on a warm cache, answered in JavaScript: a call
// into the WebAssembly module costs more than the rest of a cached call.
// The module decides everything: after each change of its cache it writes
// `{until, promise}` (the time in Unix milliseconds before which its own
// getToken() would return the cached tokens, and the promise it would
// return) into an object that this wrapper reads. A call with options, or
// past `until`, goes to the module.
import { TokenSource } from "./grantkit.js";

const inModule = TokenSource.prototype.getToken;
// Each source's {until, promise} object, found once (a WeakMap, so that a
// frozen source works too).
const slots = new WeakMap();

Object.defineProperty(TokenSource.prototype, "getToken", {
  configurable: true,
  writable: true,
  value: function getToken(options) {
    if (options === undefined) {
      const fresh = slots.get(this);
      if (fresh !== undefined && Date.now() < fresh.until) return fresh.promise;
    }
    const promise = inModule.call(this, options);
    if (!slots.has(this)) slots.set(this, this.__grantkitFresh);
    return promise;
  },
});
