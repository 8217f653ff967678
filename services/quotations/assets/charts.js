// Tessera quotations: draws each price chart (figure.chart[data-symbol]) with uPlot, served from
// /assets/vendor (pinned by assets/package-lock.json), from GET /dashboard/quotations/series.
// The range buttons (24h / 7d / 30d / all) reload every chart. Hover a chart, or focus it and use
// ←/→ (Home/End), to read a point: the readout under it gives the price and its time in UTC.
// Without script the server's sparkline stays.
"use strict";

(function () {
  const HEIGHT = 220;
  const plots = new Map(); // figure → uPlot

  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function showPoint(figure, u, idx) {
    const out = figure.querySelector(".readout");
    if (idx == null || !u.data[0].length) {
      out.textContent = "";
      delete out.dataset.time;
      delete out.dataset.price;
      return;
    }
    const t = u.data[0][idx];
    const price = u.data[1][idx];
    out.dataset.time = String(t);
    out.dataset.price = String(price);
    out.textContent = `${figure.dataset.symbol}: ${price} at ${utc(t)}`;
  }

  function options(figure, width) {
    return {
      width,
      height: HEIGHT,
      // Times on the axis and in the readout are UTC, like the tables of the page.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true } },
      axes: [
        { stroke: "#667085", grid: { stroke: "#eaecf0" }, ticks: { stroke: "#d0d5dd" } },
        { stroke: "#667085", grid: { stroke: "#eaecf0" }, ticks: { stroke: "#d0d5dd" }, size: 70 },
      ],
      series: [
        {},
        { label: figure.dataset.symbol, stroke: "#2255cc", width: 1.5, points: { size: 4 } },
      ],
      legend: { show: false },
      hooks: { setCursor: [(u) => showPoint(figure, u, u.cursor.idx)] },
    };
  }

  function moveTo(u, idx) {
    u.setCursor({ left: u.valToPos(u.data[0][idx], "x"), top: u.valToPos(u.data[1][idx], "y") });
  }

  function onKey(figure, event) {
    const u = plots.get(figure);
    if (!u || !u.data[0].length) return;
    const last = u.data[0].length - 1;
    const at = u.cursor.idx == null ? last : u.cursor.idx;
    const next = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: last }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    moveTo(u, Math.max(0, Math.min(last, next)));
  }

  async function draw(figure, range) {
    const plot = figure.querySelector(".plot");
    const url = `/dashboard/quotations/series?symbol=${encodeURIComponent(figure.dataset.symbol)}&range=${range}`;
    figure.dataset.loaded = "";
    let body;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (e) {
      figure.querySelector(".readout").textContent = `Could not load the series (${e.message}).`;
      return;
    }
    const old = plots.get(figure);
    if (old) old.destroy();
    plots.delete(figure);
    plot.textContent = "";
    figure.classList.add("drawn");
    const times = body.points.map((p) => p[0]);
    const prices = body.points.map((p) => p[1]);
    const caption = figure.querySelector("figcaption .muted");
    if (caption) {
      caption.textContent = times.length
        ? `${times.length} point(s) in ${range}, ${Math.min(...prices)} – ${Math.max(...prices)}`
        : `no point in ${range}`;
    }
    if (!times.length) {
      plot.textContent = "No quotations in this range.";
    } else {
      plots.set(figure, new uPlot(options(figure, plot.clientWidth || 480), [times, prices], plot));
    }
    figure.querySelector(".readout").textContent = body.thinned ? `Every point shown is a real quotation; ${times.length} of the range's shown.` : "";
    figure.dataset.loaded = range;
  }

  function drawAll(range) {
    for (const figure of document.querySelectorAll("figure.chart[data-symbol]")) draw(figure, range);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof uPlot === "undefined") return;
    const buttons = document.querySelectorAll(".ranges button[data-range]");
    for (const button of buttons) {
      button.addEventListener("click", () => {
        for (const b of buttons) b.setAttribute("aria-pressed", String(b === button));
        drawAll(button.dataset.range);
      });
    }
    for (const figure of document.querySelectorAll("figure.chart[data-symbol]")) {
      figure.querySelector(".plot").addEventListener("keydown", (e) => onKey(figure, e));
    }
    window.addEventListener("resize", () => {
      for (const [figure, u] of plots) u.setSize({ width: figure.querySelector(".plot").clientWidth, height: HEIGHT });
    });
    const pressed = document.querySelector('.ranges button[aria-pressed="true"]');
    drawAll(pressed ? pressed.dataset.range : "7d");
  });
})();
