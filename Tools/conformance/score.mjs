// Scores cache-tests results files with the suite's own determineTestResult and
// prints Capuchin's row beside the published reverse proxies'.
// Usage: node score.mjs SUITE_DIR OUR_RESULTS.json [--fail-list] [--not-run PREFIX]
// --not-run PREFIX: tests whose id starts with PREFIX could not run here (the
// interim tests need undici >= 6); they are listed, not counted, for every row.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import path from 'node:path'

const [suiteDir, ours, ...flags] = process.argv.slice(2)
const flag = flags.includes('--fail-list') ? '--fail-list' : ''
const notRunPrefix = flags.includes('--not-run') ? flags[flags.indexOf('--not-run') + 1] : null
const notRun = []
const imp = p => import(pathToFileURL(path.join(suiteDir, p)).href)
const { determineTestResult, resultTypes } = await imp('test-engine/lib/results.mjs')
const tests = (await imp('tests/index.mjs')).default
const published = (await imp('results/index.mjs')).default

function score (results) {
  const s = { required: [0, 0], optimal: [0, 0], failedRequired: [], failedOptimal: [], harness: [] }
  for (const suite of tests) {
    for (const t of suite.tests) {
      if (notRunPrefix && t.id.startsWith(notRunPrefix)) { if (results === oursResults && !notRun.includes(t.id)) notRun.push(t.id); continue }
      const r = determineTestResult(tests, t.id, results)
      const kind = t.kind || 'required'
      if (kind === 'check') continue
      if (r === resultTypes.pass) s[kind][0]++
      else if (r === resultTypes.fail) { s.required[1]++; s.failedRequired.push(t.id) }
      else if (r === resultTypes.optional_fail) { s.optimal[1]++; s.failedOptimal.push(t.id) }
      else if (r === resultTypes.harness_fail || r === resultTypes.setup_fail) s.harness.push(t.id)
    }
  }
  return s
}

const oursResults = JSON.parse(readFileSync(ours, 'utf8'))
const rows = [['Capuchin (this build)', score(oursResults)]]
for (const p of published.filter(p => p.type === 'rev-proxy')) {
  rows.push([`${p.name} ${p.version}`, score(JSON.parse(readFileSync(path.join(suiteDir, 'results', p.file), 'utf8')))])
}
console.log('cache                              required pass/fail   optimal pass/fail')
for (const [name, s] of rows) {
  console.log(`${name.padEnd(34)} ${String(s.required[0]).padStart(8)} / ${String(s.required[1]).padEnd(8)} ${String(s.optimal[0]).padStart(8)} / ${s.optimal[1]}`)
}
const mine = rows[0][1]
console.log(`\nCapuchin required failures (${mine.failedRequired.length}): ${mine.failedRequired.join(' ') || 'none'}`)
if (flag === '--fail-list') console.log(`Capuchin optimal failures (${mine.failedOptimal.length}): ${mine.failedOptimal.join(' ')}`)
if (notRun.length) console.log(`not run here (every row counted without them): ${notRun.join(' ')}`)
if (mine.harness.length) console.log(`setup/harness failures (not run): ${mine.harness.join(' ')}`)
const bestOptimal = Math.max(...rows.slice(1).map(r => r[1].optimal[0]))
console.log(`summary: required failures ${mine.failedRequired.length}; optimal passes ${mine.optimal[0]} (best published reverse proxy ${bestOptimal})`)
if (process.env.CACHE_TESTS_GATE) {
  // The test command's gate: no required failure, and more optimal passes than any published reverse proxy.
  const ok = mine.failedRequired.length === 0 && mine.optimal[0] > bestOptimal
  console.log(ok ? 'cache-tests: 1 passed, 0 failed' : 'cache-tests: 0 passed, 1 failed')
  process.exit(ok ? 0 : 1)
}
