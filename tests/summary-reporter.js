// Prints one plain closing line that any CI reader understands, e.g. "tests: 120 passed, 0 failed, 2 skipped".
// Suites that crashed before running a test count as failures, so a broken import is never silent.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    console.log(`\ntests: ${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests} skipped`);
  }
}
module.exports = SummaryReporter;
