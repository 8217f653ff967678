// Latency of GET <url> sent one at a time every <interval> ms for <seconds> s, on one
// keep-alive connection; prints {"n","p50_ms","p99_ms","max_ms","errors"}. Used by make bench
// to measure /healthz while logins saturate the CPU.
import http from "node:http";

const [url, seconds = "20", interval = "10"] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = [];
let errors = 0;
const end = Date.now() + Number(seconds) * 1000;

function once() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) errors++;
          samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
          resolve();
        });
      })
      .on("error", () => {
        errors++;
        resolve();
      });
  });
}

while (Date.now() < end) {
  const started = Date.now();
  await once();
  const wait = Number(interval) - (Date.now() - started);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
samples.sort((a, b) => a - b);
const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? 0;
console.log(
  JSON.stringify({
    n: samples.length,
    p50_ms: +q(0.5).toFixed(2),
    p99_ms: +q(0.99).toFixed(2),
    max_ms: +(samples.at(-1) ?? 0).toFixed(2),
    errors,
  }),
);
agent.destroy();
