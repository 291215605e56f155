/**
 * Which server folders a browser-mode caller may name in an RPC input (a workspace to open or make, a
 * data folder to scan, a .npy to import, a catalog folder, a checkpoint, a split file).
 *
 * [Note: Path roots]
 * Over HTTP the caller is a web page, possibly on another machine (a GPU server reached from a
 * laptop): it must not make folders anywhere, nor make the server read /etc/passwd as "embeddings".
 * So every path in an RPC input must lie inside an allowed root: the app's data folder (the demo and
 * the per-dataset workspaces live there), the workspaces this process opened (the one given at start
 * and the ones opened since: "recent workspaces"), and the folders named with `kfashion web --root`.
 * The check resolves symbolic links of the longest part of the path that exists, so a link inside a
 * root that points out of it is refused too, and a path that does not exist yet (a workspace to
 * create) is judged by the folder it would be made in.
 *
 * The desktop app (Electron IPC) does not use this: its caller is the app's own window, and the user
 * picks folders with the system dialog.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { quoteShort } from '../../src-shared/short-text.ts';

export class PathNotAllowedError extends Error {
  override name = 'PathNotAllowedError';
  readonly code = 'path_not_allowed';
}

export class PathRoots {
  private readonly roots: string[] = [];

  constructor(roots: Iterable<string> = []) {
    for (const r of roots) this.add(r);
  }

  /** Adds a root (resolved, links followed where it exists); adding one twice is harmless. */
  add(root: string): void {
    const real = realOfLongestExisting(resolve(root));
    if (!this.roots.includes(real)) this.roots.push(real);
  }

  /** The allowed roots, as shown in a refusal. */
  list(): readonly string[] {
    return this.roots;
  }

  /** Whether `path` (absolute, or relative to this process's folder) lies inside a root. */
  allows(path: string): boolean {
    const real = realOfLongestExisting(resolve(path));
    return this.roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep));
  }

  /**
   * Throws a PathNotAllowedError naming `field`, the path and the roots unless `path` lies inside one.
   * Returns the path unchanged (the consumer resolves it as it always did).
   */
  check(path: string, field: string): string {
    if (!this.allows(path)) {
      const shown = path.length > 500 ? quoteShort(path, 500) : path;
      throw new PathNotAllowedError(
        `${field}: ${shown} is outside the folders this server may use (${this.roots.join(', ') || 'none'}). Start "kfashion web" with --root <folder> to allow another folder.`,
      );
    }
    return path;
  }
}

/**
 * The real path of `abs`: realpath of its longest existing ancestor, with the parts that do not exist
 * yet appended as given (a path to be created is judged by where it would be made).
 */
function realOfLongestExisting(abs: string): string {
  if (!isAbsolute(abs)) throw new Error(`expected an absolute path, got ${abs}`);
  const rest: string[] = [];
  let dir = abs;
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    rest.unshift(basename(dir));
    dir = up;
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    // Unreadable on the way (EACCES): judge the path as written.
    real = dir;
  }
  // `..` cannot appear in `rest`: resolve() removed them before.
  return rest.length > 0 ? join(real, ...rest) : real;
}
