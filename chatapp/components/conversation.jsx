// A conversation on the page: its messages and state, read from the conversation's one stream
// of events (GET /api/conversations/<id>/events), and the composer with its outbox.
//
// Python places these components and hears from them through event-handler props (on_send,
// on_stop, on_retry, on_talk, on_unsent); nothing here is a window global.
//
// The outbox: every message the composer sends is kept in localStorage, under its author's key,
// with its own id, until it shows up in the conversation's stream (stored) or the server refuses
// it. Reflex already queues events while the socket is down and sends them on reconnect; what it
// cannot do is survive a reload, so messages left over from an earlier page are sent again, in
// order. The server stores one message per id, so a resend never makes a copy. Open pages beat a
// heartbeat: a message belongs to its page while that page lives, and to its author only.
import { memo, useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore } from "react";
import { useNavigate } from "react-router";
import { ActionCard } from "./action_card.jsx";
import { ConversationRating, Verdict } from "./feedback.jsx";
import { Markdown } from "./markdown_stream.jsx";
import { useReveal } from "./reveal.js";

const PAGE = Math.random().toString(36).slice(2);
const PAGES = "helpdesk-pages";  // page id -> its last heartbeat (ms)
const ALIVE_MS = 5000;  // a page silent this long has closed (or crashed)
const SHOW_AFTER_MS = 1500;  // a message stored sooner is never shown as waiting
const REOPEN_MS = 3000;  // after the server refused a stream (e.g. too many open), try again

// ---- a tiny store both components read (the outbox, and what the stream says is going on) ----
const subscribers = new Set();
let version = 0;
function changed() {
  version += 1;
  subscribers.forEach((notify) => notify());
}
function subscribe(notify) {
  subscribers.add(notify);
  return () => subscribers.delete(notify);
}
function useStore() {
  return useSyncExternalStore(subscribe, () => version, () => 0);
}
const writing = new Map();  // chat id -> {writing: bool, status: conversation status}
const added = new Set();  // listeners told of each message row the stream adds or changes

export function onMessageAdded(listener) {
  added.add(listener);
  return () => added.delete(listener);
}

function outboxKey(owner) {
  return `helpdesk-outbox:${owner}`;
}

function readJson(key, fallback) {
  try {
    const value = JSON.parse(window.localStorage.getItem(key) || "null");
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

function load(owner) {
  const items = owner ? readJson(outboxKey(owner), []) : [];
  return Array.isArray(items) ? items : [];
}

function save(owner, items) {
  if (items.length) window.localStorage.setItem(outboxKey(owner), JSON.stringify(items));
  else window.localStorage.removeItem(outboxKey(owner));
  changed();
}

function update(owner, id, change) {
  save(owner, load(owner).flatMap((item) => (item.id !== id ? [item] : change(item))));
}

function acknowledge(owner, clientIds) {
  const items = load(owner);
  if (items.some((item) => clientIds.has(item.id))) save(owner, items.filter((item) => !clientIds.has(item.id)));
}

function beat(alive = true) {
  const now = Date.now();
  const pages = Object.fromEntries(Object.entries(readJson(PAGES, {})).filter(([, at]) => now - at < ALIVE_MS));
  if (alive) pages[PAGE] = now;
  else delete pages[PAGE];
  window.localStorage.setItem(PAGES, JSON.stringify(pages));
}

function ownedElsewhere(item) {
  const at = readJson(PAGES, {})[item.page];
  return item.page !== PAGE && at !== undefined && Date.now() - at < ALIVE_MS;
}

function newId() {
  if (window.crypto?.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
  return Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("");
}

if (typeof window !== "undefined") {
  beat();
  window.addEventListener("pagehide", () => beat(false));
  window.addEventListener("storage", (event) => {
    if (event.key?.startsWith("helpdesk-outbox:")) changed();
  });
}

// ---- applying the stream's events: each is idempotent, so a replay shows nothing twice ----
const EMPTY = { messages: [], conversation: null, summary: "", loaded: false, removed: false };

function upsert(messages, row) {
  const at = messages.findIndex((m) => m.id === row.id);
  if (at < 0) return [...messages, row];
  const next = messages.slice();
  next[at] = row;
  return next;
}

function grow(messages, event) {
  const at = messages.findIndex((m) => m.id === event.id);
  const row = at < 0 ? { id: event.id, role: "assistant", content: "", status: "writing", sources: [] }
    : messages[at];
  if (row.status !== "writing") return messages;
  let next = row;
  if (event.at <= row.content.length && event.at + event.text.length > row.content.length) {
    next = { ...row, content: row.content.slice(0, event.at) + event.text };
  }
  if (event.end && !next.ended) next = { ...next, ended: true };  // all of it is here: show it all
  return next === row ? messages : upsert(messages, next);
}

function reduce(state, event) {
  switch (event.type) {
    case "reset": return EMPTY;
    case "snapshot":
      return { messages: event.messages, conversation: event.conversation,
        summary: event.summary ?? state.summary, loaded: true, removed: false };
    case "message": return { ...state, messages: upsert(state.messages, event.message) };
    case "delta": return { ...state, messages: grow(state.messages, event) };
    case "conversation": return { ...state, conversation: event.conversation };
    case "summary": return { ...state, summary: event.text };
    case "removed": return { ...state, removed: true };
    default: return state;
  }
}

// Why a stream was refused: a session that ended (logged out, deactivated) goes to log in;
// anything else (too many open, the server restarting) is tried again in a moment.
export async function refusedBecauseSignedOut(src) {
  const aborter = new AbortController();
  try {
    const response = await fetch(src, { credentials: "include", signal: aborter.signal });
    return response.status === 401 || response.status === 403;
  } catch {
    return false;
  } finally {
    aborter.abort();
  }
}

export function openStream(src, onEvent) {
  let source = null;
  let timer = null;
  let closed = false;
  const open = () => {
    source = new EventSource(src, { withCredentials: true });
    source.onmessage = (message) => onEvent(JSON.parse(message.data));
    source.onerror = async () => {
      // The browser retries a dropped stream by itself; one the server refused stays closed.
      if (source.readyState !== EventSource.CLOSED || closed) return;
      if (await refusedBecauseSignedOut(src)) window.location.assign("/login");
      else if (!closed) timer = setTimeout(open, REOPEN_MS);
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}

function visible(item, ready, now) {
  return item.state === "failed" || !ready || item.page !== PAGE || now - item.at > SHOW_AFTER_MS;
}

// ---- the pieces of a conversation ----
const SIDE = { customer: { user: "mine", agent: "theirs", assistant: "theirs" },
  agent: { user: "theirs", agent: "mine", assistant: "mine" } };

function Sources({ sources }) {
  if (!sources?.length) return null;
  return (
    <div className="message-sources" role="group" aria-label="Sources">
      <span>Sources:</span>
      <ul>
        {sources.map((source) => (
          <li key={source.slug}>
            {source.removed
              ? <span className="source-removed">{source.title} (removed from the help centre)</span>
              : <a href={`/help/${source.slug}`} target={window.self !== window.top ? "_blank" : undefined}
                   rel="noopener">{source.title}</a>}
          </li>
        ))}
      </ul>
    </div>
  );
}

const NO_CARDS = [];

// An answer's text with the cards of the actions it called, each where in the text it was called.
function AnswerText({ text, cards, viewer, onAction }) {
  if (!cards.length) return text !== "" && <Markdown text={text} className="message-text" />;
  const parts = [];
  let from = 0;
  for (const card of cards) {
    const at = Math.min(Math.max(card.action?.offset ?? text.length, from), text.length);
    if (at > from) parts.push(<Markdown key={`t${from}`} text={text.slice(from, at)} className="message-text" />);
    parts.push(<ActionCard key={card.id} row={card} viewer={viewer} onAction={onAction} />);
    from = at;
  }
  if (from < text.length) parts.push(<Markdown key={`t${from}`} text={text.slice(from)} className="message-text" />);
  return parts;
}

const Bubble = memo(function Bubble({ row, viewer, canRetry, canTalk, onRetry, onTalk, onRate, onAction,
                                      cards = NO_CARDS }) {
  const body = useRef(null);
  useReveal(body, row.content, row.status === "writing" && !row.ended);
  if (row.role === "activity") {
    return <p className="message message-activity" data-role="activity">{row.content}</p>;
  }
  if (row.role === "action") return <ActionCard row={row} viewer={viewer} onAction={onAction} />;
  const live = row.status === "writing";
  const classes = ["message", `message-${row.role}`, `message-${SIDE[viewer]?.[row.role] ?? "theirs"}`];
  if (live) classes.push("message-live");
  const failed = row.status === "failed";
  return (
    <div ref={body} className={classes.join(" ")} data-role={row.role} aria-live={live ? "polite" : undefined}>
      {row.role === "agent" && <p className="message-author">{row.author} · Support</p>}
      {row.content === "" && live && !cards.length ? <p className="message-waiting">Thinking…</p>
        : <AnswerText text={row.content} cards={cards} viewer={viewer} onAction={onAction} />}
      <Sources sources={row.sources} />
      {row.status === "stopped" && <p className="message-status">Stopped</p>}
      <Verdict row={row} viewer={viewer} onRate={onRate} />
      {failed && (
        <p className="message-status message-failed">
          {row.content ? "Interrupted" : row.error || "This answer could not be written."}
          {canRetry && <>{" "}<button type="button" onClick={onRetry}>Retry</button></>}
        </p>
      )}
      {row.declined && canTalk && (
        <p className="message-offer">
          A person from our support team can help with this.{" "}
          <button type="button" onClick={onTalk}>Yes, talk to a person</button>
        </p>
      )}
    </div>
  );
});

function Pending({ owner, chatId, ready }) {
  useStore();
  const now = Date.now();
  const items = load(owner).filter((item) => item.chat === chatId && !ownedElsewhere(item)
    && visible(item, ready, now));
  return items.map((item) => (
    <div key={item.id} className="message message-user message-mine message-pending" data-client-id={item.id}>
      <p className="message-text">{item.text}</p>
      {item.state === "failed" ? (
        <p className="message-status">
          Not sent: {item.reason}{" "}
          <button type="button" onClick={() => update(owner, item.id, (it) => [
            { ...it, state: "waiting", page: PAGE, at: Date.now(), sent: false }])}>Retry</button>{" "}
          <button type="button" onClick={() => update(owner, item.id, () => [])}>Delete</button>
        </p>
      ) : (
        <p className="message-status">Waiting to send</p>
      )}
    </div>
  ));
}

// The conversation: its messages as the stream tells them, the outbox's messages waiting to be
// stored, and what the conversation's state means for the customer (the queue, who joined).
export function ConversationView({ src, chatId, draft, path, viewer, owner, ready, onRetry, onTalk, onRate,
                                  onRateConversation, onSolved, onAction }) {
  const [state, dispatch] = useReducer(reduce, EMPTY);
  const navigate = useNavigate();
  const scrolled = useRef(false);
  useEffect(() => {
    dispatch({ type: "reset" });
    scrolled.current = false;
    if (!src) return undefined;
    return openStream(src, (event) => {
      dispatch(event);
      if (event.type === "message") added.forEach((listener) => listener(event.message));
    });
  }, [src]);
  const { messages, conversation } = state;
  const cardsOf = useMemo(() => {  // answer id -> its action cards, in the order they were called
    const answers = new Set(messages.filter((m) => m.role === "assistant").map((m) => m.id));
    const byAnswer = new Map();
    for (const m of messages) {
      const answer = m.role === "action" ? m.action?.answer_id : null;
      if (answer && answers.has(answer)) byAnswer.set(answer, [...(byAnswer.get(answer) ?? []), m]);
    }
    return byAnswer;
  }, [messages]);
  const count = messages.length;
  useEffect(() => {  // a message stored: its outbox copy goes (a delta changes no message's id)
    const ids = new Set(messages.map((m) => m.client_id).filter(Boolean));
    if (ids.size) acknowledge(owner, ids);
  }, [count, owner]);
  useEffect(() => {
    const now = { writing: messages.some((m) => m.status === "writing"), status: conversation?.status ?? "bot",
      count: state.loaded ? messages.length : draft ? 0 : -1 };  // a new chat's stream waits
    const before = writing.get(chatId);
    if (!before || before.writing !== now.writing || before.status !== now.status || before.count !== now.count) {
      writing.set(chatId, now);
      changed();  // the composer and the outbox render again only when this changed, not per delta
    }
    if (draft && messages.length && path && window.location.pathname.replace(/\/$/, "") !== path) {
      // A new chat got its first message: its address, without the page load Reflex runs on
      // every navigation unless the location's state says `fromNotFound`.
      navigate(path, { replace: true, state: { fromNotFound: true } });
    }
    if (state.loaded && !scrolled.current) {
      scrolled.current = true;
      requestAnimationFrame(() => document.getElementById("scroll-anchor")?.scrollIntoView({ block: "end" }));
    }
  }, [messages, conversation, state.loaded, chatId, draft]);
  if (state.removed) return <p className="conversation-gone" role="status">This conversation was deleted.</p>;
  const customer = viewer === "customer";
  const status = conversation?.status ?? "bot";
  const last = messages.filter((m) => m.role === "user").at(-1);
  const answered = last && messages.some((m) => m.client_id === `${last.client_id}:answer`);
  const unanswered = customer && state.loaded && last && !answered && status === "bot"
    && messages.at(-1)?.id === last.id && !(writing.get(chatId)?.writing);
  const lastWord = messages.filter((m) => m.role === "assistant" || m.role === "agent").at(-1);
  const canSolve = customer && onSolved && status !== "closed" && lastWord
    && lastWord.status !== "writing" && messages.at(-1)?.role !== "user";
  return (
    <>
      {!customer && state.summary && (
        <section className="conversation-summary" aria-label="Summary">
          <h2>Summary</h2>
          <Markdown text={state.summary} className="message-text" />
        </section>
      )}
      {state.loaded && messages.length === 0 && customer && (
        <p className="conversation-empty">Ask the support assistant anything about your account.</p>
      )}
      {messages.filter((row) => !(row.role === "action" && cardsOf.has(row.action?.answer_id))).map((row) => (
        <Bubble key={row.id} row={row} viewer={viewer} canRetry={customer && status === "bot"}
                canTalk={customer && status === "bot"} onRetry={onRetry} onTalk={onTalk} onRate={onRate}
                onAction={onAction} cards={cardsOf.get(row.id) ?? NO_CARDS} />
      ))}
      {unanswered && (
        <p className="conversation-notice" role="status">
          This question has no answer: it was interrupted. Press Retry to ask again.{" "}
          <button type="button" onClick={onRetry}>Retry</button>
        </p>
      )}
      <Pending owner={owner} chatId={chatId} ready={ready} />
      {conversation?.notice && (
        <p className={`conversation-state conversation-${status}`} role="status">{conversation.notice}</p>
      )}
      {canSolve && (
        <p className="conversation-solved">
          <button type="button" onClick={onSolved}>This solved my problem</button>
        </p>
      )}
      {customer && onRateConversation && (
        <ConversationRating conversation={conversation} onRate={onRateConversation} />
      )}
    </>
  );
}

// The composer: an uncontrolled text area (typing never round-trips to the server), Enter to send
// and Shift+Enter for a new line, Stop while the assistant writes, and the outbox behind Send.
export function Composer({ chatId, draft, owner, ready, refused, label, sendLabel, placeholder,
                           viewer, suggestion, onSend, onStop, onTalk, onUnsent }) {
  useStore();
  const area = useRef(null);
  const wasReady = useRef(ready);
  const [notice, setNotice] = useState("");
  const live = writing.get(chatId) ?? { writing: false, status: "bot" };
  const customer = viewer === "customer";
  const send = (item) => onSend({ client_id: item.id, chat_id: item.chat, text: item.text });
  const submit = (event) => {
    event.preventDefault();
    const text = area.current.value.trim();
    if (!text) {
      setNotice("Type a message first.");
      return;
    }
    if (!owner) {  // the page has not heard from the server yet: keep the text where it is
      setNotice("Connecting… your message is still here; send it again in a moment.");
      return;
    }
    const item = { id: newId(), text, chat: chatId, draft: Boolean(draft), state: "waiting",
      page: PAGE, at: Date.now(), sent: Boolean(ready) };
    save(owner, [...load(owner), item]);
    area.current.value = "";
    setNotice("");
    if (ready) send(item);
  };
  useEffect(() => {  // the server refused a message: keep it, marked, with the reason
    for (const { client_id: id, reason } of refused ?? []) {
      if (load(owner).some((item) => item.id === id && item.state !== "failed")) {
        update(owner, id, (item) => [{ ...item, state: "failed", reason }]);
        setNotice(reason);
      }
    }
  }, [refused]);
  useEffect(() => {
    // Send, in order: messages typed while offline, retried ones, those left by a page that is
    // gone (a new chat's go to this new chat), and, after a reconnect, every one not yet stored.
    const reconnected = ready && !wasReady.current;
    wasReady.current = ready;
    if (!ready || !owner) return;
    const fresh = draft && writing.get(chatId)?.count === 0;  // a new chat, nothing in it yet
    for (const item of load(owner)) {
      if (ownedElsewhere(item)) continue;
      const orphan = item.page !== PAGE;
      if (orphan && fresh && item.draft && item.chat !== chatId) {  // a new chat's, from a page gone
        update(owner, item.id, (it) => [{ ...it, chat: chatId, page: PAGE, sent: false }]);
        continue;  // sent below, on the render this update causes
      }
      if (item.state === "waiting" && item.chat === chatId && (orphan || !item.sent || reconnected)) {
        const claimed = { ...item, page: PAGE, sent: true, at: Date.now() };
        update(owner, item.id, () => [claimed]);
        send(claimed);
      }
    }
  });
  const unsent = load(owner).length;
  useEffect(() => { onUnsent?.(unsent); }, [unsent]);
  useEffect(() => {
    if (suggestion?.text && area.current) {
      area.current.value = suggestion.text;
      area.current.focus();
    }
  }, [suggestion?.nonce]);
  useEffect(() => {
    const timer = window.setInterval(() => {
      beat();
      changed();
    }, SHOW_AFTER_MS);
    return () => window.clearInterval(timer);
  }, []);
  const keyDown = (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };
  return (
    <form className="composer" id="composer-form" data-owner={owner} onSubmit={submit}>
      {notice && <p className="composer-notice" role="status">{notice}</p>}
      <div className="composer-row">
        <textarea id="composer" ref={area} name="message" aria-label={label} rows={2}
                  placeholder={placeholder} onKeyDown={keyDown} />
        {customer && live.writing ? (
          <button type="button" className="composer-stop" onClick={onStop}>Stop</button>
        ) : (
          // Enabled once the page has heard who is signed in: the outbox keeps messages per user.
          <button type="submit" className="composer-send" disabled={!owner}>{sendLabel}</button>
        )}
      </div>
      {customer && live.status === "bot" && (
        <div className="composer-tools">
          <button type="button" className="composer-person" onClick={onTalk}>Talk to a person</button>
        </div>
      )}
    </form>
  );
}
