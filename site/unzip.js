// Writes an uncompressed zip (the boot cache's file archive, made by kcsolver.browser.boot_archive)
// into Pyodide's file system.
//
// Why not pyodide.unpackArchive: it runs Python's zipfile inside wasm, one file after the other;
// for the 16 MB archive of NumPy and kcsolver that took about 200 ms, against about 30 ms here.
// Only stored entries are read (that is what the archive holds; wheels, which are deflated, go
// through unpackArchive); anything else is refused with an error before a file is written.

const CENTRAL_END = 0x06054b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_ENTRY = 0x04034b50;

// [{name, start, size}] of the files in the central directory.
function storedFiles(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== CENTRAL_END) end--;
  if (end < 0) throw new Error("not a zip archive (no end of central directory)");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  const files = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL_ENTRY) throw new Error("corrupt central directory");
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (name.endsWith("/")) continue;
    if (method !== 0) throw new Error(`${name} is compressed (method ${method}); only stored entries are read`);
    if (name.startsWith("/") || name.split("/").includes("..")) throw new Error(`unsafe path ${name}`);
    if (local + 30 > bytes.length || view.getUint32(local, true) !== LOCAL_ENTRY) throw new Error(`corrupt entry ${name}`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + size > bytes.length) throw new Error(`${name} runs past the end of the archive`);
    files.push({ name, start, size });
  }
  return files;
}

// Writes every file of `bytes` under `directory`; returns the number of files.
export function unzipStoredInto(FS, bytes, directory) {
  const files = storedFiles(bytes);  // all checked before anything is written
  const made = new Set();
  for (const { name, start, size } of files) {
    const path = `${directory}/${name}`;
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (!made.has(parent)) {
      FS.mkdirTree(parent);
      made.add(parent);
    }
    FS.writeFile(path, bytes.subarray(start, start + size));
  }
  return files.length;
}
