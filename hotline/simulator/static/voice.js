// The voice simulator: each key press goes to /simulator/call, which posts it to the signed voice webhooks.
"use strict";
const heard = document.getElementById("heard"), state = document.getElementById("state");
let call = null, typed = "", queue = [], player = new Audio();
function line(text, cls) {
  const p = document.createElement("p"); p.textContent = text; if (cls) p.className = cls;
  heard.appendChild(p); heard.scrollTop = heard.scrollHeight;
}
function playNext() {
  if (!queue.length || !document.getElementById("sound").checked) { queue = []; return; }
  player.src = queue.shift(); player.onended = playNext; player.play().catch(() => { queue = []; });
}
async function step(payload) {
  player.pause(); queue = [];
  const r = await fetch("/simulator/call", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({caller: document.getElementById("caller").value, call_sid: call && call.call_sid, ...payload})});
  const data = await r.json();
  if (!r.ok) { line(data.error || "error", "note"); return; }
  call = data; typed = "";
  for (const item of data.items) { line(item.text); if (item.kind === "play") queue.push(item.audio); }
  playNext();
  if (data.reject) { line("Rejected, free of charge: the hotline will call back.", "note"); call = null; }
  else if (data.hangup) { line("The line hung up.", "note"); call = null; }
  state.textContent = !call ? "Idle" : data.record ? "Recording…" : "In call";
}
function action() { return call && (call.gather ? call.gather.action : call.record ? call.record.action : null); }
document.getElementById("dial").onclick = () => { heard.innerHTML = ""; call = null; step({}); };
document.getElementById("pad").onclick = (e) => {
  if (e.target.tagName !== "BUTTON" || !call || !call.gather) return;
  // As Twilio: numDigits keys submit; without numDigits, any number of keys until finishOnKey (or "Wait").
  const key = e.target.textContent, g = call.gather, max = g.numDigits ? parseInt(g.numDigits, 10) : Infinity;
  if (key === (g.finishOnKey || "#") && max > 1) { line(typed + "#", "you"); step({url: g.action, digits: typed}); return; }
  typed += key;
  if (typed.length >= max) { line(typed, "you"); step({url: g.action, digits: typed}); }
};
document.getElementById("silence").onclick = () => {
  if (!call) return;
  if (call.gather) { line(typed || "(no key)", "you"); step({url: call.gather.action, digits: typed}); }
  else if (call.redirect) { line("(silence)", "you"); step({url: call.redirect}); }
};
document.getElementById("speak").onclick = () => {
  if (!call || !call.record) return;
  line("(speaks for 30 seconds, then #)", "you"); step({url: call.record.action, digits: "#", recording_seconds: 30});
};
document.getElementById("hang").onclick = () => {
  if (call && call.record) { step({url: call.record.action, digits: "hangup", recording_seconds: 12}); }
  player.pause(); line("You hung up.", "note"); call = null; state.textContent = "Idle";
};
