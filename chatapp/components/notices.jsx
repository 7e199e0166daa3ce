// Short notices from the server ("Your rating could not be saved…") as toasts. Reflex's own
// rx.toast is an event the page evaluates as a string of JavaScript, which the app's
// Content-Security-Policy (no 'unsafe-eval') refuses; this shows the same sonner toast from a
// state var instead. A notice already there when the page mounts (a reload) is not shown again.
import { useEffect, useRef } from "react";
import { toast } from "sonner";

export function Notices({ notice }) {
  const seen = useRef(notice?.id ?? 0);
  useEffect(() => {
    if (!notice?.id || notice.id === seen.current) return;
    seen.current = notice.id;
    (notice.level === "success" ? toast.success : toast.error)(notice.text, { id: `notice-${notice.id}` });
  }, [notice?.id]);
  return null;
}
