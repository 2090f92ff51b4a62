// The SMS simulator: messages go out through /simulator/send; later ones (answers, reminders) come from the outbox.
"use strict";
const thread = document.getElementById("thread");
const body = document.getElementById("body");
function makeBubble(text, cls, meta) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.textContent = text;
  if (meta) { const m = document.createElement("span"); m.className = "meta"; m.textContent = meta; div.appendChild(m); }
  return div;
}
function bubble(text, cls, meta) {
  thread.appendChild(makeBubble(text, cls, meta));
  thread.scrollTop = thread.scrollHeight;
}
body.addEventListener("input", () => { document.getElementById("count").textContent = body.value.length + " chars"; });
body.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("compose").requestSubmit(); } });
// Messages typed in quick succession go out one after another, as a phone sends them: the hotline must read
// СТОП before the ПОСОБИЕ typed after it. A phone's history is loaded in the same queue, before anything typed
// after choosing it is sent, so a slow history never shows a message twice.
let sending = Promise.resolve();
// Which phone's thread is shown (bumped when another is chosen): an answer or a history that comes back for the
// phone shown before is not drawn into this one (its own history shows it when it is chosen again).
let generation = 0;
const sender = () => document.getElementById("sender").value;
document.getElementById("compose").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = body.value, from = sender(), shown = generation;
  bubble(text, "out");
  body.value = "";
  body.dispatchEvent(new Event("input"));
  sending = sending.then(() => deliver(text, from, shown));
});
async function deliver(text, from, shown) {
  try {
    const res = await fetch("simulator/send", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({sender: from, body: text, channel: document.getElementById("channel").value})});
    const data = await res.json();
    if (shown !== generation) return;
    if (!res.ok) { bubble(data.error || JSON.stringify(data.detail), "in error"); return; }
    if (data.note) bubble(data.note, "in error");
    for (const r of data.replies) bubble(r.text, "in", "via " + r.channel + ", " + r.units + " chars, " + r.encoding + ", " + r.segments + " SMS");
  } catch (err) { bubble("Network error: " + err, "in error"); }
}
// Messages the hotline sends later (officers' answers, reminders) arrive through the outbox: poll it.
const seen = new Set();
function pushedMeta(m) { return m.purpose + " via outbox on " + m.channel + ", " + m.status + ", " + m.segments + " SMS"; }
async function pollOutbox() {
  const shown = generation;
  try {
    const res = await fetch("simulator/outbox?sender=" + encodeURIComponent(sender()));
    const data = await res.json();
    if (shown !== generation) return;
    for (const m of data.messages) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      bubble(m.text, "in pushed", pushedMeta(m));
    }
  } catch (err) { /* the next poll tries again */ }
}
// On opening (or another phone): the phone's thread so far, so what came while the page was closed is there. It
// goes above anything typed meanwhile (which waits for it in the queue, so is not in it).
async function loadHistory(shown) {
  try {
    const res = await fetch("simulator/history?sender=" + encodeURIComponent(sender()));
    const data = await res.json();
    if (shown !== generation) return;
    const earlier = document.createDocumentFragment();
    for (const m of data.messages) {
      if (m.from_phone) earlier.appendChild(makeBubble(m.text, "out"));
      else if (m.outbox) {
        if (seen.has(m.id)) continue;  // a poll already showed it
        seen.add(m.id);
        earlier.appendChild(makeBubble(m.text, "in pushed", pushedMeta(m)));
      }
      else earlier.appendChild(makeBubble(m.text, "in", "via " + m.channel + ", " + m.encoding + ", " + m.segments + " SMS"));
    }
    thread.prepend(earlier);
    thread.scrollTop = thread.scrollHeight;
  } catch (err) { if (shown === generation) bubble("Network error: " + err, "in error"); }
  await pollOutbox();
}
function showPhone() {
  generation += 1;
  const shown = generation;
  seen.clear();
  thread.replaceChildren();
  sending = sending.then(() => loadHistory(shown));
  return sending;
}
document.getElementById("sender").addEventListener("change", showPhone);
showPhone().then(() => setInterval(pollOutbox, 3000));
