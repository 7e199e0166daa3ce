// An assistant action's card in the conversation (a message of role "action", see
// chatapp/actions/calls.py): what is being looked up or done, and how it went.
//
// proposed   the customer's go-ahead is needed: a form for missing details (its button runs it),
//            or "Confirm" / "Cancel" for an action declared confirm=True
// running    it takes a moment
// done       its result: one plain sentence and the few facts it found
// failed     a plain sentence saying what went wrong
// cancelled  the customer said no
//
// The team sees the same card read-only, with what it was asked and how long it took. The
// buttons call `onAction({message_id, op, fields})`; the card's new state comes back through the
// conversation's stream, so every open tab agrees.
import { useState } from "react";

const STATUS = { proposed: "Waiting for you", running: "Working on it…", done: "Done",
  failed: "Didn't work", cancelled: "Cancelled" };

function label(key) {
  const words = String(key).replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function shown(value) {
  if (Array.isArray(value)) return value.join(", ");
  if (value === true) return "Yes";
  if (value === false) return "No";
  return value === null || value === undefined ? "—" : String(value);
}

function Facts({ facts, name }) {
  const entries = Object.entries(facts ?? {});
  if (!entries.length) return null;
  return (
    <dl className="action-facts" aria-label={name}>
      {entries.map(([key, value]) => (
        <div key={key}><dt>{label(key)}</dt><dd>{shown(value)}</dd></div>
      ))}
    </dl>
  );
}

function Field({ field, id }) {
  const describedBy = [field.help && `${id}-help`, field.error && `${id}-error`].filter(Boolean).join(" ");
  const common = { id, name: field.name, required: field.required, "aria-invalid": Boolean(field.error),
    "aria-describedby": describedBy || undefined };
  return (
    <div className="action-field">
      <label htmlFor={id}>{field.label}</label>
      {field.type === "select" ? (
        <select {...common} defaultValue={field.value ?? ""}>
          {!field.required && <option value="">—</option>}
          {(field.options ?? []).map((option) => <option key={option} value={option}>{option}</option>)}
        </select>
      ) : field.type === "checkbox" ? (
        <input {...common} type="checkbox" defaultChecked={Boolean(field.value)} />
      ) : (
        <input {...common} type={field.type === "number" ? "number" : "text"} defaultValue={field.value ?? ""}
               placeholder={field.placeholder || undefined} autoComplete="off" maxLength={500} />
      )}
      {field.help && <p id={`${id}-help`} className="action-help">{field.help}</p>}
      {field.error && <p id={`${id}-error`} className="action-error" role="alert">{field.error}</p>}
    </div>
  );
}

function Proposed({ row, card, onAction }) {
  const [busy, setBusy] = useState(false);
  const act = (op, fields = {}) => {
    setBusy(true);
    onAction({ message_id: row.id, op, fields });
    window.setTimeout(() => setBusy(false), 4000);  // the stream moves the card on long before
  };
  if (card.fields?.length) {
    const submit = (event) => {
      event.preventDefault();
      const data = new FormData(event.currentTarget);
      const fields = Object.fromEntries(card.fields.map((f) => [f.name,
        f.type === "checkbox" ? data.get(f.name) === "on" : String(data.get(f.name) ?? "")]));
      act("submit", fields);
    };
    return (
      <form className="action-form" aria-label={card.title} onSubmit={submit}>
        {card.fields.map((field) => <Field key={field.name} field={field} id={`${row.id}-${field.name}`} />)}
        {row.error && !card.fields.some((f) => f.error) && <p className="action-error" role="alert">{row.error}</p>}
        <div className="action-buttons">
          <button type="submit" className="action-go" disabled={busy}>{card.button || "Go"}</button>
          <button type="button" onClick={() => act("cancel")} disabled={busy}>Cancel</button>
        </div>
      </form>
    );
  }
  return (
    <>
      <Facts facts={card.arguments} name="Details" />
      {row.error && <p className="action-error" role="alert">{row.error}</p>}
      <div className="action-buttons">
        <button type="button" className="action-go" onClick={() => act("confirm")} disabled={busy}>Confirm</button>
        <button type="button" onClick={() => act("cancel")} disabled={busy}>Cancel</button>
      </div>
    </>
  );
}

export function ActionCard({ row, viewer, onAction }) {
  const card = row.action ?? {};
  const customer = viewer === "customer";
  const status = row.status;
  return (
    <section className={`action-card action-${status}`} data-role="action" aria-label={card.title || "Action"}>
      <header className="action-head">
        <span className="action-title">{card.title || "Action"}</span>
        <span className="action-status" role="status">{STATUS[status] ?? status}</span>
      </header>
      {status === "proposed" && customer && onAction && <Proposed row={row} card={card} onAction={onAction} />}
      {status === "proposed" && !customer && (
        <p className="action-note">Waiting for the customer{card.confirm ? " to confirm" : " to fill in the details"}.</p>
      )}
      {(status === "running" || (status !== "proposed" && !customer)) && (
        <Facts facts={card.arguments} name="Asked with" />
      )}
      {status === "done" && (
        <>
          {card.summary && <p className="action-summary">{card.summary}</p>}
          <Facts facts={card.result} name="Result" />
        </>
      )}
      {status === "failed" && <p className="action-error">{row.error || "The action could not be completed."}</p>}
      {!customer && card.duration_ms !== null && card.duration_ms !== undefined && (
        <p className="action-note">Ran in {card.duration_ms} ms.</p>
      )}
    </section>
  );
}
