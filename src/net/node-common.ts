// What node:net's Socket and Server drop-ins (node-socket.ts,
// node-server.ts) share: being callable without `new`, and the choice of
// node:net's own objects instead.
//
// Where the drop-ins are node's (the user opted out of io_uring with
// URING_DISABLE=1, or io_uring is unavailable and URING_FALLBACK=node asks for
// it: runtime/fallback.ts), createServer, connect and createConnection are
// node:net's own, and `new Socket()` / `new Server()` return node:net's
// objects (so `instanceof` the drop-in classes is false for them).
import { mayUseNode, useNode } from '../runtime/fallback.js';

/**
 * node:net's Socket and Server are also callable without `new` (old code and
 * Node's own tests call `net.Server(...)`): a Proxy whose call constructs.
 * `instanceof`, subclassing and the statics go to the class itself.
 */
export function callableClass<C extends new (...args: never[]) => object>(
  cls: C,
  name: string,
): C & ((...args: ConstructorParameters<C>) => InstanceType<C>) {
  Object.defineProperty(cls, 'name', { value: name });
  const proxy = new Proxy(cls, {
    apply: (target, _this, args: unknown[]) => Reflect.construct(target, args),
    // `new Socket()` on the Proxy itself constructs with the class as
    // new.target. With the Proxy as new.target V8 cannot use the class's
    // cached initial map and gives every instance a map of its own: every
    // property access on a socket (node:http's, the streams') then went
    // megamorphic and missed V8's stub cache, ~2 µs of a hello request.
    // A subclass's super() passes its own new.target, kept as it is.
    construct: (target, args: unknown[], newTarget: object) =>
      Reflect.construct(target, args, newTarget === proxy ? target : (newTarget as typeof target)),
  }) as C & ((...args: ConstructorParameters<C>) => InstanceType<C>);
  return proxy;
}

/** Whether node:net's own should answer (see the top of this file). */
export function nodeInstead(): boolean {
  return mayUseNode() && useNode();
}
