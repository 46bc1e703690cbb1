#!/usr/bin/env node
// Prints one line from vitest's JSON report (.test-results/vitest.json):
// Usage: node scripts/test-summary.mjs [report.json]
//   "N passed, N failed" (+ ", N skipped" when tests were skipped, pending or todo)
// and exits non-zero when anything failed, the report is missing or no test ran.
// A test file that failed outside any test (import or collection error, failing hook)
// counts as one failed test, so it cannot hide behind "0 failed".
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// An explicit path may be given (for trying the script on other reports).
const reportPath = process.argv[2] ?? fileURLToPath(new URL('../.test-results/vitest.json', import.meta.url));

let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  console.error(`test summary: cannot read ${reportPath}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}

const num = (value) => (Number.isFinite(value) ? value : 0);
const files = Array.isArray(report.testResults) ? report.testResults : [];
const brokenFiles = files.filter(
  (file) =>
    file.status === 'failed' &&
    !(Array.isArray(file.assertionResults) && file.assertionResults.some((test) => test.status === 'failed')),
).length;

const passed = num(report.numPassedTests);
const failed = num(report.numFailedTests) + brokenFiles;
const skipped = num(report.numPendingTests) + num(report.numTodoTests);

console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);

if (failed === 0 && report.success === false) {
  console.error('test summary: vitest marked the run as failed (errors outside tests; see its output above)');
}
if (failed > 0 || passed + failed === 0 || report.success === false) process.exit(1);
