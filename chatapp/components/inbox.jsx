// The team's queue, read from the team's stream (GET /api/inbox/events): a snapshot of the
// conversations people are involved in, then each change as one small event. Everything is live
// with no reload: a new handoff appears in Waiting, a customer's new message marks its row
// unread and moves it up, another agent's assignment shows at once. The tab's title shows how
// many are waiting. Rows are links (/inbox?c=<id>), so the open conversation is in the address.
import { memo, useEffect, useReducer, useRef, useState } from "react";
import { Link } from "react-router";
import { openStream } from "./conversation.jsx";

const VIEWS = [["waiting", "Waiting"], ["mine", "Mine"], ["open", "All open"], ["closed", "Closed"]];
const TICK_MS = 30000;  // "waiting 4 min" stays roughly right without re-rendering every second

function reduce(state, event) {
  switch (event.type) {
    case "snapshot":
      return { rows: new Map(event.rows.map((row) => [row.id, row])), team: event.team, loaded: true };
    case "queue": {
      const rows = new Map(state.rows);
      rows.set(event.row.id, event.row);
      return { ...state, rows };
    }
    case "removed": {
      const rows = new Map(state.rows);
      rows.delete(event.id);
      return { ...state, rows };
    }
    case "team": return { ...state, team: event.team };
    default: return state;
  }
}

// Open while the page lives; reopened with `away=1` while the page is hidden, so the rest of
// the team sees this agent as away (the stream marks presence).
function useTeamStream(src, dispatch) {
  useEffect(() => {
    if (!src) return undefined;
    let hidden = document.hidden;
    const url = () => (hidden ? `${src}?away=1` : src);
    let stop = openStream(url(), dispatch);
    const visibility = () => {
      if (document.hidden === hidden) return;
      hidden = document.hidden;
      stop();
      stop = openStream(url(), dispatch);
    };
    document.addEventListener("visibilitychange", visibility);
    return () => {
      document.removeEventListener("visibilitychange", visibility);
      stop();
    };
  }, [src]);
}

function since(ms, now) {
  const minutes = Math.max(0, Math.round((now - ms) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} d`;
}

// Memoised: a queue event replaces one row's object, so only that row renders again (with a
// thousand rows, re-rendering every router link on each event cost ~60 ms a handoff).
const Row = memo(function Row({ row, current, now }) {
  const waiting = row.status === "waiting" && row.waiting_since;
  return (
    <li className={`queue-row${current ? " queue-selected" : ""}${row.unread ? " queue-unread" : ""}`}>
      <Link to={`/inbox?c=${row.id}`} aria-current={current ? "page" : undefined}>
        <span className="queue-name">
          <span className="queue-customer">{row.customer || "Customer"}</span>
          {row.guest && <span className="queue-guest">Guest</span>}
          {row.unread && <span className="queue-new">New</span>}
        </span>
        <span className="queue-time">
          {waiting ? `waiting ${since(row.waiting_since, now)}` : since(row.updated, now)}
        </span>
        <span className="queue-title">{row.title}</span>
        {row.email && <span className="queue-email">{row.email}</span>}
        <span className="queue-preview">{row.preview}</span>
        {row.status === "assigned" && <span className="queue-assignee">{row.assignee_name}</span>}
      </Link>
    </li>
  );
});

export function Queue({ src, me, selected, query, results, onChange }) {
  const [state, dispatch] = useReducer(reduce, { rows: new Map(), team: [], loaded: false });
  const [view, setView] = useState("waiting");
  const [now, setNow] = useState(Date.now());
  const seen = useRef("");
  useTeamStream(src, dispatch);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(timer);
  }, []);
  const rows = [...state.rows.values()];
  const newest = (a, b) => b.updated - a.updated;
  const lists = {
    waiting: rows.filter((r) => r.status === "waiting").sort((a, b) => a.waiting_since - b.waiting_since),
    mine: rows.filter((r) => r.status === "assigned" && r.assignee === me).sort(newest),
    open: rows.filter((r) => r.status === "waiting" || r.status === "assigned").sort(newest),
    closed: rows.filter((r) => r.status === "closed").sort(newest),
  };
  const waiting = lists.waiting.length;
  useEffect(() => {
    document.title = waiting ? `(${waiting}) Inbox · Helpdesk` : "Inbox · Helpdesk";
  });
  const open = selected ? state.rows.get(selected) : null;
  const openKey = open ? `${open.status}|${open.assignee}|${open.updated}` : "";
  useEffect(() => {  // the open conversation changed elsewhere: Python reads it again
    if (openKey && seen.current && openKey !== seen.current) onChange?.(open);
    seen.current = openKey;
  }, [openKey]);
  const shown = query ? results ?? [] : lists[view];
  return (
    <div className="queue">
      <ul className="queue-team" aria-label="Team">
        {state.team.map((member) => (
          <li key={member.id} className={`presence presence-${member.presence}`}>
            <span className="presence-dot" aria-hidden="true" />
            {member.name}<span className="visually-hidden">, {member.presence}</span>
          </li>
        ))}
      </ul>
      {!query && (
        <div className="queue-views" role="tablist" aria-label="Views">
          {VIEWS.map(([key, label]) => (
            <button key={key} type="button" role="tab" aria-selected={view === key}
                    className="queue-view" onClick={() => setView(key)}>
              {label} <span className="queue-count">{lists[key].length}</span>
            </button>
          ))}
        </div>
      )}
      {query && <p className="queue-results">Results for “{query}”</p>}
      <ul className="queue-list" aria-label="Conversations">
        {shown.map((row) => <Row key={row.id} row={row} current={row.id === selected} now={now} />)}
      </ul>
      {state.loaded && shown.length === 0 && (
        <p className="queue-empty">{query ? "No conversation matches." : "Nothing here."}</p>
      )}
    </div>
  );
}
