// Drives the gateway's /playground page in headless Chromium like a user: fill in model and
// prompt, press Send, wait until the page says it is done or failed, print what it shows as JSON.
// Mode "eventsource" instead opens the browser's own EventSource on GET /v1/chat/sse from the
// page's origin and prints the events it received until `done` or `error`.
// Usage: node playground.mjs page|eventsource GATEWAY_URL MODEL PROMPT TIMEOUT_MS
// (CHROMIUM, CHROMIUM_FLAGS from the environment)
import { printFromPage } from "./browser.mjs";

const [mode, gateway, model, prompt, timeoutMs] = process.argv.slice(2);

async function eventsource(page) {
  const events = await page.evaluate(
    ([model, prompt, timeoutMs]) =>
      new Promise((resolve, reject) => {
        const query = new URLSearchParams({ model, prompt });
        const source = new EventSource(`/v1/chat/sse?${query}`);
        const seen = [];
        const timer = setTimeout(() => reject(new Error(`no done/error: ${JSON.stringify(seen)}`)), timeoutMs);
        const keep = (ev) => {
          seen.push({ type: ev.type, id: ev.lastEventId, data: JSON.parse(ev.data) });
          if (ev.type === "done" || ev.type === "error") {
            source.close();
            clearTimeout(timer);
            resolve(seen);
          }
        };
        for (const name of ["delta", "thinking", "tool", "done", "error"]) source.addEventListener(name, keep);
      }),
    [model, prompt, Number(timeoutMs)],
  );
  return { events };
}

async function form(page) {
  await page.fill("#model", model);
  await page.fill("#prompt", prompt);
  await page.click("#send");
  await page.waitForFunction(
    () => ["done", "error"].includes(document.body.dataset.state),
    null,
    { timeout: Number(timeoutMs) },
  );
  return page.evaluate(() => ({
    state: document.body.dataset.state,
    status: document.getElementById("status").textContent,
    answer: document.getElementById("answer").textContent,
    error: document.getElementById("error").textContent,
    errorVisible: getComputedStyle(document.getElementById("error")).display !== "none",
  }));
}

await printFromPage(`${gateway}/playground`, mode === "eventsource" ? eventsource : form);
