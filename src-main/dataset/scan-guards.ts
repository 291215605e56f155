/**
 * What the scan checks before it reads a folder or a linked file: that it can be listed, that a
 * symbolic link stays inside the dataset, and that a folder's file names do not collide by case.
 * Each check answers with a skip (path, reason, detail) instead of throwing, so that one bad entry
 * never stops the scan.
 */
import { lstatSync, opendirSync, realpathSync } from 'node:fs';
import { sep } from 'node:path';
import type { SkippedFile } from '../../src-shared/dataset.ts';
import { describeFsError } from './fs-errors.ts';
import { normalizeName } from './normalize.ts';

/** Real paths (symbolic links resolved) a link may point into: the data root and the label folder. */
export interface AllowedRoots {
  realRoots: string[];
  /** The label folder holding the style folders, resolved. */
  realLabelDir: string;
}

export function allowedRoots(root: string, labelDir: string): AllowedRoots {
  const realLabelDir = realpathSync(labelDir);
  return { realRoots: [...new Set([realpathSync(root), realLabelDir])], realLabelDir };
}

const inside = (p: string, dir: string) => p.startsWith(dir.endsWith(sep) ? dir : dir + sep);

export type FolderCheck = { ok: true; real: string } | { ok: false; skip: SkippedFile };

/**
 * Whether a style folder can be scanned. Refused: a folder that cannot be listed (permission denied,
 * a link loop, a dangling link), a link whose target lies outside the data root, a link to the label
 * folder or one of its parents (a `..` link would scan the dataset inside itself, as a style called
 * by the link's name), and a second link to a folder already scanned under another style name.
 */
export function checkStyleFolder(path: string, roots: AllowedRoots, seen: Map<string, string>): FolderCheck {
  const skip = (reason: SkippedFile['reason'], detail: string): FolderCheck => ({
    ok: false,
    skip: { path, reason, detail },
  });
  let real: string;
  let link: boolean;
  try {
    link = lstatSync(path).isSymbolicLink();
    real = realpathSync(path);
  } catch (e) {
    return skip(
      'folder-unreadable',
      `the style folder cannot be reached: ${describeFsError(e)}; its labels were not read`,
    );
  }
  if (link) {
    if (real === roots.realLabelDir || inside(roots.realLabelDir, real)) {
      return skip(
        'link-not-followed',
        `a symbolic link to ${real}, which holds the label folder itself; not followed (it is no style folder)`,
      );
    }
    if (!roots.realRoots.some((r) => inside(real, r))) {
      return skip(
        'link-not-followed',
        `a symbolic link to ${real}, outside the data root (${roots.realRoots[0]}); not followed`,
      );
    }
  }
  const first = seen.get(real);
  if (first !== undefined) {
    return skip(
      'link-not-followed',
      `the same folder (${real}) as the style folder ${first}, which is scanned; not read twice`,
    );
  }
  try {
    opendirSync(path).closeSync();
  } catch (e) {
    return skip(
      'folder-unreadable',
      `the style folder cannot be listed: ${describeFsError(e)}; its labels were not read`,
    );
  }
  seen.set(real, path);
  return { ok: true, real };
}

/**
 * For a label file that is a symbolic link: null when it may be read, else why not. The target must
 * lie inside the data root; a loop or a dangling link is reported as unreadable.
 */
export function checkLinkedFile(path: string, roots: AllowedRoots): SkippedFile | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    return {
      path,
      reason: 'unreadable',
      detail: `a symbolic link that cannot be followed: ${describeFsError(e)}`,
    };
  }
  if (!roots.realRoots.some((r) => inside(real, r))) {
    return {
      path,
      reason: 'link-not-followed',
      detail: `a symbolic link to ${real}, outside the data root (${roots.realRoots[0]}); not followed`,
    };
  }
  return null;
}

/** The key under which two file names count as the same label: NFC, lower case. */
export const caseKey = (fileName: string) => normalizeName(fileName).toLowerCase();

/**
 * Collects file names that collide by case (`X.json`, `X.JSON`, `X.Json`): on Windows and macOS they
 * are one file, on Linux three, and which one is the real label cannot be told. Memory: one key per
 * name of the folder being listed, released with the folder.
 */
export class CaseTwins {
  private readonly firstName = new Map<string, string>();
  /** Case key → every name sharing it, only for keys with two or more names. */
  readonly groups = new Map<string, string[]>();
  add(fileName: string): void {
    const key = caseKey(fileName);
    const first = this.firstName.get(key);
    if (first === undefined) {
      this.firstName.set(key, fileName);
      return;
    }
    const group = this.groups.get(key);
    if (group) group.push(fileName);
    else this.groups.set(key, [first, fileName]);
  }
}
