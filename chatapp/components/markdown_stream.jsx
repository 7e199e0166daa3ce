// Chat text rendering: Markdown split into blocks, and long paragraphs into sentence groups,
// each memoised, so a growing answer re-parses only its tail.
import { Fragment, memo } from "react";
import ReactMarkdown from "react-markdown";
import remarkGfm from "remark-gfm";

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
