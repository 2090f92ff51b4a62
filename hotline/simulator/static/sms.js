// The SMS simulator: messages go out through /simulator/send; later ones (answers, reminders) come from the outbox.
"use strict";
const thread = document.getElementById("thread");
const body = document.getElementById("body");
function bubble(text, cls, meta) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  div.textContent = text;
  if (meta) { const m = document.createElement("span"); m.className = "meta"; m.textContent = meta; div.appendChild(m); }
  thread.appendChild(div);
  thread.scrollTop = thread.scrollHeight;
}
body.addEventListener("input", () => { document.getElementById("count").textContent = body.value.length + " chars"; });
body.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("compose").requestSubmit(); } });
// Messages typed in quick succession go out one after another, as a phone sends them: the hotline must read
// СТОП before the ПОСОБИЕ typed after it.
let sending = Promise.resolve();
document.getElementById("compose").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = body.value;
  bubble(text, "out");
  body.value = "";
  body.dispatchEvent(new Event("input"));
  sending = sending.then(() => deliver(text));
});
async function deliver(text) {
  try {
    const res = await fetch("simulator/send", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({sender: document.getElementById("sender").value, body: text,
                            channel: document.getElementById("channel").value})});
    const data = await res.json();
    if (!res.ok) { bubble(data.error || JSON.stringify(data.detail), "in error"); return; }
    if (data.note) bubble(data.note, "in error");
    for (const r of data.replies) bubble(r.text, "in", "via " + r.channel + ", " + r.units + " chars, " + r.encoding + ", " + r.segments + " SMS");
  } catch (err) { bubble("Network error: " + err, "in error"); }
}
// Messages the hotline sends later (officers' answers, reminders) arrive through the outbox: poll it.
const seen = new Set();
const sender = () => encodeURIComponent(document.getElementById("sender").value);
function pushedMeta(m) { return m.purpose + " via outbox on " + m.channel + ", " + m.status + ", " + m.segments + " SMS"; }
async function pollOutbox() {
  try {
    const res = await fetch("simulator/outbox?sender=" + sender());
    const data = await res.json();
    for (const m of data.messages) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      bubble(m.text, "in pushed", pushedMeta(m));
    }
  } catch (err) { /* the next poll tries again */ }
}
// On opening (or another phone): the phone's thread so far, so what came while the page was closed is there.
async function loadHistory() {
  seen.clear();
  thread.replaceChildren();
  try {
    const res = await fetch("simulator/history?sender=" + sender());
    const data = await res.json();
    for (const m of data.messages) {
      if (m.from_phone) bubble(m.text, "out");
      else if (m.outbox) { seen.add(m.id); bubble(m.text, "in pushed", pushedMeta(m)); }
      else bubble(m.text, "in", "via " + m.channel + ", " + m.encoding + ", " + m.segments + " SMS");
    }
  } catch (err) { bubble("Network error: " + err, "in error"); }
  await pollOutbox();
}
document.getElementById("sender").addEventListener("change", loadHistory);
loadHistory().then(() => setInterval(pollOutbox, 3000));
