// Headless Chromium for the page tests: one page at URL, `work(page)` on it, then one JSON line on
// stdout with what `work` returned and the page's uncaught errors. CHROMIUM and CHROMIUM_FLAGS
// come from the environment (tests/clients/browser_env.py sets them).
import { chromium } from "playwright-core";

export async function printFromPage(url, work) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: (process.env.CHROMIUM_FLAGS || "").split(" ").filter(Boolean),
    headless: true,
  });
  try {
    const page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    await page.goto(url);
    const seen = await work(page);
    console.log(JSON.stringify({ ...seen, pageErrors }));
  } finally {
    await browser.close();
  }
}
