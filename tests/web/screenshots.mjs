// screenshots.mjs — takes the README/docs screenshots of the portal with
// headless Debian Chromium. Usage: node tests/web/screenshots.mjs BASE_URL OUTDIR [page/lang ...]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';

// playwright-core is installed in web/node_modules (a devDependency of the portal)
const { chromium } = createRequire(new URL('../../web/package.json', import.meta.url))('playwright-core');

const [base, out, ...which] = process.argv.slice(2);
const shots = which.length ? which : ['home/en', 'home/zh', 'stock/en', 'stock/zh', 'flows/en', 'sdg/en', 'world/en', 'mobile/en', 'infra/en', 'assess/en'];
const profile = mkdtempSync(join(tmpdir(), 'nmdi-chromium-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
  for (const s of shots) {
    const [p, l] = s.split('/');
    await page.goto(`${base}/#/${l}/${p}`);
    await page.waitForSelector(`main[data-ready="${p}/${l}"]`, { timeout: 15000 });
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(out, `${p}-${l}.png`), fullPage: true });
    console.log(`${p}-${l}.png`);
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
