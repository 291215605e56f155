// electron-vite's `?asset` import: the file is copied next to the bundle and the import is its
// absolute path at run time. Declared here rather than via `electron-vite/node`, whose global
// ImportMeta additions would leak into the CLI and core, which are not built by Vite.
declare module '*?asset' {
  const path: string;
  export default path;
}
