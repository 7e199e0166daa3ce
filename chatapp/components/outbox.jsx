// The outbox: every message the composer sends is kept in localStorage, with its own id, until
// the server says it is stored (ack) or refused it (fail). Reflex already queues events while
// the socket is down and sends them on reconnect; what it cannot do is survive a reload, so
// messages left over from an earlier page are sent again here, in order. The server stores
// one message per id, so a resend never makes a copy. Open pages beat a heartbeat in
// localStorage: a message belongs to its page while that page lives (another tab of the same
// user neither shows nor sends it).
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";

const KEY = "helpdesk-outbox";
const PAGE = Math.random().toString(36).slice(2);  // this page load: its messages are in Reflex's queue
const SHOW_AFTER_MS = 1500;  // a message acknowledged sooner is never shown as waiting
const PAGES = "helpdesk-outbox-pages";  // page id -> its last heartbeat (ms)
const ALIVE_MS = 5000;  // a page silent this long has closed (or crashed)
const listeners = new Set();
let navigate = null;  // the router's, once the Outbox is on the page

function load() {
  try {
    const items = JSON.parse(window.localStorage.getItem(KEY) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function save(items) {
  window.localStorage.setItem(KEY, JSON.stringify(items));
  listeners.forEach((listener) => listener());
}

function heartbeats() {
  try {
    return JSON.parse(window.localStorage.getItem(PAGES) || "{}") || {};
  } catch {
    return {};
  }
}

function beat(alive = true) {
  const now = Date.now();
  const pages = Object.fromEntries(Object.entries(heartbeats()).filter(([, at]) => now - at < ALIVE_MS));
  if (alive) pages[PAGE] = now;
  else delete pages[PAGE];
  window.localStorage.setItem(PAGES, JSON.stringify(pages));
}

function ownedElsewhere(item) {
  const at = heartbeats()[item.page];
  return item.page !== PAGE && at !== undefined && Date.now() - at < ALIVE_MS;
}

function update(id, change) {
  save(load().flatMap((item) => (item.id !== id ? [item] : change(item))));
}

export function chatIdOf(path) {
  const match = path.match(/^\/chat\/([^/]+)/);
  return match ? match[1] : "";
}

function newId() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
  return Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("");
}

function send(item) {
  const form = document.getElementById("outbox-form");
  if (!form) return;
  form.elements.message.value = item.text;
  form.elements.client_id.value = item.id;
  form.requestSubmit();
}

function resync() {
  document.getElementById("resync-form")?.requestSubmit();
}

if (typeof window !== "undefined") {
  beat();
  window.addEventListener("pagehide", () => beat(false));
  window.helpdeskOutbox = {
    ack: (id) => update(id, () => []),
    fail: (id, reason) => update(id, (item) => [{ ...item, state: "failed", reason }]),
    // A new thread got its address: change the URL through the router (a reconnecting page
    // reports the router's location), without the page load Reflex runs on every navigation
    // unless the location's state says `fromNotFound`: the thread is already on the page.
    moved: (path) => navigate ? navigate(path, { replace: true, state: { fromNotFound: true } })
      : window.location.replace(path),
  };
  // Runs before Reflex reads the form: give the message its id and keep it.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "composer-form") return;
    const text = form.elements.message.value.trim();
    if (!text) return;
    const id = newId();
    form.elements.client_id.value = id;
    const chat = chatIdOf(window.location.pathname);
    save([...load(), { id, text, chat, state: "waiting", page: PAGE, at: Date.now() }]);
    window.helpdeskLive?.followEarly(id);
  }, true);
}

function visible(item, ready, now) {
  return item.state === "failed" || !ready || item.page !== PAGE || now - item.at > SHOW_AFTER_MS;
}

// Shows this thread's unsent messages, and sends those left over from an earlier page once
// the socket is connected and no answer is being written.
export function Outbox({ chatId, ready, busy }) {
  const [, setVersion] = useState(0);
  const [wasReady, setWasReady] = useState(ready);
  navigate = useNavigate();
  useEffect(() => {
    const listener = () => setVersion((v) => v + 1);
    listeners.add(listener);
    const timer = window.setInterval(() => {
      beat();
      listener();
    }, SHOW_AFTER_MS);
    return () => {
      listeners.delete(listener);
      window.clearInterval(timer);
    };
  }, []);
  useEffect(() => {
    if (ready && !wasReady) resync();  // back online: show what happened meanwhile
    setWasReady(ready);
    if (!ready || busy) return;
    const leftover = load().find((item) => item.chat === (chatId || "") && item.state === "waiting"
      && item.page !== PAGE && !ownedElsewhere(item));
    if (leftover) {
      update(leftover.id, (item) => [{ ...item, page: PAGE, at: Date.now() }]);
      send(leftover);
    }
  });
  const now = Date.now();
  const items = load().filter((item) => item.chat === (chatId || "") && !ownedElsewhere(item)
    && visible(item, ready, now));
  return items.map((item) => (
    <div key={item.id} className="message message-user message-pending" data-client-id={item.id}>
      <p className="message-text">{item.text}</p>
      {item.state === "failed" ? (
        <p className="message-status">
          Not sent: {item.reason}{" "}
          <button type="button" onClick={() => {
            update(item.id, (it) => [{ ...it, state: "waiting", page: PAGE, at: Date.now() }]);
            send(item);
          }}>Retry</button>{" "}
          <button type="button" onClick={() => update(item.id, () => [])}>Delete</button>
        </p>
      ) : (
        <p className="message-status">Waiting to send</p>
      )}
    </div>
  ));
}
