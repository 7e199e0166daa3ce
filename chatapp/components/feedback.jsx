// The customer's verdicts inside a conversation: "Helpful" / "Not helpful" under each finished
// answer (with reasons on a thumbs down), "This solved my problem", and the 1-5 rating of a
// closed conversation. The team sees the customer's verdicts, read-only. What is shown comes
// from the conversation's stream, so every open tab agrees.
import { useState } from "react";

export const REASONS = [["wrong", "Wrong"], ["unanswered", "Didn't answer my question"],
  ["unclear", "Not clear"]];
const LABELS = Object.fromEntries([...REASONS, ["other", "Other"]]);
const SCORES = [[1, "Very poor"], [2, "Poor"], [3, "OK"], [4, "Good"], [5, "Excellent"]];

function Thumb({ down }) {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true" className={down ? "thumb thumb-down" : "thumb"}>
      <path d="M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18.7 10H14V5.5A2.5 2.5 0 0 0 11.5 3L9 10v11z" />
    </svg>
  );
}

export function Verdict({ row, viewer, onRate }) {
  const rating = row.feedback?.rating ?? null;
  const [open, setOpen] = useState(false);
  const [reasons, setReasons] = useState([]);
  const [comment, setComment] = useState("");
  if (row.role !== "assistant" || !["complete", "stopped"].includes(row.status)) return null;
  if (viewer !== "customer") {
    if (!rating) return null;
    const why = (row.feedback.reasons || []).map((r) => LABELS[r] ?? r).join(", ");
    return (
      <p className={`message-verdict-note verdict-${rating}`}>
        {rating === "up" ? "The customer found this helpful."
          : `The customer found this not helpful${why ? `: ${why}` : ""}.`}
      </p>
    );
  }
  const rate = (value, extra) => onRate({ message_id: row.id, rating: value, reasons: [], comment: "", ...extra });
  const toggle = (reason) => setReasons((now) => now.includes(reason) ? now.filter((r) => r !== reason) : [...now, reason]);
  return (
    <div className="message-verdict">
      <button type="button" aria-label="Helpful" title="Helpful" aria-pressed={rating === "up"}
              onClick={() => { setOpen(false); rate(rating === "up" ? null : "up"); }}>
        <Thumb />
      </button>
      <button type="button" aria-label="Not helpful" title="Not helpful" aria-pressed={rating === "down"}
              aria-expanded={open}
              onClick={() => {
                if (rating === "down") { setOpen(false); rate(null); } else { setOpen(true); rate("down"); }
              }}>
        <Thumb down />
      </button>
      {open && rating === "down" && (
        <form className="verdict-reasons" aria-label="What was wrong with this answer?"
              onSubmit={(event) => {
                event.preventDefault();
                rate("down", { reasons, comment: comment.trim() });
                setOpen(false);
              }}>
          <fieldset>
            <legend>What was wrong? (optional)</legend>
            {REASONS.map(([value, label]) => (
              <label key={value}>
                <input type="checkbox" checked={reasons.includes(value)} onChange={() => toggle(value)} /> {label}
              </label>
            ))}
          </fieldset>
          <label className="verdict-comment">
            Tell us more
            <input type="text" value={comment} maxLength={500} onChange={(event) => setComment(event.target.value)} />
          </label>
          <button type="submit">Send feedback</button>
        </form>
      )}
    </div>
  );
}

export function ConversationRating({ conversation, onRate }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState("");
  const [editing, setEditing] = useState(false);
  if (conversation?.status !== "closed") return null;
  if (conversation.csat && !editing) {
    return (
      <p className="conversation-rated" role="status">
        You rated this conversation {conversation.csat} out of 5. Thank you!{" "}
        <button type="button" onClick={() => { setScore(conversation.csat); setEditing(true); }}>Change</button>
      </p>
    );
  }
  return (
    <form className="conversation-rating" aria-label="Rate this conversation"
          onSubmit={(event) => {
            event.preventDefault();
            if (!score) return;
            onRate({ score, comment: comment.trim() });
            setEditing(false);
          }}>
      <fieldset>
        <legend>How did we do?</legend>
        <div className="rating-scores">
          {SCORES.map(([value, label]) => (
            <label key={value}>
              <input type="radio" name="csat" value={value} checked={score === value}
                     onChange={() => setScore(value)} />
              <span>{value}</span> <small>{label}</small>
            </label>
          ))}
        </div>
      </fieldset>
      <label className="rating-comment">
        Anything to add? (optional)
        <textarea value={comment} maxLength={1000} rows={2} onChange={(event) => setComment(event.target.value)} />
      </label>
      <button type="submit" disabled={!score}>Send rating</button>
    </form>
  );
}
