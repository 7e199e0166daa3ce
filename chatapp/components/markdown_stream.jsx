// Chat text rendering: Markdown split into blocks so a growing answer re-parses only its last
// block, and the live answer read from /api/chats/<id>/live (server-sent events of new text).
import { Fragment, memo, useEffect, useState } from "react";
import ReactMarkdown from "react-markdown";
import remarkGfm from "remark-gfm";
import { getBackendURL } from "$/utils/state";

const plugins = [remarkGfm];
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

// Blocks end at a blank line outside fenced code that is followed by an unindented line, so
// list items, continuation paragraphs and code stay whole.
export function splitBlocks(text) {
  const lines = text.split("\n");
  const blocks = [];
  let current = [];
  let fence = null;
  lines.forEach((line, i) => {
    const marker = line.match(FENCE);
    if (marker && (fence === null || marker[1][0] === fence)) {
      fence = fence === null ? marker[1][0] : null;
    }
    const next = lines[i + 1];
    const boundary = fence === null && line.trim() === "" && current.length > 0
      && next !== undefined && next !== "" && !/^\s/.test(next);
    if (boundary) {
      blocks.push(current.join("\n"));
      current = [];
    } else {
      current.push(line);
    }
  });
  if (current.length > 0) blocks.push(current.join("\n"));
  return blocks;
}

// A paragraph of plain prose (no block syntax) can be parsed a sentence-group at a time.
const BLOCK_SYNTAX = /^(\s{4}|\s{0,3}([#>|*+=-]|\d+[.)]|`{3}|~{3}))/m;
const SEGMENT = 240;

function balanced(text) {
  const count = (ch) => text.split(ch).length - 1;
  return count("`") % 2 === 0 && count("*") % 2 === 0 && count("_") % 2 === 0
    && count("[") === count("]") && count("(") === count(")") && !text.includes("<");
}

// Cut a long paragraph after sentence ends, into pieces with no open inline markup, so a
// growing paragraph re-parses only its last piece instead of everything written so far.
export function splitSentences(paragraph) {
  const segments = [];
  let start = 0;
  const ends = /[.!?] (?=\p{L})/gu;  // one space, then a letter: never starts block syntax
  let match;
  while ((match = ends.exec(paragraph)) !== null) {
    const end = match.index + 1;
    const piece = paragraph.slice(start, end);
    if (piece.length >= SEGMENT && balanced(piece)) {
      segments.push(piece);
      start = ends.lastIndex;
    }
  }
  segments.push(paragraph.slice(start));
  return segments;
}

// Raw HTML is never rendered (no rehype-raw): a <script> in chat text shows as text.
const Block = memo(function Block({ text }) {
  return <ReactMarkdown remarkPlugins={plugins}>{text}</ReactMarkdown>;
});

const Inline = memo(function Inline({ text }) {
  return (
    <ReactMarkdown remarkPlugins={plugins} disallowedElements={["p"]} unwrapDisallowed>
      {text}
    </ReactMarkdown>
  );
});

function Paragraph({ text }) {
  const segments = splitSentences(text);
  return (
    <p>
      {segments.map((segment, i) => (
        <Fragment key={i}>{i > 0 ? " " : null}<Inline text={segment} /></Fragment>
      ))}
    </p>
  );
}

export const Markdown = memo(function Markdown({ text, className }) {
  const blocks = splitBlocks(text || "");
  return (
    <div className={className}>
      {blocks.map((block, i) => (BLOCK_SYNTAX.test(block) || block.length < SEGMENT * 2
        ? <Block key={i} text={block} />
        : <Paragraph key={i} text={block} />))}
    </div>
  );
});

function openStream(url, onText) {
  const source = new EventSource(url, { withCredentials: true });
  let received = "";
  source.onmessage = (event) => {
    received += JSON.parse(event.data);
    onText(received);
  };
  source.addEventListener("done", () => source.close());
  return source;
}

// The stream opened as a question is sent (outbox.jsx calls this), before the page knows the
// thread or the message: the answer's first words find it already connected.
let early = null;

export function followEarly(clientId) {
  early?.source.close();
  const stream = { id: clientId, text: "", listener: null };
  stream.source = openStream(`${getBackendURL().origin}/api/live/${clientId}`, (text) => {
    stream.text = text;
    stream.listener?.(text);
  });
  early = stream;
}

if (typeof window !== "undefined") window.helpdeskLive = { followEarly };

// Follows one answer while it is written: takes over the stream opened when its question was
// sent (`c` in src names that question), or opens its own. EventSource reconnects on its own
// and resumes from the last offset it saw. The stored message replaces this component.
export function LiveAnswer({ src, className, waiting }) {
  const [text, setText] = useState("");
  useEffect(() => {
    setText("");
    if (!src) return undefined;
    const clientId = new URL(src, window.location.href).searchParams.get("c");
    if (early && early.id === clientId
        && (early.text || early.source.readyState !== EventSource.CLOSED)) {
      const stream = early;
      early = null;
      setText(stream.text);
      stream.listener = setText;
      return () => stream.source.close();
    }
    const source = openStream(src, setText);
    return () => source.close();
  }, [src]);
  if (text === "") return <p className="message-waiting">{waiting}</p>;
  return <Markdown text={text} className={className} />;
}

// The messages added in this tab since the thread was opened. The server sends each one once
// (`helpdeskTurns.add`), tagged with the opening (`view`) it belongs to; opening a thread again
// starts a new view, and rows of older views are dropped.
let turnRows = [];
const turnListeners = new Set();

if (typeof window !== "undefined") {
  window.helpdeskTurns = {
    add(view, row) {
      if (turnRows.some((r) => r.view === view && r.id === row.id)) return;
      turnRows = [...turnRows.filter((r) => r.view >= view), { ...row, view }];
      turnListeners.forEach((listener) => listener());
    },
  };
}

const Bubble = memo(function Bubble({ row }) {
  const user = row.role === "user";
  return (
    <div className={`message message-turn ${user ? "message-user" : "message-assistant"}`}
         data-role={row.role}>
      <Markdown text={row.content} className="message-text" />
      {row.sources.length > 0 && (
        <div className="message-sources" role="group" aria-label="Sources">
          <span>Sources:</span>
          <ul>
            {row.sources.map((source) => (
              <li key={source.slug}><a href={`/help/${source.slug}`}>{source.title}</a></li>
            ))}
          </ul>
        </div>
      )}
      {row.status === "stopped" && <p className="message-status">Stopped</p>}
      {row.status === "failed" && <p className="message-status message-failed">Interrupted</p>}
    </div>
  );
});

export function Turns({ view }) {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((v) => v + 1);
    turnListeners.add(listener);
    return () => turnListeners.delete(listener);
  }, []);
  return turnRows.filter((row) => row.view === view).map((row) => <Bubble key={row.id} row={row} />);
}
