/*! Helpdesk chat widget loader. Plain JS, no build step, no dependencies.
 *
 * The one line for your site (every data- attribute is optional; the config from your
 * Helpdesk supplies the defaults):
 *
 *   <script src="https://help.example.com/widget.js" async data-position="right"
 *     data-accent="#4f46e5" data-greeting="Questions? We're here." data-open="false"></script>
 *
 *   data-position  "right" (default) or "left"
 *   data-accent    launcher colour, any CSS colour
 *   data-greeting  the bubble beside the launcher ("" for none)
 *   data-open      "true" opens the chat as soon as the launcher appears
 *   data-preload   when the chat itself loads: by default when the visitor points at, touches
 *                  or focuses the launcher (so a click opens it at once), or at idle if they
 *                  have a conversation with your team open (so replies raise the unread
 *                  badge); "idle" always at idle; "false" only on a click
 *
 * Calls made before the script has loaded: put this stub first; the calls are queued and
 * replayed in order when widget.js runs (Helpdesk.q.push keeps working afterwards):
 *
 *   <script>
 *     window.Helpdesk = window.Helpdesk || {q: []};
 *     Helpdesk.q.push(["identify", {user_id: "42", email: "ana@example.com", name: "Ana",
 *                                   user_hash: "<HMAC from your server>"}]);
 *     Helpdesk.q.push(["on", "unread", function (e) { console.log(e.count); }]);
 *   </script>
 *
 * API, on window.Helpdesk (the only global it adds): open(), close(), toggle(),
 * identify({user_id, email, name, user_hash}), on(event, fn), off(event, fn); events
 * "ready", "opened", "closed", "unread" (fn receives {count}).
 *
 * It waits for the page's load event and an idle moment, then asks the Helpdesk's
 * /api/widget/config whether this site's origin is allowed (with the chat's own partitioned
 * cookie, which only the Helpdesk can read): if not, it shows nothing and one console.warn says
 * why. A Content-Security-Policy on your site must allow the Helpdesk origin
 * in script-src, connect-src and frame-src; nothing else (no inline styles or HTML strings, so
 * neither style-src 'unsafe-inline' nor a Trusted Types policy).
 */
(() => {
  "use strict";
  const w = window;
  const d = document;
  const script = d.currentScript || d.querySelector('script[src$="/widget.js"]');
  let api = w.Helpdesk;
  if (api && api.version) return; // included twice: the first copy does the work
  const warn = (text) => console.warn("Helpdesk widget: " + text);
  if (!script || !script.src) return warn("cannot find its own <script> tag; not shown.");

  const origin = new URL(script.src).origin;
  const data = script.dataset;
  const handlers = { ready: [], opened: [], closed: [], unread: [] };
  const FIELDS = ["user_id", "email", "name", "user_hash"];
  let wantOpen = data.open === "true"; // the open state asked for before the launcher exists
  let ui = null; // {host, wrap, launcher, badge, greeting} once mounted
  let frame = null;
  let ready = false;
  let isOpen = false;
  let identity = null;
  let unread = 0;
  let focusOnReady = false; // opened with focus before the frame was ready

  const report = (error) => (w.reportError ? w.reportError(error) : setTimeout(() => { throw error; }));
  const emit = (type, detail) => {
    for (const fn of handlers[type].slice()) {
      try { fn(detail); } catch (error) { report(error); }
    }
  };
  const post = (message) => {
    if (ready && frame.contentWindow) frame.contentWindow.postMessage({ helpdesk: 1, ...message }, origin);
  };

  const focusIsOurs = () => !d.activeElement || d.activeElement === d.body || d.activeElement === ui.host;
  const focusFrame = () => { // into the chat's document; one not ready yet gets focus when it is
    focusOnReady = !ready;
    if (ready) frame.contentWindow.focus();
  };
  // After the page's load event, in an idle period long enough for a few milliseconds of work
  // (after 20 short ones, or `timeout` ms without any, in the next one).
  const whenIdle = (fn, timeout) => {
    let tries = 0;
    const run = (deadline) => {
      if (deadline && !deadline.didTimeout && deadline.timeRemaining() < 8 && ++tries < 20) idle();
      else fn();
    };
    const idle = () => (w.requestIdleCallback ? requestIdleCallback(run, timeout && { timeout }) : setTimeout(run, 50));
    if (d.readyState === "complete") idle();
    else w.addEventListener("load", idle, { once: true });
  };
  const onKey = (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) setOpen(false);
  };

  function setOpen(open, focus) {
    if (!ui) { wantOpen = open; return; }
    if (open === isOpen) {
      if (open && focus) focusFrame();
      return;
    }
    isOpen = open;
    if (open) {
      ensureFrame();
      ui.greeting.hidden = true;
    }
    ui.wrap.classList.toggle("open", open);
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      d.addEventListener("keydown", onKey);
      if (focus) focusFrame();
    } else {
      focusOnReady = false;
      d.removeEventListener("keydown", onKey);
      if (focusIsOurs()) ui.launcher.focus(); // focus in the chat (or nowhere) goes back to the launcher
    }
    post({ type: open ? "opened" : "closed" });
    emit(open ? "opened" : "closed");
  }

  function setUnread(value) {
    const count = Math.max(0, Math.floor(Number(value))) || 0;
    if (count === unread) return;
    unread = count;
    ui.badge.textContent = count > 99 ? "99+" : String(count);
    ui.badge.setAttribute("aria-label", count + (count === 1 ? " unread message" : " unread messages"));
    ui.badge.hidden = !count;
    emit("unread", { count });
  }

  function onMessage(event) {
    const message = event.data;
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    if (!message || message.helpdesk !== 1) return;
    if (message.type === "ready") {
      ready = true;
      if (identity) post({ type: "identify", ...identity });
      post({ type: isOpen ? "opened" : "closed" });
      if (focusOnReady && isOpen && focusIsOurs()) focusFrame(); // unless the user went elsewhere
      emit("ready");
    } else if (message.type === "close") {
      setOpen(false);
    } else if (message.type === "unread") {
      setUnread(message.count);
    }
  }

  function ensureFrame() {
    if (frame || !ui) return;
    frame = d.createElement("iframe");
    frame.title = "Support chat";
    frame.setAttribute("allow", "clipboard-write");
    frame.src = origin + "/widget/?host=" + encodeURIComponent(location.origin);
    w.addEventListener("message", onMessage);
    ui.wrap.prepend(frame);
  }

  const methods = {
    open: () => setOpen(true, true),
    close: () => setOpen(false),
    toggle: () => setOpen(!(ui ? isOpen : wantOpen), true),
    identify(user) {
      if (!user || typeof user !== "object") return warn("identify() expects {user_id, email, name, user_hash}.");
      identity = {};
      for (const key of FIELDS) if (user[key] != null) identity[key] = String(user[key]);
      post({ type: "identify", ...identity });
    },
    on(type, fn) {
      const list = handlers[type];
      if (!list || typeof fn !== "function") return warn('on() expects "ready", "opened", "closed" or "unread" and a function.');
      if (!list.includes(fn)) list.push(fn);
      if (type === "ready" && ready) queueMicrotask(() => list.includes(fn) && fn());
    },
    off(type, fn) {
      const list = handlers[type];
      if (list && list.includes(fn)) list.splice(list.indexOf(fn), 1);
    },
  };
  const call = (entry) => {
    const [name, ...args] = typeof entry === "string" ? [entry] : Array.from(entry || []);
    if (Object.hasOwn(methods, name)) methods[name](...args);
    else warn("unknown call " + JSON.stringify(name) + " in Helpdesk.q.");
  };

  if (!api || typeof api !== "object" || api.nodeType) api = {};
  const queued = Array.isArray(api.q) ? api.q.slice() : [];
  Object.assign(api, methods, { version: "1", q: { push: (...entries) => { entries.forEach(call); return 0; } } });
  w.Helpdesk = api;
  queued.forEach(call);

  // ---- the launcher, in a shadow root: the page's CSS cannot reach in, ours cannot leak out.
  const STYLE = `
:host{all:initial!important;display:block!important;position:fixed!important;top:0!important;left:0!important;
width:0!important;height:0!important;z-index:2147483000!important;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif!important;color:#1f2937!important}
*{box-sizing:border-box}
[hidden]{display:none!important}
.l{position:fixed;right:20px;bottom:calc(20px + env(safe-area-inset-bottom));width:56px;height:56px;margin:0;padding:0;border:0;
border-radius:50%;background:var(--a);color:var(--f);cursor:pointer;display:flex;align-items:center;justify-content:center;
box-shadow:0 4px 14px rgba(0,0,0,.28);transition:transform .15s;-webkit-tap-highlight-color:transparent}
.l:hover{transform:scale(1.06)}
.l:focus-visible{outline:3px solid var(--a);outline-offset:3px}
.l svg{width:28px;height:28px;fill:currentColor}
.l .x{display:none;fill:none;stroke:currentColor;stroke-width:2.4;stroke-linecap:round}
.open .l .x{display:block}
.open .l .c,.open .b,.open .g{display:none}
.b{position:fixed;right:14px;bottom:calc(58px + env(safe-area-inset-bottom));min-width:22px;height:22px;padding:0 6px;
border:2px solid #fff;border-radius:11px;background:#d92d20;color:#fff;font:700 12px/18px system-ui,sans-serif;text-align:center;pointer-events:none}
.g{position:fixed;right:88px;bottom:calc(28px + env(safe-area-inset-bottom));max-width:min(280px,calc(100vw - 120px));margin:0;
padding:10px 40px 10px 14px;border-radius:14px;background:#fff;box-shadow:0 4px 18px rgba(0,0,0,.18);cursor:pointer}
.g button{position:absolute;top:4px;right:4px;width:32px;height:32px;margin:0;padding:0;border:0;border-radius:50%;
background:none;color:inherit;font:20px/1 system-ui,sans-serif;cursor:pointer}
.g button:focus-visible{outline:2px solid var(--a)}
iframe{position:fixed;right:20px;bottom:calc(88px + env(safe-area-inset-bottom));width:380px;height:600px;
max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);max-height:calc(100dvh - 108px);margin:0;padding:0;border:0;
border-radius:16px;background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.3);visibility:hidden;opacity:0;transform:translateY(12px);
transition:opacity .18s,transform .18s,visibility 0s .18s}
.open iframe{visibility:visible;opacity:1;transform:none;transition-delay:0s}
.left .l,.left iframe{right:auto;left:20px}
.left .b{right:auto;left:62px}
.left .g{right:auto;left:88px}
@media (max-width:480px){
.open iframe{top:0;right:0;bottom:0;left:0;width:100vw;height:100vh;height:100dvh;max-width:none;max-height:none;border-radius:0;
padding:env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left);box-shadow:none;transform:none}
.open .l,.g{display:none}}
@media (prefers-color-scheme:dark){.g{background:#1f2937;color:#f9fafb;box-shadow:0 0 0 1px rgba(255,255,255,.14),0 4px 18px rgba(0,0,0,.5)}
iframe{background:#111827;box-shadow:0 0 0 1px rgba(255,255,255,.16),0 12px 40px rgba(0,0,0,.65)}.b{border-color:#1f2937}}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
@media print{:host{display:none!important}}`;

  const element = (tag, attributes, ...children) => {
    const node = d.createElement(tag);
    for (const key in attributes) node.setAttribute(key, attributes[key]);
    node.append(...children);
    return node;
  };
  const icon = (name, path) => {
    const ns = "http://www.w3.org/2000/svg";
    const svg = d.createElementNS(ns, "svg");
    const shape = d.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", name);
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  };
  const textOn = (color) => { // dark icon on a light accent, white otherwise
    const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!hex) return "#fff";
    const h = hex[1].length === 3 ? hex[1].replace(/./g, "$&$&") : hex[1];
    const [r, g, b] = [0, 2, 4].map((i) => {
      const c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? "#111" : "#fff";
  };

  function mount(config) {
    const host = d.createElement("helpdesk-widget");
    const root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets && w.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(element("style", {}, STYLE));
    }
    let accent = data.accent || config.accent;
    if (!accent || (w.CSS && !CSS.supports("color", accent))) accent = "#4f46e5";
    const greetingText = data.greeting != null ? data.greeting : config.greeting || "";
    const left = (data.position || config.position) === "left";

    const launcher = element("button", { type: "button", "aria-label": "Chat with us", "aria-expanded": "false" },
      icon("c", "M5 3h14a3 3 0 0 1 3 3v9a3 3 0 0 1-3 3h-7l-5 4v-4H5a3 3 0 0 1-3-3V6a3 3 0 0 1 3-3z"),
      icon("x", "M6 6l12 12M18 6L6 18"));
    launcher.className = "l";
    const badge = element("span", { role: "img", id: "b", hidden: "" });
    badge.className = "b";
    launcher.setAttribute("aria-describedby", "b");
    const dismiss = element("button", { type: "button", "aria-label": "Dismiss" }, "\u00d7");
    const greeting = element("p", {}, greetingText, dismiss);
    greeting.className = "g";
    greeting.hidden = !greetingText;
    const wrap = element("div", {}, greeting, launcher, badge);
    wrap.className = left ? "w left" : "w";
    wrap.style.setProperty("--a", accent);
    wrap.style.setProperty("--f", textOn(accent));
    root.append(wrap);

    launcher.addEventListener("click", () => setOpen(!isOpen, true));
    greeting.addEventListener("click", (event) => {
      if (event.target === dismiss) greeting.hidden = true;
      else setOpen(true, true);
    });
    ui = { host, wrap, launcher, badge, greeting };
    d.body.append(host);
    if (wantOpen) setOpen(true, false);
    if (data.preload === "idle" || (data.preload !== "false" && config.resume === true)) whenIdle(ensureFrame);
    else if (data.preload !== "false") {
      for (const type of ["pointerenter", "touchstart", "focusin"]) {
        for (const target of [launcher, greeting]) target.addEventListener(type, ensureFrame, { once: true, passive: true });
      }
    }
  }

  // ---- the config check, once the page has loaded and is idle (the first fetch() in a page
  // costs milliseconds of main thread); the launcher appears only if this site is allowed.
  const url = origin + "/api/widget/config";
  whenIdle(() => fetch(url, { credentials: "include", mode: "cors" })
    .then(async (response) => [response.status, await response.json().catch(() => null)])
    .then(([status, config]) => {
      if (config && config.allowed === true) mount(config);
      else if (config && config.allowed === false) {
        warn(location.origin + " is not allowed to show this chat; add it to WIDGET_ALLOWED_ORIGINS on " + origin + ".");
      } else warn("unexpected answer from " + url + " (HTTP " + status + "); not shown.");
    }, (error) => warn("could not load " + url + " (" + error.message + "); not shown.")), 3000);
})();
