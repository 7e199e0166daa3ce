// The chat widget's side of the website: the page inside the iframe (/widget) talks to the
// loader on the host page (assets/widget.js) with window.postMessage, and only with it: the
// host's origin is named in the address (?host=), checked against the sites allowed to embed
// the widget and against the frame's real ancestor, and every message is checked for that
// origin and for coming from the parent window.
//
//   frame -> host: {type: "ready"}, {type: "close"}, {type: "unread", count}
//   host -> frame: {type: "identify", user_id, email, name, user_hash}, {type: "opened"},
//                  {type: "closed"}
import { useEffect, useRef } from "react";
import { onMessageAdded } from "./conversation.jsx";

const FROM = 1;  // the `helpdesk` marker on every message of the contract

function hostOf(allowed) {
  const host = new URLSearchParams(window.location.search).get("host") || "";
  const ancestor = window.location.ancestorOrigins?.[0];
  if (window.parent === window || !allowed.includes(host)) return "";
  if (ancestor && ancestor !== host) return "";
  return host;
}

export function WidgetBridge({ allowed, ready, identifyUrl }) {
  const host = useRef("");
  const open = useRef(false);
  const unread = useRef(0);
  const identity = useRef("");
  const post = (message) => {
    if (host.current) window.parent.postMessage({ helpdesk: FROM, ...message }, host.current);
  };
  useEffect(() => {
    host.current = hostOf(allowed || []);
    if (!host.current) return undefined;
    const identify = async (data) => {
      const key = JSON.stringify([data.user_id, data.user_hash]);
      if (key === identity.current) return;
      identity.current = key;
      const response = await fetch(identifyUrl, {
        method: "POST", credentials: "include", headers: { "Content-Type": "application/json",
          "X-Helpdesk-Widget": "1" },
        body: JSON.stringify({ user_id: data.user_id ?? "", email: data.email ?? "",
          name: data.name ?? "", user_hash: data.user_hash ?? "" }),
      }).catch(() => null);
      const body = await response?.json().catch(() => ({}));
      if (body?.changed) window.location.reload();  // the socket must carry the new session
    };
    const listen = (event) => {
      if (event.origin !== host.current || event.source !== window.parent) return;
      const data = event.data;
      if (!data || data.helpdesk !== FROM) return;
      if (data.type === "identify") identify(data);
      if (data.type === "opened") {
        open.current = true;
        unread.current = 0;
        post({ type: "unread", count: 0 });
      }
      if (data.type === "closed") open.current = false;
    };
    const escape = (event) => {
      if (event.key === "Escape") post({ type: "close" });
    };
    window.addEventListener("message", listen);
    window.addEventListener("keydown", escape);
    const stop = onMessageAdded((row) => {  // answers and replies while the chat is closed
      if (open.current || !["assistant", "agent"].includes(row.role) || row.status === "writing") return;
      unread.current += 1;
      post({ type: "unread", count: unread.current });
    });
    return () => {
      window.removeEventListener("message", listen);
      window.removeEventListener("keydown", escape);
      stop();
    };
  }, [allowed]);
  useEffect(() => {
    if (ready && host.current) post({ type: "ready" });
  }, [ready]);
  return (
    <button type="button" className="widget-close" aria-label="Close chat"
            onClick={() => post({ type: "close" })}>×</button>
  );
}

// A visitor with no session yet (the widget, or /chat with guests allowed): ask for a guest's
// session once, then load again, so the page's socket carries it.
export function GuestSession({ need, url }) {
  useEffect(() => {
    if (!need) return;
    fetch(url, { method: "POST", credentials: "include", headers: { "X-Helpdesk-Widget": "1" } })
      .then((response) => response.json())
      .then((body) => { if (body.changed) window.location.reload(); })
      .catch(() => {});
  }, [need]);
  return need ? <p className="conversation-empty" role="status">Connecting…</p> : null;
}
