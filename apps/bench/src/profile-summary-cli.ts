/** `node apps/bench/dist/profile-summary-cli.js <file.cpuprofile> [...]`: prints each profile's summary. */
import { renderProfileSummary, summariseFile } from "./profile-summary";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node apps/bench/dist/profile-summary-cli.js <file.cpuprofile> [...]");
  process.exitCode = 2;
}
for (const file of files) console.log(`${renderProfileSummary(summariseFile(file, 40))}\n`);
