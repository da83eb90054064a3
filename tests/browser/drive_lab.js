// Drives one lab notebook in JupyterLab as a learner would, in Debian's headless Chromium.
//
// Called by tests/test_browser_lab06.py as `node drive_lab.js <config.json>`; uses playwright-core
// (pinned in package-lock.json; no browser download: it launches /usr/bin/chromium). It opens the
// notebook, runs the cells above the confirmation from the Run menu, clicks Apply or Cancel, runs
// the cells from the verification down, takes screenshots and writes what the page showed as JSON
// to config.result. It asserts nothing itself: the Python test does, so a failure names what the
// page showed. Every request that leaves the loopback is aborted and recorded, and so are the
// JupyterLab extensions the page loaded (from the server, i.e. from the installed packages).
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const CHROMIUM_FLAGS = require("./chromium_flags");
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function isLoopback(url) {
  try {
    const u = new URL(url);
    if (["data:", "blob:", "about:"].includes(u.protocol)) return true;
    return LOOPBACK.has(u.hostname);
  } catch (err) {
    return false;
  }
}

// A code cell of the notebook on show, found by a line of its source.
function codeCell(page, source) {
  return page.locator(".jp-NotebookPanel").filter({ visible: true }).locator(".jp-CodeCell")
    .filter({ has: page.locator(".cm-content", { hasText: source }) });
}

async function runFromMenu(page, cell, command, timeoutMs) {
  await cell.locator(".jp-InputPrompt").first().click();  // select in command mode, as a click would
  await page.locator(".lm-MenuBar-itemLabel", { hasText: /^Run$/ }).click();
  await page.locator(".lm-Menu-itemLabel", { hasText: new RegExp(`^${command}$`) }).click();
  await waitForIdleNotebook(page, timeoutMs);
}

// Cells queued or running show "[*]:"; the run is over when none does (an error aborts the rest).
async function waitForIdleNotebook(page, timeoutMs) {
  const busy = (want) => want === [...document.querySelectorAll(".jp-Notebook .jp-InputPrompt")]
    .some((p) => p.textContent.includes("*"));
  await page.waitForFunction(busy, true, { timeout: 30000 }).catch(() => {});  // already over is fine
  await page.waitForFunction(busy, false, { timeout: timeoutMs, polling: 250 });
}

async function cellText(cell) {
  return (await cell.count()) ? (await cell.locator(".jp-OutputArea").first().innerText()) : "";
}

// Error and stderr outputs, each with the first line of its cell's source.
async function errorsShown(page) {
  return page.evaluate(() => [...document.querySelectorAll(".jp-CodeCell")].flatMap((cell) => {
    const source = (cell.querySelector(".cm-line") || {}).textContent || "";
    return [...cell.querySelectorAll("[data-mime-type='application/vnd.jupyter.stderr']")]
      .map((out) => `${source}: ${out.textContent.slice(-600)}`);
  }));
}

async function shoot(page, cell, file, block) {
  await cell.evaluate((el, b) => el.scrollIntoView({ block: b }), block);
  await page.screenshot({ path: file });
  return file;
}

// JupyterLab may ask which kernel to start (a person clicks Select); the kernel is ready once the
// server lists an idle kernel for this notebook.
async function waitForKernel(page, config, timeoutMs) {
  const url = new URL(config.url);
  const sessions = `${url.origin}/api/sessions?token=${url.searchParams.get("token")}`;
  const notebook = decodeURIComponent(url.pathname.replace(/^\/lab\/tree\//, ""));
  const dialog = page.locator(".jp-Dialog", { hasText: "Select Kernel" });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await dialog.isVisible()) await dialog.getByRole("button", { name: "Select" }).click();
    const listed = await (await fetch(sessions)).json();
    const mine = listed.find((s) => s.path === notebook && s.kernel);
    if (mine && mine.kernel.execution_state === "idle") return mine.kernel.id;
    await page.waitForTimeout(250);
  }
  throw new Error(`no idle kernel for ${notebook} after ${timeoutMs} ms`);
}

async function drive(config, page, result) {
  const t = config.timeoutMs;
  await page.goto(config.url, { timeout: t });
  await page.locator(".jp-NotebookPanel .jp-Cell").first().waitFor({ timeout: t });
  result.kernel = await waitForKernel(page, config, t);
  const confirm = codeCell(page, "lab.confirm()");
  await confirm.waitFor({ timeout: t });
  result.steps.push("notebook open");

  // The markdown cell below the confirmation is selected, so "above" ends with lab.confirm().
  const below = confirm.locator("xpath=following-sibling::div[contains(@class,'jp-Cell')][1]");
  await runFromMenu(page, below, "Run All Above Selected Cell", t);
  result.steps.push("ran to the confirmation");
  result.setup = await cellText(codeCell(page, "BROWSER-SETUP"));
  result.plan = await cellText(codeCell(page, "lab.plan()"));
  result.confirm = await cellText(confirm);
  const buttons = confirm.locator(".jp-OutputArea button");
  result.buttons = await buttons.allInnerTexts();
  result.errors_before = await errorsShown(page);
  if (!result.buttons.some((b) => b.includes(config.click))) return;
  result.shots.confirmation = await shoot(page, confirm, path.join(config.artifacts, `${config.name}-confirmation.png`), "end");

  await confirm.getByRole("button", { name: config.click }).click();
  const answer = config.click === "Apply" ? confirm.locator(".cilium-lab-report") : confirm.getByText("cancelled: nothing changed");
  await answer.first().waitFor({ timeout: t });
  result.steps.push(`clicked ${config.click}`);
  result.clicked = await cellText(confirm);
  result.buttons_disabled_after = await buttons.evaluateAll((bs) => bs.map((b) => b.disabled));
  result.shots.clicked = await shoot(page, confirm, path.join(config.artifacts, `${config.name}-clicked.png`), "end");

  const verify = codeCell(page, "lab.verify()");
  await runFromMenu(page, verify, "Run Selected Cell and All Below", t);
  result.steps.push("ran the cells below");
  result.verify = await cellText(verify);
  // The first table is the lab's own (node, outcome, why, in effect, observed), one row a node.
  result.verify_rows = await verify.locator(".jp-OutputArea table").first().locator("tbody tr")
    .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent.trim())));
  result.shots.verification = await shoot(page, verify, path.join(config.artifacts, `${config.name}-verification.png`), "start");
  result.check = await cellText(codeCell(page, "BROWSER-CHECK"));
  result.after = await cellText(codeCell(page, 'lab.measure("after")'));
  const compare = codeCell(page, "lab.compare()");
  result.compare = await cellText(compare);
  const plots = compare.locator(".js-plotly-plot").filter({ has: page.locator(".plot-container svg.main-svg") });
  result.plots = await plots.count();
  result.plot_titles = await plots.locator(".gtitle").allTextContents();  // svg text has no innerText
  // The comparison's own table, a row per test and metric, keyed by its header.
  result.compare_rows = await compare.locator(".jp-OutputArea table").first().evaluate((table) => {
    const header = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    return [...table.querySelectorAll("tbody tr")].map((r) => Object.fromEntries(
      [...r.querySelectorAll("td")].map((td, i) => [header[header.length - r.querySelectorAll("td").length + i], td.textContent.trim()])));
  }).catch(() => []);
  result.finish = await cellText(codeCell(page, "lab.finish()"));
  if (result.plots) {
    result.shots.plot = await shoot(page, plots.first(), path.join(config.artifacts, `${config.name}-plot.png`), "center");
  }
  result.errors_after = await errorsShown(page);
}

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const result = { steps: [], shots: {}, blocked: [], websockets: [], console_errors: [], extensions: [] };
  const browser = await chromium.launch({
    executablePath: config.chromium,
    args: CHROMIUM_FLAGS,  // playwright adds a fresh --user-data-dir of its own
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      const extension = /\/lab\/extensions\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (extension && !result.extensions.includes(extension[1])) result.extensions.push(extension[1]);
      if (isLoopback(url)) return route.continue();
      result.blocked.push(url);
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.on("websocket", (ws) => result.websockets.push(ws.url()));
    page.on("console", (msg) => { if (msg.type() === "error") result.console_errors.push(msg.text()); });
    try {
      await drive(config, page, result);
    } finally {
      const file = path.join(config.artifacts, `${config.name}-last.png`);  // what the page ended on
      await page.screenshot({ path: file }).then(() => { result.shots.last = file; }, () => {});
    }
  } catch (err) {
    result.failure = String(err && err.stack ? err.stack : err);
  } finally {
    await browser.close().catch(() => {});
    fs.writeFileSync(config.result, JSON.stringify(result, null, 2));
  }
}

main().catch((err) => { console.error(err); process.exit(2); });
