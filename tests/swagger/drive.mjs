// Opens Swagger UI in headless Chromium, lists the tags it renders, then runs "Try it out" on one operation
// with the example values the page fills in, and prints what happened as one JSON object.
//   node drive.mjs <gateway URL> <chromium executable> <operation path, e.g. /trading/clmm/quote-swap>
import { chromium } from 'playwright-core';

const [base, executablePath, path] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-default-apps', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  const offsite = [];
  page.on('request', (request) => !request.url().startsWith(base) && offsite.push(request.url()));
  await page.goto(`${base}/docs/`, { waitUntil: 'load' });
  await page.waitForSelector('.opblock-tag', { timeout: 30_000 });
  const tags = await page.$$eval('.opblock-tag', (elements) => elements.map((e) => e.getAttribute('data-tag')));

  const operation = page
    .locator('.opblock')
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) })
    .first();
  await operation.locator('.opblock-summary').first().click();
  await operation.locator('button.try-out__btn').click();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(base) && !r.url().includes('/docs') && r.request().method() !== 'OPTIONS'),
    operation.locator('button.execute').click(),
  ]);
  const body = await response.json();
  const shown = await operation.locator('.live-responses-table tbody .response-col_status').first().innerText();
  console.log(JSON.stringify({ tags, url: response.url(), status: response.status(), body, shown, consoleErrors, offsite }));
} finally {
  await browser.close();
}
