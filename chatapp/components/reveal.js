// The live answer revealed at the display's frame rate, word by word. The server sends the text
// in a few compressed pieces (about one every assistant.FLUSH_SECONDS); showing each piece at
// once would make it jump, and rendering the Markdown again on every frame costs the browser
// more than the whole answer otherwise does. So each piece is rendered once, as it arrives, and
// its words not yet revealed are painted transparent through the CSS Custom Highlight API: a
// frame moves one range, with no React render and no layout (the room the words take is
// already there). Never more than has arrived; the first words show the moment they arrive,
// and everything at once when the answer stops being live, when the reader prefers reduced
// motion, or where the browser has no highlights.
//
// `data-unrevealed` on the bubble counts the characters still hidden, for bench/stream_browser.py.
import { useEffect, useLayoutEffect, useRef } from "react";

const SPREAD_MS = 100;  // each piece is revealed over about the time until the next one
const WORD = /\s*\S+/g;
const HIDDEN = typeof window !== "undefined" && window.CSS?.highlights && typeof Highlight === "function"
  ? new Highlight() : null;
if (HIDDEN) window.CSS.highlights.set("helpdesk-unrevealed", HIDDEN);

function reducedMotion() {
  return window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
}

// The end of the whole words from `from` that make at least `chars` characters.
function advance(text, from, chars) {
  let end = from;
  while (end < text.length && end - from < chars) {
    WORD.lastIndex = end;
    end = WORD.exec(text) ? WORD.lastIndex : text.length;
  }
  return end;
}

// The answer's rendered text nodes, in order (an action's card inside it is not the answer's).
function textNodes(root) {
  const nodes = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest(".message-text") && !node.parentElement.closest(".action-card")
      ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT),
  });
  while (walker.nextNode()) nodes.push(walker.currentNode);
  return nodes;
}

export function useReveal(ref, text, live) {
  const state = useRef({ shown: -1, range: null, frame: 0 });
  const hide = (root, nodes, total) => {  // everything after `shown` transparent
    const s = state.current;
    let at = s.shown;
    const node = nodes.find((n) => (at <= n.length ? true : ((at -= n.length), false)));
    if (!node || s.shown >= total) {
      if (s.range) HIDDEN.delete(s.range);
      s.range = null;
      root.removeAttribute("data-unrevealed");
      return;
    }
    s.range = s.range ?? new Range();
    s.range.setStart(node, at);
    const last = nodes[nodes.length - 1];
    s.range.setEnd(last, last.length);
    HIDDEN.add(s.range);
    root.dataset.unrevealed = String(total - s.shown);
  };
  useLayoutEffect(() => {  // before the browser paints the piece that just arrived
    const s = state.current;
    const root = ref.current;
    cancelAnimationFrame(s.frame);
    if (!HIDDEN || !root || !live || reducedMotion()) {
      if (root && s.shown >= 0) hide(root, [], 0);
      s.shown = -1;
      return undefined;
    }
    const nodes = textNodes(root);
    const content = nodes.map((n) => n.data).join("");
    if (s.shown <= 0) s.shown = advance(content, 0, 1);  // the first word at once
    hide(root, nodes, content.length);
    let last = performance.now();
    const tick = (now) => {
      const backlog = content.length - s.shown;
      s.shown = advance(content, s.shown, Math.ceil(backlog * Math.min(1, (now - last) / SPREAD_MS)));
      last = now;
      hide(root, nodes, content.length);
      if (s.shown < content.length) s.frame = requestAnimationFrame(tick);
    };
    if (s.shown < content.length) s.frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(s.frame);
  }, [text, live]);
  useEffect(() => () => {
    if (state.current.range) HIDDEN?.delete(state.current.range);
  }, []);
}
