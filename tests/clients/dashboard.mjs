// Drives the gateway's /dashboard in headless Chromium like an operator: the overview, one
// deployment, the live view while a request finishes, and that request's detail. Prints one JSON
// line with what each view showed, the page's uncaught errors and its console errors.
// Usage: node dashboard.mjs check GATEWAY_URL DEPLOYMENT MODEL TIMEOUT_MS
//        node dashboard.mjs screenshots GATEWAY_URL DEPLOYMENT MODEL TIMEOUT_MS DIR
// (CHROMIUM, CHROMIUM_FLAGS from the environment; MODEL is the request sent while the live view
// is open, to DEPLOYMENT's route; DIR receives overview.png, deployment.png, live.png, request.png)
import { chromium } from "playwright-core";

const [mode, gateway, deployment, model, timeoutMs, dir] = process.argv.slice(2);
const timeout = Number(timeoutMs);

async function ready(page, view) {
  await page.waitForFunction(
    (view) => document.body.dataset.view === view && ["1", "error"].includes(document.body.dataset.ready),
    view,
    { timeout },
  );
  const state = await page.evaluate(() => ({ ready: document.body.dataset.ready, error: document.getElementById("error").textContent }));
  if (state.ready !== "1") throw new Error(`${view} view failed: ${state.error}`);
}

async function shoot(page, name) {
  if (mode === "screenshots") await page.screenshot({ path: `${dir}/${name}.png` }); // the first screen: what a reader needs
}

async function ask(prompt) {
  const response = await fetch(`${gateway}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "dashboard-test" },
    body: JSON.stringify({ model, max_tokens: 200, stream: true, messages: [{ role: "user", content: prompt }] }),
  });
  await response.text();
  return response.headers.get("x-sseguard-request-id");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: (process.env.CHROMIUM_FLAGS || "").split(" ").filter(Boolean),
  headless: true,
});
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const pageErrors = [];
  const consoleErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  const loadStarted = Date.now();
  await page.goto(`${gateway}/dashboard`);
  await ready(page, "overview");
  const overviewMs = Date.now() - loadStarted;
  const overview = await page.evaluate(() =>
    [...document.querySelectorAll("#deployments tr[data-deployment]")].map((row) => ({
      deployment: row.dataset.deployment,
      requests: Number(row.cells[1].textContent),
      faults: [...row.querySelectorAll("[data-fault]")].map((chip) => chip.dataset.fault),
    })),
  );
  const recent = await page.locator("#requests tr[data-request-id]").count();
  await shoot(page, "overview");

  let started = Date.now();
  await page.click(`#deployments tr[data-deployment="${deployment}"]`);
  await ready(page, "deployment");
  const deploymentMs = Date.now() - started;
  const deploymentView = await page.evaluate(() => ({
    name: document.body.dataset.deployment,
    charts: document.querySelectorAll(".charts canvas").length,
    faults: [...document.querySelectorAll("#faults tr[data-fault]")].map((row) => ({
      id: row.dataset.fault,
      text: row.textContent,
    })),
  }));
  await shoot(page, "deployment");

  await page.click('[data-nav="live"]');
  await ready(page, "live");
  await page.waitForFunction(() => document.body.dataset.live === "open", null, { timeout });
  const before = await page.locator("#live tr[data-request-id]").count();
  const requestId = await ask(`dashboard live ${Date.now()}`);
  await page.waitForSelector(`#live tr[data-request-id="${requestId}"]`, { timeout });
  const liveRow = await page.evaluate(
    (id) => {
      const row = document.querySelector(`#live tr[data-request-id="${id}"]`);
      return { text: row.textContent, faults: [...row.querySelectorAll("[data-fault]")].map((chip) => chip.dataset.fault), first: row.parentNode.firstElementChild === row };
    },
    requestId,
  );
  for (let i = 0; i < 3; i++) await ask(`dashboard live filler ${i}`); // a fuller live view
  await page.waitForFunction((n) => document.querySelectorAll("#live tr[data-request-id]").length >= n, before + 4, { timeout });
  await shoot(page, "live");

  await page.click(`#live tr[data-request-id="${requestId}"]`);
  await ready(page, "request");
  const detail = await page.evaluate(() => ({
    title: document.querySelector("h1").textContent,
    attempts: document.querySelectorAll("#timeline [data-attempt]").length,
    anomalies: [...document.querySelectorAll("#anomalies tr[data-fault]")].map((row) => ({ id: row.dataset.fault, text: row.textContent })),
    verdicts: [...document.querySelectorAll("[data-verdict]")].map((node) => node.textContent),
    replayRows: document.querySelectorAll("#capture table.replay tbody tr").length,
  }));
  await shoot(page, "request");

  console.log(
    JSON.stringify({ overview, recent, overviewMs, deploymentMs, deployment: deploymentView, requestId, liveRow, detail, pageErrors, consoleErrors }),
  );
} finally {
  await browser.close();
}
