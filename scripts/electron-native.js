// Runs before `npm start` (the `prestart` script): makes a copy of better-sqlite3's native addon
// built for Electron's ABI, next to (not instead of) the one built for Node.
//
// [Note: Two builds of better-sqlite3]
// better-sqlite3 is not N-API: a binary works for one ABI only. Node (CLI, server, tests) uses the
// one `npm install` built in node_modules/better-sqlite3. The desktop app in development uses the
// copy this script writes to node_modules/.kfashion-electron/, passed to better-sqlite3 as its
// `nativeBinding` (src-main/store/database.ts reads KFASHION_SQLITE_BINDING, which the Electron main
// process sets). Packaged apps need neither: electron-builder rebuilds the module for Electron.
// sharp and onnxruntime-node are N-API and work in both unchanged.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
const target = electronBindingPath(root, electronVersion);

export function electronBindingPath(projectRoot, version) {
  return join(
    projectRoot,
    'node_modules',
    '.kfashion-electron',
    `better_sqlite3-${version}-${process.platform}-${process.arch}.node`,
  );
}

if (existsSync(target)) process.exit(0);

const source = dirname(require.resolve('better-sqlite3/package.json'));
const work = mkdtempSync(join(tmpdir(), 'kfashion-electron-sqlite-'));
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const run = (cmd, args) =>
  spawnSync(cmd, args, { cwd: work, stdio: 'inherit', shell: process.platform === 'win32' }).status === 0;

try {
  for (const entry of ['package.json', 'binding.gyp', 'src', 'deps', 'lib'])
    cpSync(join(source, entry), join(work, entry), { recursive: true });
  console.log(
    `kfashion: building better-sqlite3 for Electron ${electronVersion} (once; the Node build stays as it is)…`,
  );
  const ok =
    run(bin('prebuild-install'), [
      '--runtime=electron',
      `--target=${electronVersion}`,
      `--arch=${process.arch}`,
      `--platform=${process.platform}`,
    ]) ||
    run(bin('node-gyp'), [
      'rebuild',
      '--release',
      '--runtime=electron',
      `--target=${electronVersion}`,
      '--dist-url=https://electronjs.org/headers',
    ]);
  const built = join(work, 'build', 'Release', 'better_sqlite3.node');
  if (!ok || !existsSync(built)) {
    console.error(
      "kfashion: could not get better-sqlite3 for Electron (no prebuilt binary could be downloaded and building it needs Electron's headers from electronjs.org). The CLI and the tests do not need it; the desktop app does.",
    );
    process.exit(1);
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(built, target);
  console.log(`kfashion: wrote ${target}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
