// Soak part (b), the client: GET /hit as fast as one connection at a time allows, until stdin
// closes; prints how many requests were sent and how many failed.
const port = Number(process.argv[2]);
let sent = 0;
let failed = 0;
let first = "";
let stop = false;
(async () => {
  for await (const _ of Bun.stdin.stream());
  stop = true;
})();
while (!stop) {
  sent++;
  try {
    const r = await fetch(`http://127.0.0.1:${port}/hit`, { signal: AbortSignal.timeout(20_000) });
    const text = await r.text();
    if (r.status !== 200 || !/^\d+$/.test(text)) {
      failed++;
      first ||= `status ${r.status}: ${text.slice(0, 80)}`;
    }
  } catch (e) {
    failed++;
    first ||= String(e);
  }
}
console.log(JSON.stringify({ sent, failed, first }));
