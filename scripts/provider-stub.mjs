// A local stand-in for the four market-data providers, answering in their real formats, for
// offline use (`QUOTATIONS_PROVIDERS=stub make up`). Prices drift slowly with time so repeated
// collections store new quotations. Usage: node scripts/provider-stub.mjs [port]
import http from "node:http";

const port = Number(process.argv[2] || 8087);
// Currencies in BRL; crypto and stocks in USD.
const fiat = new Set(["USD", "EUR", "GBP"]);
const base = { USD: 5.3, EUR: 6.1, GBP: 7.0, BTC: 84000, ETH: 3000, AAPL: 271.5, MSFT: 480, IBM: 300, "PETR4.SA": 32.1 };
const price = (code) => {
  const b = base[code] ?? 100;
  const minute = Math.floor(Date.now() / 60000);
  return +(b * (1 + 0.002 * Math.sin(minute / 7))).toFixed(4);
};
const now = () => Math.floor(Date.now() / 60000) * 60;
const send = (res, status, body, type = "application/json") => {
  res.writeHead(status, { "content-type": type });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

http.createServer((req, res) => {
  const url = new URL(req.url, "http://stub");
  const p = url.pathname;
  console.log(JSON.stringify({ at: new Date().toISOString(), method: req.method, url: req.url }));
  let m;
  if ((m = p.match(/^\/json\/last\/([A-Z0-9]+)-([A-Z]+)$/))) {
    const [, from, to] = m;
    if (!(from in base)) return send(res, 404, { status: 404, code: "CoinNotExists", message: `moeda nao encontrada ${from}-${to}` });
    const inBrl = fiat.has(from) ? price(from) : price(from) * price("USD");
    const bid = (to === "BRL" ? inBrl : inBrl / price(to)).toFixed(4);
    return send(res, 200, { [`${from}${to}`]: { code: from, codein: to, name: `${from}/${to}`, bid, ask: bid, timestamp: String(now()), create_date: new Date(now() * 1000).toISOString().replace("T", " ").slice(0, 19) } });
  }
  if (p === "/query") {
    const fn = url.searchParams.get("function");
    if (fn === "GLOBAL_QUOTE") {
      const s = url.searchParams.get("symbol");
      if (!(s in base)) return send(res, 200, { "Global Quote": {} });
      return send(res, 200, { "Global Quote": { "01. symbol": s, "05. price": price(s).toFixed(4), "07. latest trading day": new Date().toISOString().slice(0, 10) } });
    }
    const from = url.searchParams.get("from_currency"), to = url.searchParams.get("to_currency");
    return send(res, 200, { "Realtime Currency Exchange Rate": { "1. From_Currency Code": from, "3. To_Currency Code": to, "5. Exchange Rate": price(from).toFixed(8), "6. Last Refreshed": new Date(now() * 1000).toISOString().replace("T", " ").slice(0, 19), "7. Time Zone": "UTC" } });
  }
  if ((m = p.match(/^\/v8\/finance\/chart\/(.+)$/))) {
    const s = decodeURIComponent(m[1]);
    if (!(s in base)) return send(res, 404, { chart: { result: null, error: { code: "Not Found", description: "No data found, symbol may be delisted" } } });
    return send(res, 200, { chart: { result: [{ meta: { currency: "USD", symbol: s, regularMarketPrice: price(s), regularMarketTime: now() } }], error: null } });
  }
  if (p === "/q/l/") {
    const s = (url.searchParams.get("s") || "").toUpperCase();
    const code = s.replace(/\.US$/, "");
    const header = "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n";
    if (!(code in base)) return send(res, 200, `${header}${s},N/D,N/D,N/D,N/D,N/D,N/D,N/D\r\n`, "text/csv");
    const d = new Date(now() * 1000).toISOString();
    const c = price(code);
    return send(res, 200, `${header}${s},${d.slice(0, 10)},${d.slice(11, 19)},${c},${c},${c},${c},1000\r\n`, "text/csv");
  }
  send(res, 404, { error: "unknown path" });
}).listen(port, "127.0.0.1", () => console.log(`provider stub on :${port}`));
