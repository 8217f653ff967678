// Headless Chromium drives the quotations web flow (issue #7): register → the verification link
// from the service's log (MAIL_MAILER=log) → log in → /dashboard/quotations draws the charts
// (uPlot, issue #20: axes, a hovered and a keyboard-read value checked against
// GET /api/quotations, the range selector) → /dashboard/operations: change the auto-collect
// settings and run a dry run → /docs, the API reference (Swagger UI). Any console error — a
// Content-Security-Policy violation included — fails the run. Screenshots go to $ARTIFACTS
// (default target/browser-artifacts). Exit code 0 when every step passed.
//
// Runs the real `quotations` binary ($QUOTATIONS_BIN, default target/debug/quotations) on a
// fresh database of the local PostgreSQL, with scripts/provider-stub.mjs as the providers.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.QUOTATIONS_BIN || path.join(root, "target/debug/quotations");
const artifacts = process.env.ARTIFACTS || path.join(root, "target/browser-artifacts");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const pg = process.env.PG_URL || "postgres://postgres@127.0.0.1:5432";
const db = `tessera_browser_${process.pid}_${Date.now()}`;
fs.mkdirSync(artifacts, { recursive: true });

const step = (s) => console.log(`[browser] ${s}`);
const children = [];
const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(fn, what, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (_) { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const [appPort, stubPort] = [await freePort(), await freePort()];
const base = `http://127.0.0.1:${appPort}`;
const logPath = path.join(artifacts, "quotations.log");
const env = {
  PATH: process.env.PATH,
  APP_ENV: "local",
  APP_PORT: String(appPort),
  APP_URL: base,
  APP_KEY: `browser-test-key-${process.pid}-0123456789abcdefghijklmnop`,
  DATABASE_URL: `${pg}/${db}`,
  AMQP_URL: process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672/%2f",
  RUN_MIGRATIONS: "true",
  MAIL_MAILER: "log",
  RUST_LOG: "info",
  AWESOME_API_BASE_URL: `http://127.0.0.1:${stubPort}`,
  ALPHA_VANTAGE_BASE_URL: `http://127.0.0.1:${stubPort}`,
  ALPHA_VANTAGE_API_KEY: "stub",
  YAHOO_FINANCE_BASE_URL: `http://127.0.0.1:${stubPort}`,
  STOOQ_BASE_URL: `http://127.0.0.1:${stubPort}`,
};

let browser;
let failed = false;
try {
  step(`database ${db}`);
  execFileSync(bin, ["migrate", "--create-database"], { env, stdio: "inherit" });
  // A day of demo history so the chart has a line (the same seed `make up` uses).
  execFileSync("psql", [`${pg}/${db}`, "-q", "-v", "ON_ERROR_STOP=1", "-f", path.join(root, "scripts/quotations-demo.sql")], { stdio: "inherit" });

  children.push(spawn("node", [path.join(root, "scripts/provider-stub.mjs"), String(stubPort)], { stdio: "ignore" }));
  const log = fs.openSync(logPath, "w");
  children.push(spawn(bin, ["serve"], { env, stdio: ["ignore", log, log] }));
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "quotations /readyz");
  step(`quotations on ${base}`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`${page.url()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(String(e)));
  // Which element or file broke the Content-Security-Policy, not only that something did.
  await page.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) =>
    console.error(`CSP ${e.violatedDirective}: ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`)));
  const shot = (name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

  const email = `browser-${process.pid}@example.com`;
  const password = "a-long-browser-password";
  step("register");
  await page.goto(`${base}/register`);
  await page.fill("input[name=name]", "Browser User");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await page.fill("input[name=password_confirmation]", password);
  await Promise.all([page.waitForURL("**/verify-email"), page.click("#register button[type=submit]")]);
  await shot("1-verify-notice.png");

  step("log out, then open the verification link from the log");
  await Promise.all([page.waitForURL("**/login"), page.click("header form button")]);
  const link = await waitFor(() => {
    const m = fs.readFileSync(logPath, "utf8").match(/https?:\/\/[^\s"\\]+\/verify-email\/[^\s"\\]+/);
    return m && m[0];
  }, "the verification mail in the log");
  await page.goto(link);
  await page.waitForURL("**/login?verified=1");
  if (!(await page.textContent(".flash"))?.includes("verified")) throw new Error("no 'verified' notice after the link");

  step("log in");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL("**/dashboard/quotations"), page.click("#login button[type=submit]")]);
  const points = await page.getAttribute("figure.chart svg polyline", "points");
  if (!points || points.trim().split(" ").length < 2) throw new Error(`the server's sparkline has no line: ${points}`);
  const rows = await page.locator("#latest tbody tr").count();
  if (rows < 1) throw new Error("no latest quotes");

  step("charts: uPlot with two axes per chart, one per demo symbol");
  const btc = 'figure.chart[data-symbol="BTC"]';
  await page.waitForSelector(`${btc}[data-loaded="7d"] .plot canvas`);
  const axes = await page.locator(`${btc} .u-axis`).count();
  if (axes !== 2) throw new Error(`BTC's chart has ${axes} axes`);
  if (await page.isVisible(`${btc} svg.sparkline`)) throw new Error("the sparkline is still shown");

  // The value under the pointer is a real quotation: same time and price as the history API.
  async function checkAgainstHistory(what) {
    const readout = page.locator(`${btc} .readout`);
    await waitFor(async () => (await readout.getAttribute("data-price")) !== null, `${what}: a readout`);
    const t = Number(await readout.getAttribute("data-time"));
    const price = Number(await readout.getAttribute("data-price"));
    const day = new Date(t * 1000).toISOString().slice(0, 10);
    const history = await (await page.request.get(`${base}/api/quotations?symbol=BTC&date_from=${day}&date_to=${day}&per_page=100`)).json();
    const match = history.data.find((q) => Date.parse(q.quoted_at) / 1000 === t);
    if (!match) throw new Error(`${what}: no quotation of BTC at ${t} in GET /api/quotations`);
    if (Number(match.price) !== price) throw new Error(`${what}: the chart says ${price}, the API ${match.price}`);
    if (!(await readout.textContent()).includes(String(price))) throw new Error(`${what}: the readout does not show ${price}`);
    return t;
  }
  const over = await page.locator(`${btc} .u-over`).boundingBox();
  await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2);
  await checkAgainstHistory("hover");
  await shot("2-dashboard-quotations.png");

  step("charts: keyboard — End reads the newest point, ← the one before");
  await page.mouse.move(0, 0);
  await page.focus(`${btc} .plot`);
  await page.keyboard.press("End");
  const newest = await checkAgainstHistory("End");
  await page.keyboard.press("ArrowLeft");
  const before = await checkAgainstHistory("ArrowLeft");
  if (!(before < newest)) throw new Error(`ArrowLeft did not move back: ${before} vs ${newest}`);

  step("charts: the range selector");
  const spans = {};
  for (const range of ["24h", "30d", "all"]) {
    await page.click(`.ranges button[data-range="${range}"]`);
    await page.waitForSelector(`${btc}[data-loaded="${range}"] .plot canvas`);
    const series = await (await page.request.get(`${base}/dashboard/quotations/series?symbol=BTC&range=${range}`)).json();
    spans[range] = series.points.length;
    if (await page.getAttribute(`.ranges button[data-range="${range}"]`, "aria-pressed") !== "true") throw new Error(`${range} is not pressed`);
  }
  if (!(spans["24h"] < spans["30d"] && spans["30d"] <= spans["all"])) throw new Error(`ranges: ${JSON.stringify(spans)}`);
  await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
  await checkAgainstHistory("hover on all");
  await shot("2b-dashboard-quotations-all.png");

  step("operations: save settings, run a dry run");
  await page.goto(`${base}/dashboard/operations`);
  await page.check("#settings input[name=enabled]");
  await page.fill("#settings input[name=interval_minutes]", "5");
  await page.fill("#settings input[name=symbols]", "BTC,ETH");
  await page.click("#settings button[type=submit]");
  await page.waitForSelector("#settings .result.visible");
  if ((await page.textContent("#cron")) !== "*/5 * * * *") throw new Error("the schedule did not update");
  const saved = await (await page.request.get(`${base}/dashboard/operations/auto-collect`)).json();
  if (saved.interval_minutes !== 5 || saved.symbols.join(",") !== "BTC,ETH" || saved.enabled !== true) {
    throw new Error(`settings not saved: ${JSON.stringify(saved)}`);
  }
  await page.fill("#run input[name=symbols]", "BTC,USD-BRL");
  if (!(await page.isChecked("#run input[name=dry_run]"))) throw new Error("dry run is not the default");
  await page.click("#run button[type=submit]");
  await page.waitForSelector("#run-output.visible");
  const output = await page.textContent("#run-output");
  if (!output.includes("dry run: nothing stored") || !output.includes("BTC: fetched")) throw new Error(`unexpected run output: ${output}`);
  await shot("3-dashboard-operations.png");

  step("the API reference at /docs: Swagger UI from the service's own assets");
  await page.goto(`${base}/docs`);
  await page.waitForURL("**/docs/");
  await page.waitForSelector(".opblock", { timeout: 20000 });
  const operations = await page.locator(".opblock").count();
  if (operations < 10) throw new Error(`the reference shows ${operations} operations`);
  await shot("4-docs.png");

  if (problems.length) throw new Error(`browser console errors: ${problems.join(" | ")}`);
  step(`passed; screenshots in ${artifacts}`);
} catch (e) {
  failed = true;
  console.error(`[browser] FAILED: ${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  for (const c of children) c.kill("SIGTERM");
  await sleep(500);
  try {
    execFileSync("psql", [`${pg}/postgres`, "-q", "-c", `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`], { stdio: "ignore" });
  } catch (_) { /* best effort */ }
}
process.exit(failed ? 1 : 0);
