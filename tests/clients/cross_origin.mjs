// A web page on another origin than the gateway, in headless Chromium, calling the gateway the ways
// a front end does: the official @anthropic-ai/sdk bundled for the browser (streaming, and a
// request the upstream refuses), EventSource on the browser endpoint, and a text/plain POST in
// no-cors mode (what any page may send without a preflight). Prints one JSON line with what the page
// saw of each.
// Usage: node cross_origin.mjs PAGE_DIR PAGE_URL GATEWAY_URL MODEL REFUSED_MODEL TAG TIMEOUT_MS
// PAGE_DIR is served at PAGE_URL by the test; the SDK bundle is written into it first.
// (CHROMIUM, CHROMIUM_FLAGS from the environment, as browser.mjs reads them)
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { printFromPage } from "./browser.mjs";

const [pageDir, pageUrl, gateway, model, refusedModel, tag, timeoutMs] = process.argv.slice(2);

await build({
  stdin: { contents: 'export { default as Anthropic } from "@anthropic-ai/sdk";', resolveDir: dirname(fileURLToPath(import.meta.url)) },
  bundle: true,
  format: "esm",
  platform: "browser",
  outfile: join(pageDir, "sdk.js"),
  logLevel: "error",
});
writeFileSync(join(pageDir, "index.html"), "<!doctype html><title>a front end</title>");

await printFromPage(`${pageUrl}/index.html`, (page) =>
  page.evaluate(
    async ([gateway, model, refusedModel, tag, timeoutMs]) => {
      const { Anthropic } = await import("./sdk.js");
      const client = new Anthropic({ baseURL: gateway, apiKey: "k", dangerouslyAllowBrowser: true, maxRetries: 0 });
      const request = (m, text) => ({ model: m, max_tokens: 64, messages: [{ role: "user", content: text }] });
      const failure = (err) => ({ error: String(err), status: err.status ?? null, type: err.error?.error?.type ?? null });
      const out = {};
      try {
        const stream = client.messages.stream(request(model, `${tag}-sdk`));
        const message = await stream.finalMessage();
        out.sdk = { text: message.content.map((b) => b.text).join(""), stop_reason: message.stop_reason };
      } catch (err) {
        out.sdk = failure(err);
      }
      try {
        const { response } = await client.messages.create({ ...request(refusedModel, `${tag}-refused`), stream: true }).withResponse();
        out.refused = { status: response.status };
      } catch (err) {
        out.refused = failure(err);
      }
      out.eventsource = await new Promise((resolve) => {
        const query = new URLSearchParams({ model, prompt: `${tag}-eventsource` });
        const source = new EventSource(`${gateway}/v1/chat/sse?${query}`);
        const events = [];
        const finish = (result) => { source.close(); clearTimeout(timer); resolve(result); };
        const timer = setTimeout(() => finish({ events, error: "no done/error in time" }), timeoutMs);
        for (const name of ["delta", "done", "error"]) {
          source.addEventListener(name, (ev) => {
            // An "error" without data is EventSource's own: the connection failed or was refused.
            if (ev.data === undefined) return finish({ events, error: "EventSource failed" });
            events.push({ type: ev.type, data: JSON.parse(ev.data) });
            if (name !== "delta") finish({ events });
          });
        }
      });
      try {
        const body = JSON.stringify({ ...request(model, `${tag}-no-cors`), stream: true });
        const resp = await fetch(`${gateway}/v1/messages`, { method: "POST", mode: "no-cors", body });
        out.noCors = { type: resp.type };  // "opaque": the page cannot read it either way
      } catch (err) {
        out.noCors = { error: String(err) };
      }
      return out;
    },
    [gateway, model, refusedModel, tag, Number(timeoutMs)],
  ),
);
