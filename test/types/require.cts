// CommonJS code (a .cts file, compiled to require()) switching its imports
// from node's modules to uring's.
import fsp = require('uring/fs/promises');
import net = require('uring/net');
import http = require('uring/http');
import type * as nodeFsp from 'node:fs/promises';
import type * as nodeNet from 'node:net';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function is<Want>() {
  return <Got,>(_value: Got, ..._exact: Equals<Got, Want> extends true ? [] : [never]): void => {};
}

export async function main(p: string): Promise<void> {
  const s: string = await fsp.readFile(p, 'utf8');
  is<string>()(s);
  is<string[]>()(await fsp.readdir(p));
  const fh: nodeFsp.FileHandle = await fsp.open(p);
  const ours: fsp.FileHandle = await fsp.open(p);
  is<string>()(await ours.readFile('utf8'));
  await fh.close();
  const server: nodeNet.Server = net.createServer((socket) => socket.end());
  const socket: nodeNet.Socket = net.connect(80);
  const httpServer = http.createServer((_req, res) => res.end());
  void server;
  void socket;
  void httpServer;
}
