/**
 * Opens the HTML report of the fixture run in a real headless Chromium: the matrix renders,
 * a click on a cell shows its details, guest text stays text, nothing is fetched. Needs the
 * Debian package `chromium`; saves screenshots under out/test-artifacts/.
 */

import assert from "assert";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
// Only this test uses Playwright; deno.json's import map is shared and not this test's to change.
import { type Browser, chromium } from "playwright-core";
import type { CellResult, ResultsFile } from "../../harness/core/types.ts";
import { renderHtmlReport } from "../../reports/mod.ts";
import { FIXTURE_CASES, FIXTURE_RESULTS } from "../unit/results_fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = fileURLToPath(new URL("../../out/test-artifacts/", import.meta.url));

const HOSTILE_SUMMARY =
  `<script>window.pwned = true</script><img src="https://example.invalid/x.png" ` +
  `onerror="window.pwned = true">`;

/** The fixture run, triaged, with an earlier attempt and a summary written to attack the page. */
const RESULTS: ResultsFile = {
  ...FIXTURE_RESULTS,
  cells: FIXTURE_RESULTS.cells.map((cell): CellResult => {
    switch (`${cell.criu.version}/${cell.kernel.name}/${cell.case}`) {
      case "3.17.1/bookworm/sigtstp":
        return { ...cell, triage: { status: "xfail", reason: "CRIU < 4.0 cannot seize it" } };
      case "3.17.1/bookworm/sigttin":
        return { ...cell, summary: HOSTILE_SUMMARY };
      case "4.1.1/sid/sigstop":
        return {
          ...cell,
          triage: { status: "regression", reason: "passed in the baseline run" },
          attempts: [{
            verdict: "fail",
            stage: "check",
            summary: "restored task is running",
            seconds: 11,
          }],
        };
      default:
        return cell;
    }
  }),
};

async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install the Debian package chromium ` +
        "(apt-get install chromium); the HTML report test needs a real browser",
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

Deno.test({
  name: "the HTML report in a browser",
  // Playwright keeps the browser's pipes and timers between steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "criu-matrix-html-" });
    const file = join(dir, "index.html");
    await Deno.writeTextFile(file, renderHtmlReport(RESULTS, FIXTURE_CASES));
    const url = pathToFileURL(file).href;
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      await page.goto(url);
      const dialog = (key: string) => page.locator(`dialog[id="details/${key}"]`);

      await t.step("renders the matrix with a symbol and a word per verdict", async () => {
        assert.equal(await page.title(), "criu-matrix report");
        assert.equal(await page.locator("table.matrix tbody tr").count(), 4);
        assert.equal(await page.locator("table.matrix td.cell").count(), 12);
        assert.equal(await page.locator("[data-cell]").count(), 7);
        const text = async (key: string) =>
          (await page.locator(`[data-cell="${key}"]`).innerText()).replaceAll(/\s+/g, " ").trim();
        assert.equal(await text("3.17.1/x86_64/bookworm/sigstop"), "✓ PASS");
        assert.equal(await text("3.17.1/x86_64/bookworm/sigtstp"), "✗ FAIL dump XFAIL");
        assert.equal(await text("3.17.1/x86_64/bookworm/sigttin"), "⚠ ERROR timeout");
        assert.equal(await text("3.17.1/x86_64/bookworm/sigttou"), "– SKIP");
        assert.equal(await text("4.1.1/aarch64/sid/sigstop"), "✗ FAIL check REGRESSION");
        assert.equal(await page.locator("dialog[open]").count(), 0);
      });

      await t.step("says per stop signal which columns support it", async () => {
        const row = page.locator("table.signals tr", { hasText: "SIGTSTP" });
        const cells = await row.locator("td").allInnerTexts();
        assert.equal(cells.length, 3);
        assert.match(cells[0], /✗ not supported\s+dump fails: Error \(criu\/seize\.c:123\)/);
        assert.match(cells[1], /✓ supported/);
        assert.match(cells[2], /– not run/);
      });

      await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });

      await t.step("a click on a failing cell shows its checks with before and after", async () => {
        const details = dialog("4.1.1/aarch64/sid/sigstop");
        assert.equal(await details.isVisible(), false);
        await page.locator(`[data-cell="4.1.1/aarch64/sid/sigstop"] button`).click();
        await details.waitFor({ state: "visible", timeout: 5000 });
        const failing = details.locator("table.checks tr.bad");
        assert.deepEqual(
          (await failing.locator("td").allInnerTexts()).map((text) => text.trim()),
          ["✗ FAIL", "state\nshould stay stopped", "T (stopped)", "S (sleeping)"],
        );
        assert.equal(await details.locator("table.checks tr.ok").count(), 1);
        const text = await details.innerText();
        for (
          const fragment of [
            "restored task is running",
            "regression: passed in the baseline run",
            "restore",
            "Earlier attempts",
          ]
        ) {
          assert.ok(text.includes(fragment), `details lack "${fragment}":\n${text}`);
        }
        await page.screenshot({ path: join(ARTIFACTS, "report-details.png") });
        await page.keyboard.press("Escape");
        await details.waitFor({ state: "hidden", timeout: 5000 });
      });

      await t.step("the details of a CRIU failure show its error, exit code and logs", async () => {
        await page.locator(`[data-cell="3.17.1/x86_64/bookworm/sigtstp"] button`).click();
        const details = dialog("3.17.1/x86_64/bookworm/sigtstp");
        await details.waitFor({ state: "visible", timeout: 5000 });
        const command = await details.locator("table.commands tbody tr").allInnerTexts();
        assert.deepEqual(command.map((row) => row.split("\t").map((cell) => cell.trim())), [
          [
            "dump",
            "1",
            "0.5 s",
            "Error (criu/seize.c:123): Unexpected state of task | stopped by SIGTSTP",
          ],
        ]);
        assert.deepEqual(
          await details.locator("ul.logs a").evaluateAll((links) =>
            links.map((link) => [link.textContent, link.getAttribute("href")])
          ),
          [
            ["dump", "logs/criu-3.17.1_x86_64_kernel-bookworm/sigtstp/dump.log"],
            ["console", "logs/criu-3.17.1_x86_64_kernel-bookworm/console.log"],
          ],
        );
        await details.locator("button.close").click();
        await details.waitFor({ state: "hidden", timeout: 5000 });
      });

      await t.step("guest text renders as text, never as markup", async () => {
        await page.locator(`[data-cell="3.17.1/x86_64/bookworm/sigttin"] button`).click();
        const details = dialog("3.17.1/x86_64/bookworm/sigttin");
        await details.waitFor({ state: "visible", timeout: 5000 });
        assert.equal(await details.locator("p.summary").innerText(), HOSTILE_SUMMARY);
        assert.equal(await page.evaluate(() => "pwned" in globalThis), false);
        assert.equal(await page.locator("dialog img, dialog script").count(), 0);
      });

      await t.step("fetches nothing and runs without script errors", () => {
        assert.deepEqual(requests, [url]);
        assert.deepEqual(pageErrors, []);
      });
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
