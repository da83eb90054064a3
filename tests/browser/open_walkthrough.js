// Opens exported HTML walkthroughs (file://) in Debian's headless Chromium and reports what they show.
//
// Called by tests/test_walkthrough_html.py as `node open_walkthrough.js <config.json>`; uses
// playwright-core (pinned in package-lock.json; it launches /usr/bin/chromium, no browser download).
// Per page: waits until every plotly div has drawn its svg or says why it could not (or the timeout
// passes), reads the page's text, each figure's title and the boxes of its title and annotations (to
// check that none overlap), and takes a full-page screenshot and one of the first figure. Page errors,
// console errors and failed loads of local files are recorded per page. Every request that is not
// file:, data: or blob: is aborted and recorded. It asserts nothing: the Python test does.
"use strict";

const fs = require("fs");
const { chromium } = require("playwright-core");

const CHROMIUM_FLAGS = require("./chromium_flags");
const LOCAL = new Set(["file:", "data:", "blob:", "about:"]);

function isLocal(url) {
  try {
    return LOCAL.has(new URL(url).protocol);
  } catch (err) {
    return false;
  }
}

// In the page: each plotly div, whether it drew an svg, its title and the boxes of its texts.
function figuresShown() {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
  };
  return [...document.querySelectorAll(".plotly-graph-div")].map((div) => ({
    id: div.id,
    svg: div.querySelector("svg.main-svg") !== null,
    plotted: div.classList.contains("js-plotly-plot"),  // Plotly.newPlot ran on it
    note: div.querySelector("svg") ? "" : div.textContent,  // what it says when plotly.js is missing
    title: (div.querySelector(".gtitle") || { textContent: "" }).textContent,
    texts: [...div.querySelectorAll(".gtitle, .gtitle-subtitle, .annotation-text")].map((el) => ({
      text: el.textContent, kind: el.classList.contains("annotation-text") ? "annotation" : "title", box: box(el),
    })),
    bars: div.querySelectorAll(".barlayer .point").length,
    errorbars: div.querySelectorAll(".errorbar").length,
  }));
}

async function openOne(context, page, file, shots, timeoutMs) {
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (msg) => { if (msg.type() === "error") errors.push("console: " + msg.text()); });
  page.on("requestfailed", (request) => {
    if (isLocal(request.url())) errors.push(`failed to load ${request.url()}: ${request.failure().errorText}`);
  });
  await page.goto("file://" + file, { waitUntil: "load", timeout: timeoutMs });
  const drawn = () => [...document.querySelectorAll(".plotly-graph-div")]
    .every((div) => div.querySelector("svg.main-svg") !== null || div.textContent.startsWith("Figure not drawn"));
  await page.waitForFunction(drawn, null, { timeout: timeoutMs, polling: 200 }).catch(() => {});
  const figures = await page.evaluate(figuresShown);
  await page.screenshot({ path: shots.page, fullPage: true });
  const first = page.locator(".plotly-graph-div").first();
  if (await first.count()) await first.screenshot({ path: shots.figure });
  return { file, figures, text: await page.innerText("body"), errors, shots };
}

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const result = { pages: [], blocked: [], error: "" };
  const browser = await chromium.launch({ executablePath: config.chromium, args: CHROMIUM_FLAGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      result.blocked.push(url);
      return route.abort("blockedbyclient");
    });
    for (const page of config.pages) {
      const tab = await context.newPage();
      result.pages.push(await openOne(context, tab, page.html, page.shots, config.timeoutMs));
      await tab.close();
    }
  } catch (err) {
    result.error = String(err && err.stack || err);
  } finally {
    await browser.close();
    fs.writeFileSync(config.result, JSON.stringify(result, null, 1));
  }
}

main();
