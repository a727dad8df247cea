// The other CommonJS spellings: an ES import in a .cts file (compiled to
// require()), and the default export as `.default`.
import { readFile, open } from 'uring/fs/promises';
import { createServer } from 'uring/net';
import fsp = require('uring/fs/promises');

export async function main(p: string): Promise<void> {
  const s: string = await readFile(p, 'utf8');
  const t: string = await fsp.default.readFile(p, 'utf8');
  const fh = await open(p);
  await fh.close();
  createServer().close();
  void s;
  void t;
}
