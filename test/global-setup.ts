/**
 * Builds dist/ (the CLI, the worker and bench bundles) once before the tests, so tests that spawn
 * `kfashion` run the code under test even when vitest is started directly rather than by `npm test`.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-cli.js'], { stdio: 'inherit' });
}
