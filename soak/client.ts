// Soak part (b), the client: GET /hit as fast as one connection at a time allows, until stdin
// closes; prints how many requests were sent and how many failed.
const port = Number(process.argv[2]);
let sent = 0;
let failed = 0;
let stop = false;
(async () => {
  for await (const _ of Bun.stdin.stream());
  stop = true;
})();
while (!stop) {
  sent++;
  try {
    const r = await fetch(`http://127.0.0.1:${port}/hit`, { signal: AbortSignal.timeout(20_000) });
    if (r.status !== 200 || !/^\d+$/.test(await r.text())) failed++;
  } catch {
    failed++;
  }
}
console.log(JSON.stringify({ sent, failed }));
